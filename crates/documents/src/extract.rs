//! Text out of documents, with where it came from: PDF pages (`lopdf`) and DOCX paragraphs
//! (`zip` + `quick-xml`), as [`Block`]s in reading order. Headings are kept as such — in a PDF,
//! lines set larger than the document's body text; in a DOCX, paragraphs styled `Heading n` or
//! `Title` (or with an outline level) — so a caller can build a structure from them.
//!
//! These functions are synchronous and CPU-bound: call them on a blocking thread, with a time
//! limit. They bound what they do by [`Limits`] (input bytes, pages, characters of text, and for
//! a DOCX the uncompressed size of its document part, so a small archive cannot unpack into a
//! huge one) and refuse, rather than cut, a file above them. PDF text is read from the fonts'
//! encodings and, where a font has one, its `ToUnicode` map (what most PDF writers embed for
//! Unicode text); text drawn as images (scans) is not read: such a file has no text.

use std::collections::HashMap;
use std::io::Read;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object};

/// How much a file may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes of the file.
    pub max_bytes: usize,
    /// The most pages of a PDF.
    pub max_pages: usize,
    /// The most characters of text extracted.
    pub max_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 25 * 1024 * 1024,
            max_pages: 500,
            max_chars: 1_000_000,
        }
    }
}

/// A piece of text: a heading or a paragraph, with where it is in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The text (whitespace collapsed).
    pub text: String,
    /// Its heading level (1 the highest) when it is a heading.
    pub heading: Option<u8>,
    /// The page (PDF, from 1).
    pub page: Option<u32>,
    /// The paragraph's index among the document's paragraphs (DOCX, from 1).
    pub paragraph: Option<u32>,
}

/// Why no text came out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Above a limit of [`Limits`].
    #[error("the document is too large: {0}")]
    TooLarge(&'static str),
    /// Not a file of its kind, damaged, or encrypted.
    #[error("the document cannot be read: {0}")]
    Unreadable(String),
    /// A readable file without text (a scan).
    #[error("the document has no text")]
    NoText,
}

/// The PDF's text, page by page: headings and the body text between them.
pub fn pdf(bytes: &[u8], limits: &Limits) -> Result<Vec<Block>, ExtractError> {
    if bytes.len() > limits.max_bytes {
        return Err(ExtractError::TooLarge("bytes"));
    }
    let doc = Document::load_mem(bytes).map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    if doc.is_encrypted() {
        return Err(ExtractError::Unreadable("the PDF is encrypted".into()));
    }
    let pages = doc.get_pages();
    if pages.len() > limits.max_pages {
        return Err(ExtractError::TooLarge("pages"));
    }
    let mut lines: Vec<Line> = Vec::new();
    let mut chars = 0;
    for (number, page_id) in pages {
        let fonts = fonts_of(&doc, page_id);
        let content = doc
            .get_page_content(page_id)
            .and_then(|data| Content::decode(&data))
            .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
        let mut walker = Walker::new(number, &fonts);
        for op in &content.operations {
            walker.step(&op.operator, &op.operands);
        }
        walker.end_line();
        for line in walker.lines {
            chars += line.text.chars().count();
            if chars > limits.max_chars {
                return Err(ExtractError::TooLarge("characters"));
            }
            lines.push(line);
        }
    }
    let blocks = blocks_of(lines);
    if blocks.is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(blocks)
}

/// A line of a PDF page as drawn, with the size it was drawn at.
#[derive(Debug)]
struct Line {
    page: u32,
    text: String,
    size: f32,
}

/// How to turn a font's string bytes into text.
#[derive(Debug)]
enum Decoder {
    /// A named single-byte encoding (`WinAnsiEncoding`…), as `lopdf` knows them.
    Named(Option<String>),
    /// A `ToUnicode` map of codes `width` bytes long.
    Map {
        width: usize,
        map: HashMap<u32, String>,
    },
}

impl Decoder {
    fn decode(&self, bytes: &[u8]) -> String {
        match self {
            Self::Named(name) => Document::decode_text(name.as_deref(), bytes),
            Self::Map { width, map } => bytes
                .chunks(*width)
                .filter_map(|code| {
                    let code = code.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                    map.get(&code).cloned()
                })
                .collect(),
        }
    }
}

