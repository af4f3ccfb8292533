//! Signed reply addresses: the `Reply-To` of the email that tells a mentor a question is theirs,
//! so they can answer by replying, and what is kept of such a reply ([`strip_quoted`]).
//!
//! An address is `reply+<token>@<domain>`, its local part 62 characters (within RFC 5321's 64).
//! The token is `base64url(tenant ‖ question ‖ tag)`, 56 characters: the two ids (16 bytes each)
//! and a tag of 80 bits, the first 10 bytes of HMAC-SHA-256 under the unsubscribe links' secret
//! (`GUILD_UNSUBSCRIBE_SECRET`) over a label of its own (so neither kind of token ever verifies
//! as the other), the tenant, the question, the recipient and the UTC day the notification was
//! made. The recipient and the day are not written out — a 64-character local part has no room
//! for three ids — but bound by the tag: [`ReplyToken::verify`] recomputes it for a candidate
//! recipient (the member the question is assigned to, or who answered it) and each day of the
//! address's life ([`VALID_DAYS`] back from `now`, and one ahead for clocks a little apart),
//! comparing tags in constant time. So an address names one question of one tenant for one
//! member, works for 30 days, and any change (another question, another tenant, another
//! member, one character of the tag) makes it one this server did not sign. Mail services keep
//! the case of the local part, which base64url needs; changing the secret ends every address.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use guild_kernel::{TenantId, UserId};
use hmac::Mac;
use uuid::Uuid;

use crate::unsubscribe::UnsubscribeKey;

/// Signed into every tag, so a tag made for another purpose with the same key never verifies.
const LABEL: &[u8] = b"guild-reply-v1\0";
/// What the local part of a reply address starts with.
pub const PREFIX: &str = "reply+";
/// The bytes of the tag kept (80 bits).
pub const TAG_LEN: usize = 10;
/// The length of a token: base64url of two ids and the tag.
pub const TOKEN_LEN: usize = 56;
/// The days an address works after its notification was made.
pub const VALID_DAYS: i64 = 30;

const SECONDS_PER_DAY: i64 = 86_400;

fn day(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(SECONDS_PER_DAY)
}

fn tag(
    key: &UnsubscribeKey,
    tenant: TenantId,
    question: Uuid,
    recipient: UserId,
    day: i64,
) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = key.labelled(LABEL);
    mac.update(tenant.into_uuid().as_bytes());
    mac.update(question.as_bytes());
    mac.update(recipient.into_uuid().as_bytes());
    mac.update(&day.to_be_bytes());
    mac
}

/// The reply address of question `question` of `tenant` for `recipient`, made at `issued`, at
/// `domain`.
pub fn address(
    key: &UnsubscribeKey,
    tenant: TenantId,
    question: Uuid,
    recipient: UserId,
    issued: DateTime<Utc>,
    domain: &str,
) -> String {
    let full = tag(key, tenant, question, recipient, day(issued))
        .finalize()
        .into_bytes();
    let mut bytes = Vec::with_capacity(32 + TAG_LEN);
    bytes.extend_from_slice(tenant.into_uuid().as_bytes());
    bytes.extend_from_slice(question.as_bytes());
    bytes.extend_from_slice(&full[..TAG_LEN]);
    format!("{PREFIX}{}@{domain}", URL_SAFE_NO_PAD.encode(&bytes))
}

/// A reply address read back: the tenant and question it names, and the tag still to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyToken {
    /// The tenant it names.
    pub tenant: TenantId,
    /// The question it names.
    pub question: Uuid,
    tag: [u8; TAG_LEN],
}

