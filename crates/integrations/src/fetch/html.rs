//! What a page says about itself: the `og:`/`twitter:` meta tags of its head, or its `<title>`
//! and `description` meta tag. A tolerant scan of the markup, not a full HTML parser: a preview
//! needs a handful of attributes from the head, and a page that hides them gets no preview.

use std::sync::LazyLock;

use regex::Regex;

/// The longest title kept, in characters.
pub(crate) const MAX_TITLE_CHARS: usize = 300;
/// The longest description kept, in characters.
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// What the head of a page names.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct PageMeta {
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    /// The image's URL as written (possibly relative).
    pub(crate) image: Option<String>,
}

static META: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<meta\b([^>]*)>").expect("a valid regex"));
static ATTR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)([a-z:_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))"#)
        .expect("a valid regex")
});
static TITLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<title\b[^>]*>(.*?)</title\s*>").expect("a valid regex"));
static COMMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?s)<!--.*?-->").expect("a valid regex"));

/// Reads the preview's fields from a page: Open Graph first, then Twitter cards, then `<title>`
/// and `<meta name="description">`. Text is unescaped, whitespace collapsed and cut to length.
pub(crate) fn page_meta(html: &str) -> PageMeta {
    let html = COMMENT.replace_all(html, " ");
    let mut og = PageMeta::default();
    let mut twitter = PageMeta::default();
    let mut plain_description = None;
    for tag in META.captures_iter(&html) {
        let mut key = None;
        let mut content = None;
        for attr in ATTR.captures_iter(&tag[1]) {
            let name = attr[1].to_ascii_lowercase();
            let value = attr
                .get(2)
                .or(attr.get(3))
                .or(attr.get(4))
                .map_or("", |m| m.as_str());
            match name.as_str() {
                "property" | "name" => key = Some(value.trim().to_ascii_lowercase()),
                "content" => content = Some(value.to_owned()),
                _ => {}
            }
        }
        let (Some(key), Some(content)) = (key, content) else {
            continue;
        };
        let slot = match key.as_str() {
            "og:title" => &mut og.title,
            "og:description" => &mut og.description,
            "og:image" | "og:image:url" | "og:image:secure_url" => &mut og.image,
            "twitter:title" => &mut twitter.title,
            "twitter:description" => &mut twitter.description,
            "twitter:image" | "twitter:image:src" => &mut twitter.image,
            "description" => &mut plain_description,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(content);
        }
    }
    let title_tag = TITLE.captures(&html).map(|c| c[1].to_owned());
    PageMeta {
        title: og
            .title
            .or(twitter.title)
            .or(title_tag)
            .and_then(|t| text(&t, MAX_TITLE_CHARS)),
        description: og
            .description
            .or(twitter.description)
            .or(plain_description)
            .and_then(|d| text(&d, MAX_DESCRIPTION_CHARS)),
        image: og
            .image
            .or(twitter.image)
            .map(|u| unescape(u.trim()))
            .filter(|u| !u.is_empty()),
    }
}

/// Unescaped, whitespace collapsed, at most `max` characters; `None` when nothing is left.
fn text(raw: &str, max: usize) -> Option<String> {
    let unescaped = unescape(raw);
    let collapsed = unescaped
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let cut: String = collapsed.chars().take(max).collect();
    (!cut.is_empty()).then_some(cut)
}

/// Replaces the character references a title or description usually carries.
fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest[..rest.len().min(12)].find(';');
        let decoded = end.and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" | "#39" => Some('\''),
                "nbsp" => Some(' '),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_graph_comes_first_then_twitter_then_the_title_tag() {
        let page = r#"<html><head><title>Plain &amp; simple</title>
            <meta name="description" content="The plain one">
            <meta name='twitter:title' content='Bird title'>
            <meta property="og:title" content="  The   &quot;OG&quot; title ">
            <meta content="/img/card.png" property="og:image">
            </head><body><meta property="og:title" content="ignored, the first wins"></body>"#;
        let meta = page_meta(page);
        assert_eq!(meta.title.as_deref(), Some("The \"OG\" title"));
        assert_eq!(meta.description.as_deref(), Some("The plain one"));
        assert_eq!(meta.image.as_deref(), Some("/img/card.png"));

        let meta = page_meta("<title>\n Only &#x201C;this&#8221; </title>");
        assert_eq!(meta.title.as_deref(), Some("Only \u{201c}this\u{201d}"));
        assert_eq!(meta.description, None);
        assert_eq!(meta.image, None);
    }

    #[test]
    fn commented_out_tags_and_overlong_text_do_not_leak_through() {
        let long = "word ".repeat(400);
        let page = format!(
            r#"<!-- <meta property="og:title" content="hidden"> --><meta property="og:description" content="{long}">"#
        );
        let meta = page_meta(&page);
        assert_eq!(meta.title, None);
        assert_eq!(
            meta.description.map(|d| d.chars().count()),
            Some(MAX_DESCRIPTION_CHARS)
        );
        assert_eq!(unescape("a &bogus; & b &#xZZ;"), "a &bogus; & b &#xZZ;");
    }
}
