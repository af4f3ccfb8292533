//! The compliance report for auditors as a PDF (A4 landscape, DejaVu fonts embedded): a title
//! page (tenant, period, when and by whom it was made, the totals per status), then per group a
//! chart of its mandatory modules (bars drawn as filled rectangles: assigned, completed, overdue
//! members), then the table of members × mandatory modules with status and dates, its header
//! repeated on every page. Every page is numbered "Page n of m".
//!
//! The caller decides what is in it (the members its reader may export) and formats the dates;
//! this module only lays it out. Text too wide for its column is cut with an ellipsis, so a long
//! name never runs into the next column.

use printpdf::path::PaintMode;
use printpdf::{IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference, Rect};

use crate::{DocumentError, Metrics, SERIF, SERIF_BOLD, rgb};

const WIDTH: f32 = 297.0;
const HEIGHT: f32 = 210.0;
const MARGIN: f32 = 14.0;

/// Module bars on one chart page.
pub const BARS_PER_PAGE: usize = 8;
/// Table rows on one page.
pub const ROWS_PER_PAGE: usize = 26;

/// A group's mandatory module and how its members stand on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// The module's title.
    pub label: String,
    /// Members of the group in the report who must complete it.
    pub assigned: u64,
    /// Of those, completed with a valid certificate (or none needed).
    pub completed: u64,
    /// Of those, past their due date and not completed.
    pub overdue: u64,
}

/// One group's chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChart {
    /// The group's name.
    pub name: String,
    /// A bar per mandatory module, in the order to draw them.
    pub bars: Vec<Bar>,
}

/// One line of the table: a member's state on a mandatory module (dates already formatted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The member's name.
    pub member: String,
    /// Their email.
    pub email: String,
    /// The module's title.
    pub module: String,
    /// The state (`COMPLIANT`, `OVERDUE`, …).
    pub status: String,
    /// Since when.
    pub since: String,
    /// The due date.
    pub due: String,
    /// The certificate's expiry.
    pub expires: String,
}

/// What the report shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceReport {
    /// The company.
    pub tenant_name: String,
    /// The period, formatted (`2026-11-01 – 2026-12-01 (UTC)`).
    pub period: String,
    /// When it was made, formatted.
    pub generated_at: String,
    /// Who asked for it.
    pub generated_by: String,
    /// Totals for the title page, e.g. `("Compliant", 12)`.
    pub totals: Vec<(String, u64)>,
    /// A remark for the title page (that the table was cut, say).
    pub notice: Option<String>,
    /// A chart per group.
    pub groups: Vec<GroupChart>,
    /// The table.
    pub lines: Vec<Line>,
}

/// The table's columns: title and width in millimetres (269 in all).
const COLUMNS: [(&str, f32); 7] = [
    ("Member", 44.0),
    ("Email", 58.0),
    ("Module", 62.0),
    ("Status", 30.0),
    ("Since", 25.0),
    ("Due", 25.0),
    ("Expires", 25.0),
];

struct Writer<'a> {
    doc: PdfDocumentReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    regular_metrics: Metrics<'a>,
    bold_metrics: Metrics<'a>,
    pages: usize,
    page: usize,
}

impl Writer<'_> {
    /// A new page, numbered in its footer.
    fn page(&mut self, first: Option<PdfLayerReference>) -> PdfLayerReference {
        let layer = first.unwrap_or_else(|| {
            let (page, layer) = self.doc.add_page(Mm(WIDTH), Mm(HEIGHT), "content");
            self.doc.get_page(page).get_layer(layer)
        });
        self.page += 1;
        layer.set_fill_color(rgb(0.35, 0.35, 0.35));
        let footer = format!("Page {} of {}", self.page, self.pages);
        let x = WIDTH - MARGIN - self.regular_metrics.width_mm(&footer, 8.0);
        layer.use_text(footer, 8.0, Mm(x), Mm(8.0), &self.regular);
        layer.set_fill_color(rgb(0.0, 0.0, 0.0));
        layer
    }

    /// `text` at (`x`, `y`), cut with an ellipsis to `max` millimetres.
    fn text(&self, layer: &PdfLayerReference, text: &str, size: f32, x: f32, y: f32, max: f32) {
        let fitted = fit(&self.regular_metrics, text, size, max);
        layer.use_text(fitted, size, Mm(x), Mm(y), &self.regular);
    }

    fn bold(&self, layer: &PdfLayerReference, text: &str, size: f32, x: f32, y: f32, max: f32) {
        let fitted = fit(&self.bold_metrics, text, size, max);
        layer.use_text(fitted, size, Mm(x), Mm(y), &self.bold);
    }

    fn centred(&self, layer: &PdfLayerReference, text: &str, size: f32, y: f32, bold: bool) {
        let metrics = if bold {
            &self.bold_metrics
        } else {
            &self.regular_metrics
        };
        let max = WIDTH - 2.0 * MARGIN;
        let fitted = fit(metrics, text, size, max);
        let x = (WIDTH - metrics.width_mm(&fitted, size)) / 2.0;
        let font = if bold { &self.bold } else { &self.regular };
        layer.use_text(fitted, size, Mm(x), Mm(y), font);
    }
}

