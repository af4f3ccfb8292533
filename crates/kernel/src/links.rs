//! Links that clients render: one rule for every user-supplied URL that ends up in an `href` or
//! `src` (a module's cover image, a reward's image, …).
//!
//! Only absolute `https://` URLs are stored. `javascript:` runs script in the client that renders
//! the link, `data:` and `file:` show content that never came from the web, and `http:` can be
//! rewritten on the way (and is mixed content on an https page). Credentials (`user@host`),
//! backslashes, whitespace and control characters are refused too: browsers read them in ways
//! that differ from the checks here.

use crate::FieldError;

/// The longest link accepted.
pub const MAX_LINK_LEN: usize = 2048;

/// The field error code of a refused link.
pub const LINK_CODE: &str = "url";

/// The message of a refused link.
pub const LINK_MESSAGE: &str = "must be an https:// URL of at most 2048 characters";

/// The rule of [`check_link`] as a regular expression (ECMA-262 and Python `re` alike), for the
/// `pattern` of every link field in the OpenAPI document: a string matches it exactly when
/// `check_link` accepts it, length aside (`maxLength` says that). The host part spells out the
/// port rule: after the last `:` of the authority come digits, or the `]` of an IPv6 literal.
pub const LINK_PATTERN: &str = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$";

/// A link that is not an acceptable `https://` URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be an https:// URL of at most 2048 characters")]
pub struct NotHttps;

impl NotHttps {
    /// The field error for `field`.
    pub fn field_error(self, field: &str) -> FieldError {
        FieldError::new(field, LINK_CODE, LINK_MESSAGE)
    }
}

/// Accepts an absolute `https://` URL with a host, no credentials, no whitespace, control
/// characters or backslashes, of at most [`MAX_LINK_LEN`] characters.
pub fn check_link(value: &str) -> Result<(), NotHttps> {
    if value.chars().count() > MAX_LINK_LEN
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return Err(NotHttps);
    }
    let rest = value
        .get(..8)
        .filter(|scheme| scheme.eq_ignore_ascii_case("https://"))
        .and_then(|_| value.get(8..))
        .ok_or(NotHttps)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        // A port, unless the colon is inside an IPv6 literal.
        Some((host, port)) if !port.contains(']') => {
            if !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(NotHttps);
            }
            host
        }
        _ => authority,
    };
    if host.is_empty() || host.contains('@') || host.starts_with('.') {
        return Err(NotHttps);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_with_a_host_are_links() {
        for good in [
            "https://cdn.example.com/covers/1.png",
            "HTTPS://example.com",
            "https://example.com:8443/a?b=c#d",
            "https://[2001:db8::1]/x.png",
            "https://münchen.example/bild.jpg",
        ] {
            assert_eq!(check_link(good), Ok(()), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(document.cookie)//https://x",
            "data:image/svg+xml;base64,PHN2Zz4=",
            "file:///etc/passwd",
            "http://example.com/a.png",
            "//example.com/a.png",
            "/v1/media/x",
            "https://",
            "https:///path",
            "https://user:pass@example.com/",
            "https://example.com@evil.example/",
            "https://example.com:80x/",
            "https://exa mple.com/",
            " https://example.com/",
            "https://example.com/\n",
            "https://example.com\\@evil.example/",
            "",
        ] {
            assert_eq!(check_link(bad), Err(NotHttps), "{bad:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_LINK_LEN));
        assert_eq!(check_link(&long), Err(NotHttps));
        // Characters, not bytes, as `maxLength` counts them.
        let wide = format!("https://example.com/{}", "é".repeat(MAX_LINK_LEN - 20));
        assert_eq!(check_link(&wide), Ok(()));
    }

    #[test]
    fn the_link_pattern_says_what_check_link_accepts() {
        let pattern = regex::Regex::new(LINK_PATTERN).expect("the pattern compiles");
        let mut corpus: Vec<String> = [
            "https://cdn.example.com/covers/1.png",
            "HTTPS://example.com",
            "https://example.com:8443/a?b=c#d",
            "https://example.com:/",
            "https://[2001:db8::1]/x.png",
            "https://[2001:db8::1]:443/x.png",
            "https://a:b]c",
            "https://:]",
            "https://::443",
            "https://:443",
            "https://:",
            "https://a:b:443/",
            "https://münchen.example/bild.jpg",
            "https://x/ü?q=ß#日本",
            "https://.example.com/",
            "https://example.com./",
            "https://ex%41mple.com/",
            "https://example.com?x",
            "https://example.com#x",
            "https://example.com/a@b",
            "https://example.com/\u{a0}",
            "https://example.com/\u{85}",
            "https://example.com/\u{2003}",
            "https://example.com/\u{3000}",
            "https://example.com/\u{feff}",
            "https://example.com/\u{200b}",
            "https://example.com/\u{7f}",
            "https://example.com/\u{9f}",
            "https://example.com/\u{1c}",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        corpus.extend(
            [
                "javascript:alert(1)",
                "data:image/svg+xml;base64,PHN2Zz4=",
                "http://example.com/a.png",
                "//example.com/a.png",
                "https://",
                "https:///path",
                "https://?q",
                "https://#f",
                "https://user:pass@example.com/",
                "https://example.com@evil.example/",
                "https://example.com:80x/",
                "https://exa mple.com/",
                " https://example.com/",
                "https://example.com/\n",
                "https://example.com\\@evil.example/",
                "",
            ]
            .map(str::to_owned),
        );
        // Every character class boundary, in the host and in the path.
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            corpus.push(format!("https://{c}example.com/"));
            corpus.push(format!("https://ex{c}ample.com/"));
            corpus.push(format!("https://example.com/{c}"));
            corpus.push(format!("https://example.com:{c}/"));
        }
        for link in &corpus {
            assert_eq!(
                pattern.is_match(link),
                check_link(link).is_ok(),
                "{link:?}: the pattern and check_link disagree"
            );
        }
    }
}