fn fonts_of(doc: &Document, page: lopdf::ObjectId) -> HashMap<Vec<u8>, Decoder> {
    doc.get_page_fonts(page)
        .into_iter()
        .map(|(name, font)| (name, decoder_of(doc, font)))
        .collect()
}

fn decoder_of(doc: &Document, font: &Dictionary) -> Decoder {
    let cmap = font
        .get(b"ToUnicode")
        .ok()
        .and_then(|o| match o {
            Object::Reference(id) => doc.get_object(*id).ok(),
            other => Some(other),
        })
        .and_then(|o| o.as_stream().ok())
        .and_then(|s| {
            s.decompressed_content()
                .ok()
                .or_else(|| Some(s.content.clone()))
        });
    if let Some(cmap) = cmap
        && let Some((width, map)) = parse_cmap(&cmap)
    {
        return Decoder::Map { width, map };
    }
    Decoder::Named(Some(font.get_font_encoding().to_owned()))
}

/// The hex digits of `<…>` tokens and `[`/`]` as tokens.
fn cmap_tokens(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        let len = if rest.starts_with('<') {
            rest.find('>').map_or(rest.len(), |e| e + 1)
        } else if rest.starts_with('[') || rest.starts_with(']') {
            1
        } else {
            rest.find(|c: char| c.is_whitespace() || matches!(c, '<' | '[' | ']'))
                .unwrap_or(rest.len())
                .max(1)
        };
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    out
}

fn hex(token: &str) -> Option<Vec<u8>> {
    let digits: String = token
        .strip_prefix('<')?
        .strip_suffix('>')?
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2).unwrap_or("0"), 16).ok())
        .collect()
}

fn code(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
}

fn utf16(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// Reads a `ToUnicode` CMap's `bfchar` and `bfrange` entries: the code width and the map.
fn parse_cmap(data: &[u8]) -> Option<(usize, HashMap<u32, String>)> {
    let text = String::from_utf8_lossy(data);
    let tokens = cmap_tokens(&text);
    let mut map = HashMap::new();
    let mut width = 0;
    let mut i = 0;
    while i < tokens.len() {
        match tokens[i] {
            "begincodespacerange" => {
                if let Some(lo) = tokens.get(i + 1).and_then(|t| hex(t)) {
                    width = width.max(lo.len());
                }
                i += 1;
            }
            "beginbfchar" => {
                i += 1;
                while i + 1 < tokens.len() && tokens[i] != "endbfchar" {
                    if let (Some(src), Some(dst)) = (hex(tokens[i]), hex(tokens[i + 1])) {
                        width = width.max(src.len());
                        map.insert(code(&src), utf16(&dst));
                    }
                    i += 2;
                }
            }
            "beginbfrange" => {
                i += 1;
                while i + 2 < tokens.len() && tokens[i] != "endbfrange" {
                    let (Some(lo), Some(hi)) = (hex(tokens[i]), hex(tokens[i + 1])) else {
                        i += 1;
                        continue;
                    };
                    width = width.max(lo.len());
                    let (lo, hi) = (code(&lo), code(&hi));
                    if hi < lo || hi - lo > 0xFFFF {
                        i += 3;
                        continue;
                    }
                    if tokens[i + 2] == "[" {
                        let mut j = i + 3;
                        let mut c = lo;
                        while j < tokens.len() && tokens[j] != "]" {
                            if let Some(dst) = hex(tokens[j]) {
                                map.insert(c, utf16(&dst));
                            }
                            c += 1;
                            j += 1;
                        }
                        i = j + 1;
                    } else {
                        if let Some(dst) = hex(tokens[i + 2]) {
                            let units: Vec<u16> = dst
                                .chunks(2)
                                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                                .collect();
                            for (n, c) in (lo..=hi).enumerate() {
                                let mut units = units.clone();
                                if let Some(last) = units.last_mut() {
                                    *last = last.wrapping_add(u16::try_from(n).unwrap_or(0));
                                }
                                map.insert(c, String::from_utf16_lossy(&units));
                            }
                        }
                        i += 3;
                    }
                }
            }
            _ => i += 1,
        }
    }
    (!map.is_empty()).then_some((width.clamp(1, 4), map))
}

/// Walks a page's content stream, collecting lines of text with their drawn size.
struct Walker<'a> {
    page: u32,
    fonts: &'a HashMap<Vec<u8>, Decoder>,
    font: Option<&'a Decoder>,
    font_size: f32,
    scale: f32,
    current: String,
    current_size: f32,
    lines: Vec<Line>,
}