/// `text`, cut with "…" until it is at most `max` millimetres wide at `size`.
fn fit(metrics: &Metrics<'_>, text: &str, size: f32, max: f32) -> String {
    if metrics.width_mm(text, size) <= max {
        return text.to_owned();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut: String = chars.iter().collect::<String>() + "…";
        if metrics.width_mm(&cut, size) <= max {
            return cut;
        }
    }
    String::new()
}

fn fill(layer: &PdfLayerReference, x: f32, y: f32, w: f32, h: f32) {
    layer.add_rect(Rect::new(Mm(x), Mm(y), Mm(x + w), Mm(y + h)).with_mode(PaintMode::Fill));
}

/// How many pages the report takes: the title page, each group's chart pages, the table's.
fn page_count(report: &ComplianceReport) -> usize {
    let charts: usize = report
        .groups
        .iter()
        .map(|g| g.bars.len().div_ceil(BARS_PER_PAGE).max(1))
        .sum();
    1 + charts + report.lines.len().div_ceil(ROWS_PER_PAGE).max(1)
}

/// Renders the compliance report as PDF bytes.
pub fn compliance_pdf(report: &ComplianceReport) -> Result<Vec<u8>, DocumentError> {
    let (doc, page, layer) = PdfDocument::new(
        format!("Compliance report — {}", report.tenant_name),
        Mm(WIDTH),
        Mm(HEIGHT),
        "content",
    );
    let regular = doc
        .add_external_font(SERIF)
        .map_err(|e| DocumentError::Pdf(e.to_string()))?;
    let bold = doc
        .add_external_font(SERIF_BOLD)
        .map_err(|e| DocumentError::Pdf(e.to_string()))?;
    let first = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        regular,
        bold,
        regular_metrics: Metrics::new(SERIF)?,
        bold_metrics: Metrics::new(SERIF_BOLD)?,
        pages: page_count(report),
        page: 0,
    };
    title_page(&mut w, report, first);
    for group in &report.groups {
        chart(&mut w, group);
    }
    table(&mut w, &report.lines);
    w.doc
        .save_to_bytes()
        .map_err(|e| DocumentError::Pdf(e.to_string()))
}

fn title_page(w: &mut Writer<'_>, report: &ComplianceReport, first: PdfLayerReference) {
    let layer = w.page(Some(first));
    layer.set_fill_color(rgb(0.15, 0.25, 0.45));
    w.centred(&layer, &report.tenant_name, 18.0, 165.0, false);
    w.centred(&layer, "Compliance report", 32.0, 145.0, true);
    layer.set_fill_color(rgb(0.1, 0.1, 0.1));
    let mut y = 120.0;
    for (label, value) in [
        ("Period", report.period.as_str()),
        ("Generated", report.generated_at.as_str()),
        ("By", report.generated_by.as_str()),
    ] {
        w.bold(&layer, label, 12.0, 70.0, y, 35.0);
        w.text(&layer, value, 12.0, 105.0, y, WIDTH - 105.0 - MARGIN);
        y -= 8.0;
    }
    y -= 6.0;
    for (label, count) in &report.totals {
        w.text(&layer, label, 11.0, 70.0, y, 60.0);
        w.text(&layer, &count.to_string(), 11.0, 135.0, y, 30.0);
        y -= 6.5;
    }
    if let Some(notice) = &report.notice {
        w.text(&layer, notice, 10.0, 70.0, y - 4.0, WIDTH - 70.0 - MARGIN);
    }
}

