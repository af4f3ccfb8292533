//! What chat, discussions, announcements and suggestions read from their callers: trimmed text
//! within a length, and the keyset cursors of their lists (`pinned|time|id`, `time|id`,
//! `rank|time|id`).

use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_kernel::page::Keyset;
use uuid::Uuid;

use crate::SocialError;

/// `value` trimmed, refused when empty or longer than `max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, SocialError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(SocialError::invalid(field, "required", "must not be blank"));
    }
    if value.chars().count() > max {
        return Err(SocialError::invalid(
            field,
            "length",
            &format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn bad_cursor() -> SocialError {
    SocialError::invalid("cursor", "invalid_cursor", "the cursor is not valid")
}

fn time(at: &str) -> Result<DateTime<Utc>, SocialError> {
    Ok(DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad_cursor())?
        .with_timezone(&Utc))
}

/// The cursor of a list ordered by a pinned flag, a time and an id.
pub(crate) fn pinned_cursor(pinned: bool, at: DateTime<Utc>, id: Uuid) -> String {
    format!("{pinned}|{}|{id}", Keyset::time_key(at))
}

/// Reads a [`pinned_cursor`].
pub(crate) fn after_pinned(
    page: &PageRequest,
) -> Result<Option<(bool, DateTime<Utc>, Uuid)>, SocialError> {
    let Some(cursor) = page.cursor().map_err(|_| bad_cursor())? else {
        return Ok(None);
    };
    let mut parts = cursor.0.splitn(3, '|');
    let (Some(pinned), Some(at), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_cursor());
    };
    Ok(Some((
        pinned.parse().map_err(|_| bad_cursor())?,
        time(at)?,
        id.parse().map_err(|_| bad_cursor())?,
    )))
}

/// The cursor of a list ordered by a time and an id.
pub(crate) fn time_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}|{id}", Keyset::time_key(at))
}

/// Reads a [`time_cursor`].
pub(crate) fn after_time(page: &PageRequest) -> Result<Option<(DateTime<Utc>, Uuid)>, SocialError> {
    let Some(cursor) = page.cursor().map_err(|_| bad_cursor())? else {
        return Ok(None);
    };
    let (at, id) = cursor.0.split_once('|').ok_or_else(bad_cursor)?;
    Ok(Some((time(at)?, id.parse().map_err(|_| bad_cursor())?)))
}

/// The cursor of a list ordered by a rank (votes), a time and an id.
pub(crate) fn rank_cursor(rank: i64, at: DateTime<Utc>, id: Uuid) -> String {
    format!("{rank}|{}|{id}", Keyset::time_key(at))
}

/// Reads a [`rank_cursor`].
pub(crate) fn after_rank(
    page: &PageRequest,
) -> Result<Option<(i64, DateTime<Utc>, Uuid)>, SocialError> {
    let Some(cursor) = page.cursor().map_err(|_| bad_cursor())? else {
        return Ok(None);
    };
    let mut parts = cursor.0.splitn(3, '|');
    let (Some(rank), Some(at), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad_cursor());
    };
    Ok(Some((
        rank.parse().map_err(|_| bad_cursor())?,
        time(at)?,
        id.parse().map_err(|_| bad_cursor())?,
    )))
}
