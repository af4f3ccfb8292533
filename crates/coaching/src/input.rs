//! What coaching reads from its callers: trimmed text within a length, and the keyset
//! cursors of its lists (`time|id`).

use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_kernel::page::Keyset;
use uuid::Uuid;

use crate::CoachingError;

/// `value` trimmed, refused when empty (unless `optional`) or longer than `max` characters.
pub(crate) fn text(
    field: &str,
    value: &str,
    max: usize,
    optional: bool,
) -> Result<String, CoachingError> {
    let value = value.trim();
    if value.is_empty() && !optional {
        return Err(CoachingError::invalid(
            field,
            "required",
            "must not be blank",
        ));
    }
    if value.chars().count() > max {
        return Err(CoachingError::invalid(
            field,
            "length",
            &format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

fn bad_cursor() -> CoachingError {
    CoachingError::invalid("cursor", "invalid_cursor", "the cursor is not valid")
}

/// The cursor of a list ordered by a time and an id.
pub(crate) fn time_cursor(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}|{id}", Keyset::time_key(at))
}

/// Reads a [`time_cursor`].
pub(crate) fn after_time(
    page: &PageRequest,
) -> Result<Option<(DateTime<Utc>, Uuid)>, CoachingError> {
    let Some(cursor) = page.cursor().map_err(|_| bad_cursor())? else {
        return Ok(None);
    };
    let (at, id) = cursor.0.split_once('|').ok_or_else(bad_cursor)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad_cursor())?
        .with_timezone(&Utc);
    Ok(Some((at, id.parse().map_err(|_| bad_cursor())?)))
}