/// A group's chart: per module, three bars scaled to the group's largest assignment, each with
/// its count; [`BARS_PER_PAGE`] modules a page.
fn chart(w: &mut Writer<'_>, group: &GroupChart) {
    const LABEL: f32 = 80.0;
    const ROW: f32 = 18.0;
    const BAR: f32 = 3.6;
    let assigned: u64 = group.bars.iter().map(|b| b.assigned).sum();
    let completed: u64 = group.bars.iter().map(|b| b.completed).sum();
    let rate = if assigned == 0 {
        "no assignments".to_owned()
    } else {
        #[expect(
            clippy::cast_precision_loss,
            reason = "counts of members are far below 2^52"
        )]
        let percent = completed as f64 * 100.0 / assigned as f64;
        format!("completion rate {percent:.0} % ({completed} of {assigned})")
    };
    let most = group
        .bars
        .iter()
        .map(|b| b.assigned)
        .max()
        .unwrap_or(0)
        .max(1);
    let span = WIDTH - 2.0 * MARGIN - LABEL - 45.0;
    #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
    let scale = |n: u64| span * n as f32 / most as f32;
    let chunks: Vec<&[Bar]> = if group.bars.is_empty() {
        vec![&[]]
    } else {
        group.bars.chunks(BARS_PER_PAGE).collect()
    };
    for (i, bars) in chunks.into_iter().enumerate() {
        let layer = w.page(None);
        let heading = if i == 0 {
            format!("Group: {}", group.name)
        } else {
            format!("Group: {} (continued)", group.name)
        };
        layer.set_fill_color(rgb(0.15, 0.25, 0.45));
        w.bold(&layer, &heading, 16.0, MARGIN, 190.0, 180.0);
        layer.set_fill_color(rgb(0.1, 0.1, 0.1));
        w.text(&layer, &rate, 11.0, MARGIN, 182.0, 180.0);
        // The legend.
        let mut x = WIDTH - MARGIN - 105.0;
        for (name, (r, g, b)) in [
            ("assigned", (0.62, 0.66, 0.72)),
            ("completed", (0.20, 0.55, 0.30)),
            ("overdue", (0.78, 0.20, 0.18)),
        ] {
            layer.set_fill_color(rgb(r, g, b));
            fill(&layer, x, 189.5, 4.0, 4.0);
            layer.set_fill_color(rgb(0.1, 0.1, 0.1));
            w.text(&layer, name, 9.0, x + 5.5, 190.0, 28.0);
            x += 35.0;
        }
        if bars.is_empty() {
            w.text(&layer, "No mandatory modules.", 11.0, MARGIN, 165.0, 120.0);
        }
        let mut top = 172.0;
        for bar in bars {
            layer.set_fill_color(rgb(0.1, 0.1, 0.1));
            w.text(&layer, &bar.label, 10.0, MARGIN, top - 7.0, LABEL - 4.0);
            let left = MARGIN + LABEL;
            for (k, (count, word, (r, g, b))) in [
                (bar.assigned, "assigned", (0.62, 0.66, 0.72)),
                (bar.completed, "completed", (0.20, 0.55, 0.30)),
                (bar.overdue, "overdue", (0.78, 0.20, 0.18)),
            ]
            .into_iter()
            .enumerate()
            {
                #[expect(clippy::cast_precision_loss, reason = "k < 3")]
                let y = top - 1.0 - (k as f32 + 1.0) * (BAR + 1.2);
                let length = scale(count);
                layer.set_fill_color(rgb(r, g, b));
                if count > 0 {
                    fill(&layer, left, y, length.max(0.6), BAR);
                }
                layer.set_fill_color(rgb(0.1, 0.1, 0.1));
                w.text(
                    &layer,
                    &format!("{count} {word}"),
                    8.0,
                    left + length + 2.0,
                    y + 0.6,
                    40.0,
                );
            }
            top -= ROW;
        }
    }
}