impl ReplyToken {
    /// The token of `address` (`reply+<token>@…`, the prefix in any case), if it is shaped like
    /// one; nothing is verified yet.
    pub fn parse(address: &str) -> Option<Self> {
        let address = address.trim().trim_start_matches('<').trim_end_matches('>');
        let (local, _domain) = address.rsplit_once('@')?;
        let prefix = local.get(..PREFIX.len())?;
        if !prefix.eq_ignore_ascii_case(PREFIX) {
            return None;
        }
        let token = &local[PREFIX.len()..];
        if token.len() != TOKEN_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        if bytes.len() != 32 + TAG_LEN {
            return None;
        }
        let tenant = Uuid::from_slice(&bytes[..16]).ok()?;
        let question = Uuid::from_slice(&bytes[16..32]).ok()?;
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&bytes[32..]);
        Some(Self {
            tenant: TenantId(tenant),
            question,
            tag,
        })
    }

    /// Whether this server made the address for `recipient`, on a day that still lets it work
    /// at `now` (see the module doc).
    pub fn verify(&self, key: &UnsubscribeKey, recipient: UserId, now: DateTime<Utc>) -> bool {
        let today = day(now);
        // Every day is tried whatever matched first: the time taken says nothing of the tag.
        let mut matched = false;
        for issued in (today - VALID_DAYS)..=(today + 1) {
            let ok = tag(key, self.tenant, self.question, recipient, issued)
                .verify_truncated_left(&self.tag)
                .is_ok();
            matched |= ok;
        }
        matched
    }
}

/// What a reply says, without what it quotes: lines quoted with `>` are dropped, and everything
/// from the first line that introduces the quoted message (`On … wrote:`, over two lines too;
/// `-----Original Message-----`; an Outlook rule of underscores) or the signature (`-- `) is cut.
/// Line ends become `\n`; blank lines at either end and spaces at line ends go.
pub fn strip_quoted(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.lines().collect();
    let mut kept: Vec<&str> = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        // The signature separator is `-- `; many clients drop its trailing space.
        if line == "--" {
            break;
        }
        if introduces_quote(trimmed, lines.get(i + 1).map(|l| l.trim())) {
            break;
        }
        if trimmed.starts_with('>') {
            continue;
        }
        kept.push(line);
    }
    while kept.last().is_some_and(|l| l.is_empty()) {
        kept.pop();
    }
    let start = kept
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(kept.len());
    kept[start..].join("\n")
}

