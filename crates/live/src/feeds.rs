//! A member's personal calendar feed: one secret URL per member that calendar applications
//! (Google Calendar, Outlook, Apple Calendar) subscribe to, holding the live events the member
//! holds a seat for and the due dates of the modules assigned to them.
//!
//! Owns `calendar_feeds`. The URL's token is `<tenant id>.<secret>`: the tenant says where to
//! look, the secret (32 random bytes, base64url) is stored as its SHA-256 only and shown once.
//! Issuing a new URL revokes the old one; deleting it revokes it; a member who is no longer
//! ACTIVE has no feed. An unknown, revoked or malformed token is 404, whatever made it wrong.
//!
//! The feed reads learning's assignments ([`guild_learning::assignments_sql`]) and progress's
//! `module_completions` (a completed module has no due date left) in SQL.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{Date, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{calendar_feeds as f, live_event_registrations as r, live_events as e};
use guild_kernel::{Actor, TenantId};
use icalendar::{Component, EventLike, Property};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::LiveError;
use crate::calendar;
use crate::events::{Event, EventRow};
use crate::registrations::RegistrationStatus;

/// How far back the feed keeps events the member attended or held a seat for.
pub const PAST_DAYS: i64 = 90;
/// The most events one feed lists (the soonest upcoming first, then the most recent past).
pub const MAX_EVENTS: i64 = 500;
/// The most due dates one feed lists.
pub const MAX_DUE_DATES: i64 = 500;

/// A feed as its owner sees it (the secret is never shown again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    /// When the current URL was issued.
    pub created_at: DateTime<Utc>,
    /// When a calendar application last read it.
    pub last_read_at: Option<DateTime<Utc>>,
}

/// A new feed URL's token, shown once.
#[derive(Debug, Clone)]
pub struct Issued {
    /// `<tenant id>.<secret>`: the last segment of the feed's URL.
    pub token: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
}

fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Splits a feed token into its tenant and secret (`None`: not a feed token).
pub fn parse(token: &str) -> Option<(TenantId, &str)> {
    let token = token.strip_suffix(".ics").unwrap_or(token);
    let (tenant, secret) = token.split_once('.')?;
    let tenant = Uuid::try_parse(tenant).ok()?;
    let well_formed = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some((TenantId(tenant), secret))
}

fn member(actor: &Actor) -> Result<(), LiveError> {
    if actor.acts_as_member() {
        Ok(())
    } else {
        Err(LiveError::Forbidden)
    }
}

/// Issues the actor's feed URL, revoking the one they had.
pub async fn issue(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Issued, LiveError> {
    member(actor)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        LiveError::Db(guild_db::DbError::Unavailable(format!(
            "no randomness: {e}"
        )))
    })?;
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    diesel::insert_into(f::table)
        .values((
            f::tenant_id.eq(actor.tenant_id.into_uuid()),
            f::user_id.eq(actor.user_id.into_uuid()),
            f::secret_hash.eq(hash(&secret)),
            f::created_at.eq(now),
        ))
        .on_conflict((f::tenant_id, f::user_id))
        .do_update()
        .set((
            f::secret_hash.eq(hash(&secret)),
            f::created_at.eq(now),
            f::last_read_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;
    Ok(Issued {
        token: format!("{}.{secret}", actor.tenant_id.into_uuid()),
        created_at: now,
    })
}

/// The actor's feed, if they have one (404 `calendar_feed_not_found` otherwise).
pub async fn get(mut conn: &AsyncPgConnection, actor: &Actor) -> Result<Feed, LiveError> {
    member(actor)?;
    f::table
        .find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid()))
        .select((f::created_at, f::last_read_at))
        .first::<(DateTime<Utc>, Option<DateTime<Utc>>)>(&mut conn)
        .await
        .optional()?
        .map(|(created_at, last_read_at)| Feed {
            created_at,
            last_read_at,
        })
        .ok_or(LiveError::NotFound("calendar_feed_not_found"))
}