fn number(o: Option<&Object>) -> Option<f32> {
    o.and_then(|o| o.as_float().ok())
}

impl<'a> Walker<'a> {
    fn new(page: u32, fonts: &'a HashMap<Vec<u8>, Decoder>) -> Self {
        Self {
            page,
            fonts,
            font: None,
            font_size: 12.0,
            scale: 1.0,
            current: String::new(),
            current_size: 0.0,
            lines: Vec::new(),
        }
    }

    fn end_line(&mut self) {
        let text = collapse(&self.current);
        if !text.is_empty() {
            self.lines.push(Line {
                page: self.page,
                text,
                size: self.current_size,
            });
        }
        self.current.clear();
        self.current_size = 0.0;
    }

    fn show(&mut self, operands: &[Object]) {
        let size = (self.font_size * self.scale).abs();
        for operand in operands {
            match operand {
                Object::String(bytes, _) => {
                    let text = match self.font {
                        Some(decoder) => decoder.decode(bytes),
                        None => Document::decode_text(None, bytes),
                    };
                    if !text.trim().is_empty() {
                        self.current_size = self.current_size.max(size);
                    }
                    self.current.push_str(&text);
                }
                Object::Array(items) => self.show(items),
                // A large negative adjustment in a TJ array is a word space.
                Object::Integer(n) if *n < -200 => self.current.push(' '),
                Object::Real(n) if *n < -200.0 => self.current.push(' '),
                _ => {}
            }
        }
    }

