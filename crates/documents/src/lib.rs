//! Printable documents. Today: the certificate of a completed module, an A4 landscape PDF with
//! its fonts embedded (DejaVu Serif, Bitstream Vera licence, see `fonts/LICENSE`) and a QR code
//! of its public verification URL; the compliance report for auditors as a PDF with a chart per
//! group ([`compliance`]); report tables as CSV and XLSX files ([`tabular`]); the text of PDF and
//! DOCX files with their pages and paragraphs ([`extract`]); and small sample PDF and DOCX files
//! made in code ([`samples`]). Rendering needs no network and no files at run time.

pub mod compliance;
pub mod extract;
pub mod samples;
pub mod tabular;

use printpdf::{Color, IndirectFontRef, Mm, PdfDocument, PdfLayerReference, Rect, Rgb};
use qrcode::{Color as QrColor, EcLevel, QrCode};

const SERIF: &[u8] = include_bytes!("../fonts/DejaVuSerif.ttf");
const SERIF_BOLD: &[u8] = include_bytes!("../fonts/DejaVuSerif-Bold.ttf");

const PAGE_WIDTH: f32 = 297.0;
const PAGE_HEIGHT: f32 = 210.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

/// A document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The PDF library failed.
    #[error("pdf rendering failed: {0}")]
    Pdf(String),
    /// The DOCX package could not be written.
    #[error("docx writing failed: {0}")]
    Docx(String),
    /// The text to encode does not fit a QR code.
    #[error("qr code: {0}")]
    Qr(String),
}

/// What a certificate shows.
#[derive(Debug, Clone)]
pub struct Certificate<'a> {
    /// The company.
    pub tenant_name: &'a str,
    /// Who earned it.
    pub holder_name: &'a str,
    /// The module completed.
    pub module_title: &'a str,
    /// Issue date, already formatted (e.g. `2026-11-26`).
    pub issued_on: &'a str,
    /// Expiry date, formatted, if it expires.
    pub expires_on: Option<&'a str>,
    /// The verification code.
    pub code: &'a str,
    /// The public URL that verifies it (encoded in the QR code).
    pub verify_url: &'a str,
}

/// Advance widths of a font, to centre text.
struct Metrics<'a> {
    face: ttf_parser::Face<'a>,
}

impl<'a> Metrics<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, DocumentError> {
        ttf_parser::Face::parse(bytes, 0)
            .map(|face| Self { face })
            .map_err(|e| DocumentError::Pdf(e.to_string()))
    }

    /// The width of `text` at `size` points, in millimetres.
    fn width_mm(&self, text: &str, size: f32) -> f32 {
        let units = f32::from(self.face.units_per_em());
        let advance: f32 = text
            .chars()
            .map(|c| {
                self.face
                    .glyph_index(c)
                    .and_then(|g| self.face.glyph_hor_advance(g))
                    .map_or(units / 2.0, f32::from)
            })
            .sum();
        advance / units * size / PT_PER_MM
    }
}

struct Page<'a> {
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    regular_metrics: Metrics<'a>,
    bold_metrics: Metrics<'a>,
}

impl Page<'_> {
    /// Writes `text` centred on the page at height `y` (mm from the bottom), shrinking it until it
    /// fits the printable width.
    fn centred(&self, text: &str, size: f32, y: f32, bold: bool) {
        let (font, metrics) = if bold {
            (&self.bold, &self.bold_metrics)
        } else {
            (&self.regular, &self.regular_metrics)
        };
        let mut size = size;
        let max_width = PAGE_WIDTH - 50.0;
        while size > 8.0 && metrics.width_mm(text, size) > max_width {
            size -= 1.0;
        }
        let x = (PAGE_WIDTH - metrics.width_mm(text, size)) / 2.0;
        self.layer.use_text(text, size, Mm(x), Mm(y), font);
    }

    fn text(&self, text: &str, size: f32, x: f32, y: f32) {
        self.layer.use_text(text, size, Mm(x), Mm(y), &self.regular);
    }
}

fn rgb(r: f32, g: f32, b: f32) -> Color {
    Color::Rgb(Rgb::new(r, g, b, None))
}

/// The width of a QR code in modules, and its dark modules as (column, row) from the top left.
fn qr_cells(qr: &QrCode) -> (usize, Vec<(usize, usize)>) {
    let width = qr.width();
    let dark = qr
        .to_colors()
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == QrColor::Dark)
        .map(|(i, _)| (i % width, i / width))
        .collect();
    (width, dark)
}

