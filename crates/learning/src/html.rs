//! Sanitizing section HTML on write, with an allow-list: formatting, headings, lists, tables,
//! links (https and mailto only; `rel="noopener noreferrer"` added), images (https), code.
//! Scripts, styles, event handlers, `javascript:`, `data:`, `file:` and `http:` URLs and unknown
//! tags are removed: the same rule as every other link a client renders (`guild_kernel::links`).

use std::collections::HashSet;
use std::sync::LazyLock;

static CLEANER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let tags: HashSet<&str> = [
        "a",
        "b",
        "blockquote",
        "br",
        "code",
        "em",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "li",
        "mark",
        "ol",
        "p",
        "pre",
        "s",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    ]
    .into_iter()
    .collect();
    let schemes: HashSet<&str> = ["https", "mailto"].into_iter().collect();
    let mut builder = ammonia::Builder::default();
    builder
        .tags(tags)
        .url_schemes(schemes)
        .link_rel(Some("noopener noreferrer"))
        .add_tag_attributes("img", ["src", "alt", "title", "width", "height"])
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("td", ["colspan", "rowspan"])
        .add_tag_attributes("th", ["colspan", "rowspan"]);
    builder
});

/// The safe subset of `html`.
pub fn sanitize(html: &str) -> String {
    CLEANER.clean(html).to_string()
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn scripts_handlers_and_dangerous_urls_are_removed() {
        let dirty = r#"<p onclick="steal()">Hi<script>alert(1)</script></p>
            <a href="javascript:alert(1)">x</a><img src="x" onerror="alert(1)">
            <iframe src="https://evil.example.com"></iframe><a href="https://ok.example.com">ok</a>
            <svg><script>alert(2)</script></svg><img src="data:image/png;base64,AAAA">
            <a href="http://plain.example.com">plain</a><img src="http://plain.example.com/a.png">
            <a href="file:///etc/passwd">file</a>"#;
        let clean = sanitize(dirty);
        for bad in [
            "script",
            "onclick",
            "onerror",
            "javascript:",
            "iframe",
            "svg",
            "data:",
            "http:",
            "file:",
        ] {
            assert!(
                !clean.to_lowercase().contains(bad),
                "{bad} survived: {clean}"
            );
        }
        assert!(
            clean.contains(r#"<a href="https://ok.example.com" rel="noopener noreferrer">ok</a>"#),
            "{clean}"
        );
        assert!(clean.contains("<p>Hi</p>"), "{clean}");
    }
}