    fn step(&mut self, operator: &str, operands: &[Object]) {
        match operator {
            "Tf" => {
                self.font = operands
                    .first()
                    .and_then(|o| o.as_name().ok())
                    .and_then(|name| self.fonts.get(name));
                self.font_size = number(operands.get(1)).unwrap_or(12.0);
            }
            "Tm" => {
                self.end_line();
                self.scale = number(operands.get(3)).unwrap_or(1.0);
            }
            "Td" | "TD" => {
                if number(operands.get(1)).is_some_and(|dy| dy.abs() > 0.01) {
                    self.end_line();
                } else {
                    self.current.push(' ');
                }
            }
            "T*" | "BT" | "ET" => self.end_line(),
            "Tj" | "TJ" => self.show(operands),
            "'" => {
                self.end_line();
                self.show(operands);
            }
            "\"" => {
                self.end_line();
                self.show(operands.get(2..).unwrap_or_default());
            }
            _ => {}
        }
    }
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Lines into blocks: a line drawn clearly larger than the body text is a heading (levels by
/// size, largest first); the body lines of a page between headings are one paragraph.
fn blocks_of(lines: Vec<Line>) -> Vec<Block> {
    // The body size: the size most characters are drawn at.
    let mut by_size: HashMap<u32, usize> = HashMap::new();
    for line in &lines {
        *by_size.entry(size_key(line.size)).or_default() += line.text.chars().count();
    }
    let body = by_size
        .iter()
        .max_by_key(|(size, count)| (**count, std::cmp::Reverse(**size)))
        .map_or(0, |(size, _)| *size);
    let mut heading_sizes: Vec<u32> = by_size
        .keys()
        .copied()
        .filter(|s| is_heading_size(*s, body))
        .collect();
    heading_sizes.sort_unstable_by(|a, b| b.cmp(a));
    let mut blocks: Vec<Block> = Vec::new();
    let mut open = false;
    for line in lines {
        let key = size_key(line.size);
        let heading = heading_sizes
            .iter()
            .position(|s| *s == key)
            .map(|i| u8::try_from(i + 1).unwrap_or(u8::MAX).min(6));
        // A short line only: a long "heading" is emphasised body text.
        let heading = heading.filter(|_| line.text.chars().count() <= 200);
        match (heading, blocks.last_mut()) {
            (Some(level), _) => {
                blocks.push(Block {
                    text: line.text,
                    heading: Some(level),
                    page: Some(line.page),
                    paragraph: None,
                });
                open = false;
            }
            (None, Some(last)) if open && last.page == Some(line.page) => {
                last.text.push(' ');
                last.text.push_str(&line.text);
            }
            _ => {
                blocks.push(Block {
                    text: line.text,
                    heading: None,
                    page: Some(line.page),
                    paragraph: None,
                });
                open = true;
            }
        }
    }
    blocks
}

/// Sizes compared in tenths of a point.
fn size_key(size: f32) -> u32 {
    // Sizes are small positive numbers: a tenth of a point is precise enough.
    (size.abs() * 10.0).round() as u32
}

fn is_heading_size(size: u32, body: u32) -> bool {
    body > 0 && size * 10 >= body * 12
}

/// The DOCX's paragraphs in order (`word/document.xml`), headings marked by their style.
pub fn docx(bytes: &[u8], limits: &Limits) -> Result<Vec<Block>, ExtractError> {
    if bytes.len() > limits.max_bytes {
        return Err(ExtractError::TooLarge("bytes"));
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    let mut part = archive
        .by_name("word/document.xml")
        .map_err(|_| ExtractError::Unreadable("no word/document.xml".into()))?;
    // The XML is several times its text; a part declaring more than this is refused, and reading
    // stops there whatever it declared.
    let max_xml = limits
        .max_chars
        .saturating_mul(20)
        .clamp(1024 * 1024, 200 * 1024 * 1024);
    if usize::try_from(part.size()).unwrap_or(usize::MAX) > max_xml {
        return Err(ExtractError::TooLarge("document part"));
    }
    let mut xml = Vec::new();
    (&mut part)
        .take(u64::try_from(max_xml).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut xml)
        .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    if xml.len() > max_xml {
        return Err(ExtractError::TooLarge("document part"));
    }
    let blocks = docx_paragraphs(&xml, limits)?;
    if blocks.is_empty() {
        return Err(ExtractError::NoText);
    }
    Ok(blocks)
}

/// The heading level a paragraph style names: `Title` 1, `Heading1`…`Heading6`.
fn style_level(style: &str) -> Option<u8> {
    let lower = style.to_ascii_lowercase().replace([' ', '-', '_'], "");
    if lower == "title" {
        return Some(1);
    }
    lower
        .strip_prefix("heading")
        .and_then(|n| n.parse::<u8>().ok())
        .filter(|n| (1..=6).contains(n))
}

fn docx_paragraphs(xml: &[u8], limits: &Limits) -> Result<Vec<Block>, ExtractError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut blocks = Vec::new();
    let mut buf = Vec::new();
    let mut text = String::new();
    let mut level: Option<u8> = None;
    let mut in_text = false;
    let mut index = 0u32;
    let mut chars = 0usize;
    let version = quick_xml::XmlVersion::Implicit1_0;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> Option<String> {
        e.attributes()
            .flatten()
            .find(|a| a.key.as_ref() == name)
            .and_then(|a| a.normalized_value(version).ok().map(|v| v.into_owned()))
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
        match event {
            Event::Eof => break,
            Event::Start(ref e) | Event::Empty(ref e) => match e.name().as_ref() {
                "w:p" => {
                    text.clear();
                    level = None;
                }
                "w:pStyle" => {
                    level = attr(e, "w:val").as_deref().and_then(style_level).or(level);
                }
                "w:outlineLvl" => {
                    let outline = attr(e, "w:val").and_then(|v| v.parse::<u8>().ok());
                    level = level.or(outline.filter(|n| *n < 6).map(|n| n + 1));
                }
                "w:t" => in_text = matches!(event, Event::Start(_)),
                "w:tab" => text.push(' '),
                "w:br" | "w:cr" => text.push(' '),
                _ => {}
            },
            Event::Text(t) if in_text => {
                text.push_str(&t.xml_content(version));
            }
            Event::GeneralRef(r) if in_text => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    text.push_str(match &*r {
                        "amp" => "&",
                        "lt" => "<",
                        "gt" => ">",
                        "quot" => "\"",
                        "apos" => "'",
                        _ => "",
                    });
                }
            }
            Event::End(e) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => {
                    let collapsed = collapse(&text);
                    if !collapsed.is_empty() {
                        index += 1;
                        chars += collapsed.chars().count();
                        if chars > limits.max_chars {
                            return Err(ExtractError::TooLarge("characters"));
                        }
                        blocks.push(Block {
                            text: collapsed,
                            heading: level,
                            page: None,
                            paragraph: Some(index),
                        });
                    }
                    text.clear();
                    level = None;
                }
                _ => {}
            },
            _ => {}
        }
        buf.clear();
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samples::{self, Part};