/// Whether `line` (and the one after it, for clients that wrap the header) starts the quoted
/// original.
fn introduces_quote(line: &str, next: Option<&str>) -> bool {
    if line.starts_with("-----Original Message-----")
        || (line.len() >= 20 && line.bytes().all(|b| b == b'_'))
    {
        return true;
    }
    if !line.starts_with("On ") {
        return false;
    }
    line.ends_with("wrote:")
        || (!line.ends_with('.')
            && next.is_some_and(|n| n.ends_with("wrote:") && !n.starts_with('>')))
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn key() -> UnsubscribeKey {
        UnsubscribeKey::new(b"0123456789abcdef0123456789abcdef")
    }

    fn at(days: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap() + Duration::days(days)
    }

    #[test]
    fn an_address_fits_a_local_part_and_verifies_for_its_recipient_for_thirty_days() {
        let (tenant, question, mentor) = (
            TenantId(Uuid::now_v7()),
            Uuid::now_v7(),
            UserId(Uuid::now_v7()),
        );
        let address = address(&key(), tenant, question, mentor, at(0), "reply.example.com");
        let (local, domain) = address.split_once('@').unwrap_or_default();
        assert_eq!(domain, "reply.example.com");
        assert_eq!(local.len(), PREFIX.len() + TOKEN_LEN);
        assert!(local.len() <= 64, "{local}");
        assert!(
            local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-_".contains(&b)),
            "{local}"
        );
        let token = ReplyToken::parse(&address).expect("a token");
        assert_eq!((token.tenant, token.question), (tenant, question));
        // As a mail client writes it, the prefix in another case.
        let shouted = format!("<REPLY+{}>", &address[PREFIX.len()..]);
        assert_eq!(ReplyToken::parse(&shouted), Some(token.clone()));
        for days in [0, 1, 29, 30] {
            assert!(token.verify(&key(), mentor, at(days)), "day {days}");
        }
        assert!(!token.verify(&key(), mentor, at(31)), "expired");
        assert!(
            !token.verify(&key(), UserId(Uuid::now_v7()), at(0)),
            "another member"
        );
        let other = UnsubscribeKey::new(b"another secret of thirty-two bytes!");
        assert!(!token.verify(&other, mentor, at(0)), "another secret");
    }

    #[test]
    fn forged_or_altered_addresses_are_refused() {
        let (tenant, question, mentor) = (
            TenantId(Uuid::now_v7()),
            Uuid::now_v7(),
            UserId(Uuid::now_v7()),
        );
        let good = address(&key(), tenant, question, mentor, at(0), "r.example.com");
        let token = &good[PREFIX.len()..PREFIX.len() + TOKEN_LEN];
        let bytes = URL_SAFE_NO_PAD.decode(token).unwrap_or_default();
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = bytes.clone();
            f(&mut b);
            format!("{PREFIX}{}@r.example.com", URL_SAFE_NO_PAD.encode(&b))
        };
        // Another question, another tenant, one bit of the tag.
        let other_question = with(&|b| b[16..32].copy_from_slice(Uuid::now_v7().as_bytes()));
        let other_tenant = with(&|b| b[..16].copy_from_slice(Uuid::now_v7().as_bytes()));
        let flipped = with(&|b| b[40] ^= 1);
        for forged in [other_question, other_tenant, flipped] {
            let parsed = ReplyToken::parse(&forged).expect("shaped like one");
            assert!(!parsed.verify(&key(), mentor, at(0)), "{forged}");
        }
        // A label of its own: an unsubscribe tag never stands for a reply tag.
        for malformed in [
            String::new(),
            "reply@r.example.com".to_owned(),
            format!("{PREFIX}{token}x@r.example.com"),
            format!("{PREFIX}{}@r.example.com", &token[1..]),
            format!("noreply+{token}@r.example.com"),
            format!(
                "{PREFIX}{}@r.example.com",
                token.replace(|c: char| c.is_ascii_alphabetic(), "!")
            ),
            format!("{PREFIX}{token}"),
        ] {
            assert_eq!(ReplyToken::parse(&malformed), None, "{malformed}");
        }
    }

    #[test]
    fn quoted_text_signatures_and_reply_headers_are_stripped() {
        let gmail = "Every two years.\r\nThe platform reminds you.\r\n\r\nOn Mon, Dec 7, 2026 at 10:00 AM Guild <\r\nreply+abc@r.example.com> wrote:\r\n> A question is waiting\r\n> for your answer\r\n";
        assert_eq!(
            strip_quoted(gmail),
            "Every two years.\nThe platform reminds you."
        );
        let one_line = "Yes.\n\nOn 7 Dec 2026, Guild wrote:\n> Hello\n";
        assert_eq!(strip_quoted(one_line), "Yes.");
        let signed = "\n\nSee section 2.\n\n-- \nAna Mentor\nSafety team\n";
        assert_eq!(strip_quoted(signed), "See section 2.");
        let inline = "> Is it yearly?\nNo, every two years.\n> And the exam?\nOnline.\n";
        assert_eq!(strip_quoted(inline), "No, every two years.\nOnline.");
        let outlook = "Fine.\n\n-----Original Message-----\nFrom: Guild\nHello\n";
        assert_eq!(strip_quoted(outlook), "Fine.");
        let ruled = "Fine.\n________________________________\nFrom: Guild\n";
        assert_eq!(strip_quoted(ruled), "Fine.");
        // A sentence that starts with "On" is an answer, not a quote header.
        let sentence = "On Mondays the office is closed.\nAsk again then.\n";
        assert_eq!(
            strip_quoted(sentence),
            "On Mondays the office is closed.\nAsk again then."
        );
        assert_eq!(strip_quoted("> only quoted\n> text\n"), "");
    }
}