/// Revokes the actor's feed URL (404 `calendar_feed_not_found` when they have none).
pub async fn revoke(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<(), LiveError> {
    member(actor)?;
    let deleted =
        diesel::delete(f::table.find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid())))
            .execute(conn)
            .await?;
    if deleted == 0 {
        return Err(LiveError::NotFound("calendar_feed_not_found"));
    }
    Ok(())
}

#[derive(QueryableByName)]
struct DueRow {
    #[diesel(sql_type = SqlUuid)]
    module_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Date)]
    due_on: NaiveDate,
}

/// The calendar behind the feed whose secret is `secret` in `tenant` (`None`: no such feed, or
/// its member is no longer ACTIVE): the events the member holds a seat for from
/// [`PAST_DAYS`] ago on (cancelled ones say so), and an all-day entry on the due date of each
/// assigned module they have not completed. `host` names the server in UIDs.
pub async fn calendar(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    secret: &str,
    host: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, LiveError> {
    use guild_db::schema::memberships as m;
    let owner: Option<Uuid> = f::table
        .inner_join(m::table.on(m::tenant_id.eq(f::tenant_id).and(m::user_id.eq(f::user_id))))
        .filter(f::tenant_id.eq(tenant.into_uuid()))
        .filter(f::secret_hash.eq(hash(secret)))
        .filter(m::status.eq("ACTIVE"))
        .select(f::user_id)
        .first(conn)
        .await
        .optional()?;
    let Some(user) = owner else {
        return Ok(None);
    };
    diesel::update(f::table.find((tenant.into_uuid(), user)))
        .set(f::last_read_at.eq(now))
        .execute(conn)
        .await?;

    let rows: Vec<EventRow> = e::table
        .inner_join(r::table.on(r::tenant_id.eq(e::tenant_id).and(r::event_id.eq(e::id))))
        .filter(e::tenant_id.eq(tenant.into_uuid()))
        .filter(r::user_id.eq(user))
        .filter(r::status.eq(RegistrationStatus::Registered.as_str()))
        .filter(e::ends_at.ge(now - Duration::days(PAST_DAYS)))
        .order((e::starts_at, e::id))
        .limit(MAX_EVENTS)
        .select(EventRow::as_select())
        .load(conn)
        .await?;
    let due: Vec<DueRow> = guild_db::sql(concat!(
        "SELECT a.module_id, m.title, (a.due_at AT TIME ZONE 'UTC')::date AS due_on FROM (",
        guild_learning::assignments_sql!(),
        ") a \
         JOIN modules m ON m.tenant_id = a.tenant_id AND m.id = a.module_id \
         WHERE a.user_id = $2 AND a.due_at IS NOT NULL AND m.status = 'PUBLISHED' \
           AND NOT EXISTS (SELECT 1 FROM module_completions c WHERE c.tenant_id = a.tenant_id \
                 AND c.user_id = a.user_id AND c.module_id = a.module_id \
                 AND c.archived_at IS NULL) \
         ORDER BY a.due_at, a.module_id LIMIT $3"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user)
    .bind::<diesel::sql_types::BigInt, _>(MAX_DUE_DATES)
    .load(conn)
    .await?;

    let mut ics = calendar::calendar("My calendar", calendar::Method::Publish);
    ics.append_property(Property::new("X-WR-CALNAME", "Guild"))
        .append_property(Property::new("X-PUBLISHED-TTL", "PT1H"))
        .append_property(
            Property::new("REFRESH-INTERVAL", "PT1H")
                .add_parameter("VALUE", "DURATION")
                .done(),
        );
    let events: Vec<Event> = rows.into_iter().map(Event::from).collect();
    for event in &events {
        ics.push(calendar::vevent(event, host, now));
    }
    for d in due {
        let mut entry = icalendar::Event::new();
        entry
            .uid(&format!("due-{}-{}@{host}", d.module_id, user))
            .sequence(0)
            .timestamp(now)
            .summary(&format!("Due: {}", d.title))
            .all_day(d.due_on);
        ics.push(entry.done());
    }
    Ok(Some(calendar::with_zones(
        ics.done().to_string(),
        &calendar::zones_for(&events),
    )))
}