/// Renders a certificate as PDF bytes.
pub fn certificate_pdf(cert: &Certificate<'_>) -> Result<Vec<u8>, DocumentError> {
    let qr = QrCode::with_error_correction_level(cert.verify_url.as_bytes(), EcLevel::M)
        .map_err(|e| DocumentError::Qr(e.to_string()))?;
    let (doc, page, layer) = PdfDocument::new(
        format!("Certificate {}", cert.code),
        Mm(PAGE_WIDTH),
        Mm(PAGE_HEIGHT),
        "certificate",
    );
    let regular = doc
        .add_external_font(SERIF)
        .map_err(|e| DocumentError::Pdf(e.to_string()))?;
    let bold = doc
        .add_external_font(SERIF_BOLD)
        .map_err(|e| DocumentError::Pdf(e.to_string()))?;
    let p = Page {
        layer: doc.get_page(page).get_layer(layer),
        regular,
        bold,
        regular_metrics: Metrics::new(SERIF)?,
        bold_metrics: Metrics::new(SERIF_BOLD)?,
    };

    // A double frame.
    p.layer.set_outline_color(rgb(0.15, 0.25, 0.45));
    p.layer.set_outline_thickness(2.0);
    p.layer.add_rect(
        Rect::new(
            Mm(10.0),
            Mm(10.0),
            Mm(PAGE_WIDTH - 10.0),
            Mm(PAGE_HEIGHT - 10.0),
        )
        .with_mode(printpdf::path::PaintMode::Stroke),
    );
    p.layer.set_outline_thickness(0.75);
    p.layer.add_rect(
        Rect::new(
            Mm(14.0),
            Mm(14.0),
            Mm(PAGE_WIDTH - 14.0),
            Mm(PAGE_HEIGHT - 14.0),
        )
        .with_mode(printpdf::path::PaintMode::Stroke),
    );

    p.layer.set_fill_color(rgb(0.15, 0.25, 0.45));
    p.centred(cert.tenant_name, 16.0, 175.0, false);
    p.centred("Certificate of Completion", 34.0, 150.0, true);
    p.layer.set_fill_color(rgb(0.1, 0.1, 0.1));
    p.centred("This certifies that", 14.0, 132.0, false);
    p.centred(cert.holder_name, 28.0, 115.0, true);
    p.centred("has successfully completed", 14.0, 100.0, false);
    p.centred(cert.module_title, 22.0, 85.0, true);

    let issued = format!("Issued {}", cert.issued_on);
    let validity = match cert.expires_on {
        Some(date) => format!("Valid until {date}"),
        None => "Does not expire".to_owned(),
    };
    p.text(&issued, 12.0, 30.0, 50.0);
    p.text(&validity, 12.0, 30.0, 43.0);
    p.text(&format!("Certificate {}", cert.code), 10.0, 30.0, 30.0);
    p.text(&format!("Verify at {}", cert.verify_url), 8.0, 30.0, 24.0);

    // The QR code, 40 mm wide, bottom right, black modules on the white page.
    let (modules, dark) = qr_cells(&qr);
    let size = 40.0_f32;
    #[expect(
        clippy::cast_precision_loss,
        reason = "QR codes are at most 177 modules wide"
    )]
    let cell = size / modules as f32;
    let (left, bottom) = (PAGE_WIDTH - 30.0 - size, 22.0);
    p.layer.set_fill_color(rgb(0.0, 0.0, 0.0));
    for (col, row) in dark {
        #[expect(
            clippy::cast_precision_loss,
            reason = "QR codes are at most 177 modules wide"
        )]
        let (col, row) = (col as f32, row as f32);
        let x = left + col * cell;
        let y = bottom + size - (row + 1.0) * cell;
        p.layer.add_rect(
            Rect::new(Mm(x), Mm(y), Mm(x + cell), Mm(y + cell))
                .with_mode(printpdf::path::PaintMode::Fill),
        );
    }

    doc.save_to_bytes()
        .map_err(|e| DocumentError::Pdf(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Certificate<'static> {
        Certificate {
            tenant_name: "Acme d.o.o.",
            holder_name: "Ana Novak — Šolar",
            module_title: "Forklift safety",
            issued_on: "2026-11-26",
            expires_on: Some("2027-11-26"),
            code: "GC-7Q4M-XK2P-9RTA",
            verify_url: "https://learn.example.com/v1/certificates/verify/GC-7Q4M-XK2P-9RTA",
        }
    }

    #[test]
    fn renders_a_pdf_with_embedded_fonts() {
        let pdf = certificate_pdf(&sample()).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("FontFile2"), "the fonts are embedded");
        assert!(text.contains("DejaVu"), "the fonts are ours");
        assert!(!text.contains("/BaseFont /Helvetica"), "no standard font");
    }

    #[test]
    fn the_qr_code_decodes_to_the_verify_url() {
        let url = sample().verify_url;
        let qr = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M).unwrap();
        let (width, dark) = qr_cells(&qr);
        // Paint the cells as the PDF does (4 px per module, a 4-module quiet zone) and decode.
        let scale = 4;
        let side = (width + 8) * scale;
        let mut pixels = vec![255u8; side * side];
        for (col, row) in dark {
            for dy in 0..scale {
                for dx in 0..scale {
                    let x = (col + 4) * scale + dx;
                    let y = (row + 4) * scale + dy;
                    pixels[y * side + x] = 0;
                }
            }
        }
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(side, side, |x, y| pixels[y * side + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, url);
    }

    #[test]
    fn a_url_too_long_for_a_qr_code_is_an_error() {
        let too_long = "x".repeat(5000);
        let cert = Certificate {
            verify_url: &too_long,
            ..sample()
        };
        assert!(matches!(certificate_pdf(&cert), Err(DocumentError::Qr(_))));
    }
}