/// The members × modules table, [`ROWS_PER_PAGE`] lines a page under a repeated header.
fn table(w: &mut Writer<'_>, lines: &[Line]) {
    const ROW: f32 = 6.2;
    let chunks: Vec<&[Line]> = if lines.is_empty() {
        vec![&[]]
    } else {
        lines.chunks(ROWS_PER_PAGE).collect()
    };
    for (i, chunk) in chunks.into_iter().enumerate() {
        let layer = w.page(None);
        layer.set_fill_color(rgb(0.15, 0.25, 0.45));
        let heading = if i == 0 {
            "Members and mandatory modules"
        } else {
            "Members and mandatory modules (continued)"
        };
        w.bold(&layer, heading, 14.0, MARGIN, 192.0, 200.0);
        let mut y = 182.0;
        layer.set_fill_color(rgb(0.86, 0.89, 0.93));
        fill(&layer, MARGIN, y - 1.8, WIDTH - 2.0 * MARGIN, ROW);
        layer.set_fill_color(rgb(0.0, 0.0, 0.0));
        let mut x = MARGIN + 1.0;
        for (title, width) in COLUMNS {
            w.bold(&layer, title, 9.0, x, y, width - 2.0);
            x += width;
        }
        if chunk.is_empty() {
            w.text(
                &layer,
                "Nobody in this report has a mandatory module.",
                10.0,
                MARGIN,
                y - ROW - 2.0,
                200.0,
            );
        }
        for (n, line) in chunk.iter().enumerate() {
            y -= ROW;
            if n % 2 == 1 {
                layer.set_fill_color(rgb(0.95, 0.95, 0.95));
                fill(&layer, MARGIN, y - 1.8, WIDTH - 2.0 * MARGIN, ROW);
            }
            let overdue = matches!(line.status.as_str(), "OVERDUE" | "EXPIRED");
            let mut x = MARGIN + 1.0;
            for (k, ((_, width), value)) in COLUMNS
                .iter()
                .zip([
                    &line.member,
                    &line.email,
                    &line.module,
                    &line.status,
                    &line.since,
                    &line.due,
                    &line.expires,
                ])
                .enumerate()
            {
                // The status column.
                let red = overdue && k == 3;
                layer.set_fill_color(if red {
                    rgb(0.70, 0.12, 0.10)
                } else {
                    rgb(0.0, 0.0, 0.0)
                });
                w.text(&layer, value, 8.5, x, y, width - 2.0);
                x += width;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: usize) -> Line {
        Line {
            member: format!("Member {n:03}"),
            email: format!("m{n}@example.com"),
            module: "Forklift safety".into(),
            status: if n.is_multiple_of(3) {
                "OVERDUE"
            } else {
                "COMPLIANT"
            }
            .into(),
            since: "2026-11-02".into(),
            due: "2026-12-01".into(),
            expires: String::new(),
        }
    }

    fn report(lines: usize, bars: usize) -> ComplianceReport {
        ComplianceReport {
            tenant_name: "Acme d.o.o.".into(),
            period: "2026-11-01 – 2026-12-01 (UTC)".into(),
            generated_at: "2026-12-07 10:00 UTC".into(),
            generated_by: "Ana Novak — Šolar".into(),
            totals: vec![("Compliant".into(), 3), ("Overdue".into(), 1)],
            notice: None,
            groups: vec![GroupChart {
                name: "Warehouse".into(),
                bars: (0..bars)
                    .map(|i| Bar {
                        label: format!(
                            "Module {i} with a title far too long to fit beside its bars, cut"
                        ),
                        assigned: 10,
                        completed: i as u64 % 11,
                        overdue: 1,
                    })
                    .collect(),
            }],
            lines: (0..lines).map(line).collect(),
        }
    }

    fn pages(pdf: &[u8]) -> usize {
        let doc = lopdf::Document::load_mem(pdf).expect("a PDF lopdf reads");
        doc.get_pages().len()
    }

    #[test]
    fn the_table_and_the_charts_run_over_as_many_pages_as_they_need() {
        // Title, two chart pages (9 bars), three table pages (60 lines).
        let pdf = compliance_pdf(&report(60, 9)).expect("rendered");
        assert!(pdf.starts_with(b"%PDF-"));
        assert_eq!(pages(&pdf), 6);
        assert_eq!(page_count(&report(60, 9)), 6);
        // An empty report still has its title, a chart page and a table page.
        let pdf = compliance_pdf(&report(0, 0)).expect("rendered");
        assert_eq!(pages(&pdf), 3);
    }

    #[test]
    fn text_too_wide_for_its_column_is_cut_with_an_ellipsis() {
        let metrics = Metrics::new(SERIF).expect("the font");
        let long = "A module title much longer than its column allows";
        let cut = fit(&metrics, long, 9.0, 40.0);
        assert!(cut.ends_with('…'), "{cut}");
        assert!(metrics.width_mm(&cut, 9.0) <= 40.0);
        assert!(long.starts_with(cut.trim_end_matches('…')));
        assert_eq!(fit(&metrics, "Short", 9.0, 40.0), "Short");
    }
}
