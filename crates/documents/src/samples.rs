//! Small real documents made in code — a PDF (printpdf, the standard Helvetica fonts) and a DOCX
//! (a minimal WordprocessingML package) — with a title and parts made of a heading and
//! paragraphs. The demo seed stores one in the media library; tests and the builder's
//! measurement read them back through [`crate::extract`].

use std::io::Write;

use printpdf::{BuiltinFont, Mm, PdfDocument};

use crate::DocumentError;

/// A heading and its paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The heading.
    pub heading: String,
    /// Its paragraphs.
    pub paragraphs: Vec<String>,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 20.0;
/// Characters per body line at 10 pt on A4 with these margins (Helvetica, roughly).
const LINE_CHARS: usize = 95;

fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// An A4 PDF: `title` (20 pt) on the first page, then `parts_per_page` parts per page, each a
/// heading (14 pt bold) and its paragraphs (10 pt, wrapped); a part that does not fit goes on
/// with the next page.
pub fn pdf(title: &str, parts: &[Part], parts_per_page: usize) -> Result<Vec<u8>, DocumentError> {
    let pdf_err = |e: printpdf::Error| DocumentError::Pdf(e.to_string());
    let (doc, page, layer) = PdfDocument::new(title, Mm(PAGE_W), Mm(PAGE_H), "text");
    let regular = doc
        .add_builtin_font(BuiltinFont::Helvetica)
        .map_err(pdf_err)?;
    let bold = doc
        .add_builtin_font(BuiltinFont::HelveticaBold)
        .map_err(pdf_err)?;
    let mut layer = doc.get_page(page).get_layer(layer);
    let mut y = PAGE_H - MARGIN;
    layer.use_text(title, 20.0, Mm(MARGIN), Mm(y), &bold);
    y -= 14.0;
    let per_page = parts_per_page.max(1);
    for (i, part) in parts.iter().enumerate() {
        if i > 0 && i % per_page == 0 {
            let (page, l) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "text");
            layer = doc.get_page(page).get_layer(l);
            y = PAGE_H - MARGIN;
        }
        layer.use_text(&part.heading, 14.0, Mm(MARGIN), Mm(y), &bold);
        y -= 9.0;
        for paragraph in &part.paragraphs {
            for line in wrap(paragraph, LINE_CHARS) {
                if y < MARGIN {
                    let (page, l) = doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "text");
                    layer = doc.get_page(page).get_layer(l);
                    y = PAGE_H - MARGIN;
                }
                layer.use_text(line, 10.0, Mm(MARGIN), Mm(y), &regular);
                y -= 5.0;
            }
            y -= 3.0;
        }
        y -= 4.0;
    }
    doc.save_to_bytes().map_err(pdf_err)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn paragraph(style: Option<&str>, text: &str) -> String {
    let props = style
        .map(|s| format!("<w:pPr><w:pStyle w:val=\"{s}\"/></w:pPr>"))
        .unwrap_or_default();
    format!(
        "<w:p>{props}<w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
        escape(text)
    )
}

/// A DOCX: `title` in the `Title` style, then each part's heading in `Heading1` and its
/// paragraphs in the default style.
pub fn docx(title: &str, parts: &[Part]) -> Result<Vec<u8>, DocumentError> {
    let mut body = paragraph(Some("Title"), title);
    for part in parts {
        body.push_str(&paragraph(Some("Heading1"), &part.heading));
        for p in &part.paragraphs {
            body.push_str(&paragraph(None, p));
        }
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
<w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let styles = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<w:styles xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">\
<w:style w:type=\"paragraph\" w:styleId=\"Title\"><w:name w:val=\"Title\"/><w:rPr><w:sz w:val=\"56\"/></w:rPr></w:style>\
<w:style w:type=\"paragraph\" w:styleId=\"Heading1\"><w:name w:val=\"heading 1\"/><w:pPr><w:outlineLvl w:val=\"0\"/></w:pPr><w:rPr><w:b/><w:sz w:val=\"32\"/></w:rPr></w:style>\
</w:styles>";
    // The parts in the order Word writes them: type sniffers look for `word/` in the third and
    // fourth entries.
    let files: [(&str, String); 5] = [
        (
            "[Content_Types].xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/>\
<Override PartName=\"/word/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml\"/>\
</Types>"
                .to_owned(),
        ),
        (
            "_rels/.rels",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/>\
</Relationships>"
                .to_owned(),
        ),
        ("word/document.xml", document),
        ("word/styles.xml", styles.to_owned()),
        (
            "word/_rels/document.xml.rels",
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>\
</Relationships>"
                .to_owned(),
        ),
    ];
    let zip_err = |e: zip::result::ZipError| DocumentError::Docx(e.to_string());
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        writer.start_file(name, options).map_err(zip_err)?;
        writer
            .write_all(content.as_bytes())
            .map_err(|e| DocumentError::Docx(e.to_string()))?;
    }
    Ok(writer.finish().map_err(zip_err)?.into_inner())
}

/// `count` parts of plausible text (a heading and three paragraphs each), for measurements and
/// the demo.
pub fn handbook(count: usize) -> Vec<Part> {
    (1..=count)
        .map(|n| Part {
            heading: format!("Chapter {n}: working safely, part {n}"),
            paragraphs: (1..=3)
                .map(|p| {
                    format!(
                        "Paragraph {p} of chapter {n}. Before you start a task, check the area \
                         for hazards, wear the protective equipment the task asks for, and tell \
                         your team lead about anything that looks unsafe. Keep walkways clear, \
                         store tools where they belong, and report near misses the same day so \
                         that others can learn from them. When in doubt, stop and ask."
                    )
                })
                .collect(),
        })
        .collect()
}