    fn parts() -> Vec<Part> {
        vec![
            Part {
                heading: "Fire safety".into(),
                paragraphs: vec![
                    "Know where the exits are.".into(),
                    "Never use the lift in a fire & keep calm.".into(),
                ],
            },
            Part {
                heading: "First aid".into(),
                paragraphs: vec!["The kit is in the kitchen.".into()],
            },
        ]
    }

    #[test]
    fn a_pdf_gives_its_headings_and_text_with_their_pages() {
        let bytes = samples::pdf("Safety", &parts(), 1).unwrap();
        let blocks = pdf(&bytes, &Limits::default()).unwrap();
        let headings: Vec<(&str, Option<u32>)> = blocks
            .iter()
            .filter(|b| b.heading.is_some())
            .map(|b| (b.text.as_str(), b.page))
            .collect();
        assert_eq!(
            headings,
            vec![
                ("Safety", Some(1)),
                ("Fire safety", Some(1)),
                ("First aid", Some(2))
            ]
        );
        let fire = blocks.iter().position(|b| b.text == "Fire safety").unwrap();
        assert_eq!(
            blocks[fire + 1].text,
            "Know where the exits are. Never use the lift in a fire & keep calm."
        );
        assert_eq!(blocks.last().unwrap().text, "The kit is in the kitchen.");
        assert_eq!(blocks.last().unwrap().page, Some(2));
        // The title is the largest, so the highest level.
        assert!(blocks[0].heading < blocks[fire].heading);
    }

    #[test]
    fn a_docx_gives_its_paragraphs_with_their_indexes_and_styles() {
        let bytes = samples::docx("Safety", &parts()).unwrap();
        let blocks = docx(&bytes, &Limits::default()).unwrap();
        let got: Vec<(&str, Option<u8>, Option<u32>)> = blocks
            .iter()
            .map(|b| (b.text.as_str(), b.heading, b.paragraph))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Safety", Some(1), Some(1)),
                ("Fire safety", Some(1), Some(2)),
                ("Know where the exits are.", None, Some(3)),
                ("Never use the lift in a fire & keep calm.", None, Some(4)),
                ("First aid", Some(1), Some(5)),
                ("The kit is in the kitchen.", None, Some(6)),
            ]
        );
    }

    #[test]
    fn files_above_the_limits_are_refused_and_others_are_unreadable() {
        let bytes = samples::pdf("Safety", &parts(), 1).unwrap();
        let small = Limits {
            max_bytes: 100,
            ..Limits::default()
        };
        assert_eq!(pdf(&bytes, &small), Err(ExtractError::TooLarge("bytes")));
        let one_page = Limits {
            max_pages: 1,
            ..Limits::default()
        };
        assert_eq!(pdf(&bytes, &one_page), Err(ExtractError::TooLarge("pages")));
        let few_chars = Limits {
            max_chars: 10,
            ..Limits::default()
        };
        let docx_bytes = samples::docx("Safety", &parts()).unwrap();
        assert_eq!(
            docx(&docx_bytes, &few_chars),
            Err(ExtractError::TooLarge("characters"))
        );
        assert!(matches!(
            pdf(b"%PDF-1.4 nothing", &Limits::default()),
            Err(ExtractError::Unreadable(_))
        ));
        assert!(matches!(
            docx(&bytes, &Limits::default()),
            Err(ExtractError::Unreadable(_))
        ));
    }

    #[test]
    fn a_to_unicode_map_decodes_two_byte_codes() {
        let cmap = b"/CIDInit /ProcSet findresource begin\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n2 beginbfchar\n<0003> <0020>\n<0024> <0041>\nendbfchar\n1 beginbfrange\n<0044> <0046> <0061>\nendbfrange\n1 beginbfrange\n<0050> <0051> [<00E9> <00FC>]\nendbfrange\nendcmap";
        let (width, map) = parse_cmap(cmap).unwrap();
        assert_eq!(width, 2);
        let decoder = Decoder::Map { width, map };
        assert_eq!(
            decoder.decode(&[0, 0x24, 0, 3, 0, 0x44, 0, 0x46, 0, 0x50, 0, 0x51]),
            "A acéü"
        );
    }
}
