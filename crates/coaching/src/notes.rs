//! Quick notes: a coach's timestamped notes on a coachee between sessions.
//!
//! Owns `coaching_quick_notes`. A note is written by a coach of the coachee (never on oneself,
//! 403 `cannot_coach_self`), sealed with the keyring for its row
//! (`coaching_quick_note:<tenant>:<id>`), and read by the coach who wrote it only — the coachee
//! and the managers above never read it. Every list is audited (`coaching_quick_notes.read`, with
//! the ids read). At most [`MAX_NOTES_PER_COACHEE_PER_DAY`] notes per coach and coachee in 24
//! hours (409 `note_limit_reached`), each up to [`MAX_NOTE`] characters.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::coaching_quick_notes as n;
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, Page, PageRequest};
use uuid::Uuid;

use crate::CoachingError;
use crate::input::{after_time, text, time_cursor};
use crate::relationships::{self, Relation};
use crate::sessions::{lock_coachee, open};

/// The longest note.
pub const MAX_NOTE: usize = 5_000;
/// How many notes a coach writes on one coachee in 24 hours.
pub const MAX_NOTES_PER_COACHEE_PER_DAY: i64 = 50;

/// A quick note, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuickNote {
    /// Id.
    pub id: Uuid,
    /// The coachee it is about.
    pub coachee_id: Uuid,
    /// Its text.
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// The sealing context of a quick note.
pub(crate) fn context(tenant: Uuid, id: Uuid) -> String {
    format!("coaching_quick_note:{tenant}:{id}")
}

/// Writes a quick note on a coachee the actor coaches. Audited (without the text).
pub async fn add(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    actor: &Actor,
    coachee: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> Result<QuickNote, CoachingError> {
    relationships::coached(conn, actor, coachee).await?;
    let body = text("body", body, MAX_NOTE, false)?;
    let tenant = actor.tenant_id.into_uuid();
    let coach = actor.user_id.into_uuid();
    lock_coachee(conn, tenant, coachee).await?;
    let recent: i64 = n::table
        .filter(n::tenant_id.eq(tenant))
        .filter(n::coachee_id.eq(coachee))
        .filter(n::coach_id.eq(coach))
        .filter(n::created_at.gt(now - Duration::hours(24)))
        .count()
        .get_result(conn)
        .await?;
    if recent >= MAX_NOTES_PER_COACHEE_PER_DAY {
        return Err(CoachingError::LimitReached("note_limit_reached"));
    }
    let id = Uuid::now_v7();
    let sealed = keys.seal(&context(tenant, id), body.as_bytes())?;
    diesel::insert_into(n::table)
        .values((
            n::tenant_id.eq(tenant),
            n::id.eq(id),
            n::coach_id.eq(coach),
            n::coachee_id.eq(coachee),
            n::body_sealed.eq(&sealed),
            n::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "coaching_quick_note.created",
        "coaching_quick_note",
        Some(id.to_string()),
        serde_json::json!({ "coachee_id": coachee }),
    )
    .await?;
    Ok(QuickNote {
        id,
        coachee_id: coachee,
        body,
        created_at: now,
    })
}

/// The actor's quick notes on `coachee`, latest first. For their coaches and the managers above
/// them (each reads only what they wrote); the coachee themselves is refused (403), anyone else
/// 404. Audited with the ids read.
pub async fn list(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    actor: &Actor,
    coachee: Uuid,
    page: &PageRequest,
) -> Result<Page<QuickNote>, CoachingError> {
    match relationships::seen(conn, actor, coachee).await? {
        Relation::Own => return Err(CoachingError::Forbidden),
        Relation::Coach | Relation::Manager | Relation::None => {}
    }
    let tenant = actor.tenant_id.into_uuid();
    let mut query = n::table
        .filter(n::tenant_id.eq(tenant))
        .filter(n::coachee_id.eq(coachee))
        .filter(n::coach_id.eq(actor.user_id.into_uuid()))
        .into_boxed();
    if let Some((at, id)) = after_time(page)? {
        query = query.filter(
            n::created_at
                .lt(at)
                .or(n::created_at.eq(at).and(n::id.lt(id))),
        );
    }
    let rows: Vec<(Uuid, String, DateTime<Utc>)> = query
        .order((n::created_at.desc(), n::id.desc()))
        .limit(i64::from(page.limit()) + 1)
        .select((n::id, n::body_sealed, n::created_at))
        .load(conn)
        .await?;
    let mut notes = Vec::with_capacity(rows.len());
    for (id, sealed, created_at) in rows {
        notes.push(QuickNote {
            id,
            coachee_id: coachee,
            body: open(keys, &context(tenant, id), &sealed)?,
            created_at,
        });
    }
    let page = Page::from_overfetch(notes, page.limit(), |x| time_cursor(x.created_at, x.id));
    let ids: Vec<Uuid> = page.data.iter().map(|x| x.id).collect();
    guild_db::audit::record(
        conn,
        actor,
        "coaching_quick_notes.read",
        "user",
        Some(coachee.to_string()),
        serde_json::json!({ "note_ids": ids }),
    )
    .await?;
    Ok(page)
}
