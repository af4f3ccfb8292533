//! Cursor pagination: `?limit=&cursor=` in, `{data, next_cursor}` out.
//!
//! A cursor is opaque to clients: URL-safe base64 of the sort key of the last row returned. Lists
//! order by a unique key (usually the UUIDv7 id), so a cursor stays valid while rows are added.

use serde::{Deserialize, Serialize};

/// The default page size when a client gives none.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page a client may ask for.
pub const MAX_LIMIT: u32 = 200;

/// What a client asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct PageRequest {
    /// Page size, clamped to `1..=MAX_LIMIT`.
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The effective page size.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// The decoded cursor, if any.
    pub fn cursor(&self) -> Result<Option<Cursor>, CursorError> {
        self.cursor.as_deref().map(Cursor::decode).transpose()
    }

    /// The decoded keyset position of a list sorted by `sort`, if any.
    pub fn keyset(&self, sort: &str) -> Result<Option<Keyset>, CursorError> {
        self.cursor()?.map(|c| Keyset::decode(&c, sort)).transpose()
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    /// The rows of this page.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that more exist.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Self {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|row| Cursor(key(row)).encode())
        } else {
            None
        };
        Self {
            data: rows,
            next_cursor,
        }
    }
}

/// The decoded position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

/// Separates the parts of a [`Keyset`] cursor.
const KEYSET_SEP: char = '\u{1f}';

/// The position of a list sorted by a key other than the id: the sort it was made for, the
/// last row's sort key and its id (the tie-breaker). Lists order by `(key, id)` in the sort's
/// direction and continue after this pair; a cursor made for another sort is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keyset {
    /// The sort, as the client named it (e.g. `-created_at`).
    pub sort: String,
    /// The last row's sort key, as text.
    pub key: String,
    /// The last row's id.
    pub id: uuid::Uuid,
}

impl Keyset {
    /// The cursor's text before encoding (what [`Page::from_overfetch`]'s `key` returns).
    pub fn raw(&self) -> String {
        format!(
            "{}{KEYSET_SEP}{}{KEYSET_SEP}{}",
            self.sort, self.key, self.id
        )
    }

    /// The cursor of this position.
    pub fn encode(&self) -> String {
        Cursor(self.raw()).encode()
    }

    /// A time as a sort key (microseconds, like PostgreSQL's `timestamptz`).
    pub fn time_key(at: chrono::DateTime<chrono::Utc>) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    /// The sort key as a time written by [`time_key`](Self::time_key).
    pub fn time(&self) -> Result<chrono::DateTime<chrono::Utc>, CursorError> {
        chrono::DateTime::parse_from_rfc3339(&self.key)
            .map(|t| t.to_utc())
            .map_err(|_| CursorError)
    }

    /// The sort key as an integer.
    pub fn int(&self) -> Result<i64, CursorError> {
        self.key.parse().map_err(|_| CursorError)
    }

    /// The position `cursor` names, if it was made for `sort`.
    pub fn decode(cursor: &Cursor, sort: &str) -> Result<Self, CursorError> {
        let (made_for, rest) = cursor.0.split_once(KEYSET_SEP).ok_or(CursorError)?;
        let (key, id) = rest.rsplit_once(KEYSET_SEP).ok_or(CursorError)?;
        if made_for != sort {
            return Err(CursorError);
        }
        Ok(Self {
            sort: sort.to_owned(),
            key: key.to_owned(),
            id: id.parse().map_err(|_| CursorError)?,
        })
    }
}

/// A cursor that was not produced by Guild.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid")]
pub struct CursorError;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Cursor {
    /// URL-safe base64 without padding.
    pub fn encode(&self) -> String {
        let bytes = self.0.as_bytes();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    /// The inverse of [`encode`](Self::encode).
    pub fn decode(s: &str) -> Result<Self, CursorError> {
        if s.len() % 4 == 1 || s.len() > 1024 {
            return Err(CursorError);
        }
        let mut bytes = Vec::with_capacity(s.len() * 3 / 4);
        for chunk in s.as_bytes().chunks(4) {
            let mut n = 0u32;
            for (i, c) in chunk.iter().enumerate() {
                let v = ALPHABET.iter().position(|a| a == c).ok_or(CursorError)?;
                n |= (v as u32) << (18 - 6 * i);
            }
            for i in 0..chunk.len() - 1 {
                bytes.push((n >> (16 - 8 * i)) as u8);
            }
        }
        String::from_utf8(bytes)
            .map(Cursor)
            .map_err(|_| CursorError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_for_every_length() {
        for s in [
            "",
            "a",
            "ab",
            "abc",
            "abcd",
            "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0|é",
        ] {
            let c = Cursor(s.to_owned());
            assert_eq!(Cursor::decode(&c.encode()), Ok(c));
        }
    }

    #[test]
    fn keyset_cursors_round_trip_and_belong_to_their_sort() {
        let k = Keyset {
            sort: "-name".into(),
            key: "Ann | Bee\u{1f}".into(),
            id: uuid::Uuid::nil(),
        };
        let c = Cursor::decode(&k.encode()).unwrap();
        assert_eq!(Keyset::decode(&c, "-name"), Ok(k));
        assert_eq!(Keyset::decode(&c, "name"), Err(CursorError));
        assert_eq!(
            Keyset::decode(&Cursor("plain".into()), "name"),
            Err(CursorError)
        );
    }

    #[test]
    fn a_foreign_cursor_is_rejected() {
        assert_eq!(Cursor::decode("a"), Err(CursorError));
        assert_eq!(Cursor::decode("ab=c"), Err(CursorError));
    }

    #[test]
    fn overfetching_one_row_yields_a_next_cursor() {
        let page = Page::from_overfetch(vec![1, 2, 3], 2, ToString::to_string);
        assert_eq!(page.data, vec![1, 2]);
        assert_eq!(
            page.next_cursor.map(|c| Cursor::decode(&c)),
            Some(Ok(Cursor("2".into())))
        );
        let last = Page::from_overfetch(vec![1, 2], 2, ToString::to_string);
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn limits_are_clamped() {
        let req = |limit| PageRequest {
            limit,
            cursor: None,
        };
        assert_eq!(req(None).limit(), DEFAULT_LIMIT);
        assert_eq!(req(Some(0)).limit(), 1);
        assert_eq!(req(Some(10_000)).limit(), MAX_LIMIT);
    }
}
