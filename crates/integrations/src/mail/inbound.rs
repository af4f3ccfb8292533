//! Inbound email: a raw MIME message (RFC 5322) as a mail service forwards it, read with
//! Stalwart's `mail-parser` into what a reply to a notification needs — the addresses it was
//! sent to, who says they sent it, its Message-ID and its text.
//!
//! The text is the first `text/plain` body; a message with only HTML has its HTML cut where the
//! quoted original starts (a `<blockquote>`, Gmail's `gmail_quote`, Outlook's reply header) and
//! turned into text. Nothing here decides what the text means or trusts the sender: the caller
//! checks the signed reply address and strips quoted plain text.

use mail_parser::decoders::html::html_to_text;
use mail_parser::{MessageParser, PartType};

/// What a received message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// Every address it was sent to: `To`, `Cc`, `Delivered-To` and `X-Original-To`, in that
    /// order, as written.
    pub recipients: Vec<String>,
    /// The `From` address (anyone can write any; never proof of who sent it).
    pub from: Option<String>,
    /// The `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The body as text (see the module doc); empty without one.
    pub text: String,
}

/// Markers of where an HTML reply's quoted original starts, lowercase.
const HTML_QUOTES: &[&str] = &[
    "<blockquote",
    "class=\"gmail_quote",
    "id=\"divrplyfwdmsg",
    "id=\"appendonsend",
];

/// Reads `raw`; `None` when it is not a message at all (no header, nothing parsed).
pub fn parse(raw: &[u8]) -> Option<InboundEmail> {
    let message = MessageParser::default().parse(raw)?;
    if message.headers().is_empty() {
        return None;
    }
    let mut recipients: Vec<String> = Vec::new();
    for list in message.all_to().chain(message.all_cc()) {
        recipients.extend(list.iter().filter_map(|a| a.address()).map(str::to_owned));
    }
    for (name, value) in message.headers_raw() {
        if name.eq_ignore_ascii_case("Delivered-To") || name.eq_ignore_ascii_case("X-Original-To") {
            recipients.extend(
                value
                    .split([',', ' ', '\t', '\r', '\n', '<', '>'])
                    .filter(|s| s.contains('@'))
                    .map(str::to_owned),
            );
        }
    }
    let from = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .map(str::to_owned);
    let message_id = message.message_id().map(str::to_owned);
    let plain = message.text_bodies().find_map(|part| match &part.body {
        PartType::Text(text) => Some(text.to_string()),
        _ => None,
    });
    let text = match plain {
        Some(text) => text,
        None => message
            .html_bodies()
            .find_map(|part| match &part.body {
                PartType::Html(html) => Some(html_to_text(cut_quote(html))),
                _ => None,
            })
            .unwrap_or_default(),
    };
    Some(InboundEmail {
        recipients,
        from,
        message_id,
        text,
    })
}

/// `html` up to where its quoted original starts (the tag of the first marker).
fn cut_quote(html: &str) -> &str {
    let lower = html.to_ascii_lowercase();
    let cut = HTML_QUOTES
        .iter()
        .filter_map(|marker| lower.find(marker))
        .min()
        // The tag the marker is in starts at the `<` before it.
        .map(|at| lower[..=at].rfind('<').unwrap_or(at));
    match cut {
        Some(at) => &html[..at],
        None => html,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_reply_is_read_with_its_recipients_sender_and_id() {
        let raw = b"From: Ana Mentor <ana@acme.example.com>\r\n\
To: Guild <reply+abc@reply.example.com>\r\n\
Cc: boss@acme.example.com\r\n\
Delivered-To: reply+def@reply.example.com\r\n\
X-Original-To: <reply+ghi@reply.example.com>\r\n\
Subject: Re: A question is waiting\r\n\
Message-ID: <CAF123@mail.example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Every two years =E2=80=94 see section 2.\r\n\
\r\n\
> A question is waiting\r\n";
        let read = parse(raw).expect("a message");
        assert_eq!(
            read.recipients,
            [
                "reply+abc@reply.example.com",
                "boss@acme.example.com",
                "reply+def@reply.example.com",
                "reply+ghi@reply.example.com"
            ]
        );
        assert_eq!(read.from.as_deref(), Some("ana@acme.example.com"));
        assert_eq!(read.message_id.as_deref(), Some("CAF123@mail.example.com"));
        assert!(
            read.text.starts_with("Every two years — see section 2."),
            "{}",
            read.text
        );
    }

    #[test]
    fn plain_text_is_preferred_and_html_alone_is_cut_at_its_quote() {
        let both = b"From: a@example.com\r\nTo: reply+x@r.example.com\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nPlain answer\r\n\
--b\r\nContent-Type: text/html\r\n\r\n<p>HTML answer</p>\r\n--b--\r\n";
        assert_eq!(
            parse(both).map(|m| m.text.trim().to_owned()),
            Some("Plain answer".into())
        );

        let html = b"From: a@example.com\r\nTo: reply+x@r.example.com\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><div>Yes, <b>every</b> two years.</div><br>\
<div class=\"gmail_quote\"><div>On Mon, Guild wrote:</div>\
<blockquote>A question is waiting</blockquote></div></body></html>\r\n";
        let text = parse(html).map(|m| m.text).unwrap_or_default();
        assert!(text.contains("Yes, every two years."), "{text}");
        assert!(
            !text.contains("waiting") && !text.contains("wrote"),
            "{text}"
        );
    }

    #[test]
    fn bytes_that_are_no_message_are_refused() {
        assert_eq!(parse(b""), None);
    }
}
