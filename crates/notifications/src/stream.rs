//! Each member's event stream: what is pushed to them (notifications, the progress of their
//! jobs and the changes of the chat rooms they joined now; the feed later), numbered per member and kept for a window, so a client
//! that reconnects with the last id it saw receives exactly what it missed, in order.
//!
//! [`append`] numbers an event from the member's head row, whose lock is held until the writing
//! transaction ends: one member's events commit in `seq` order. The caller publishes the event
//! (the kernel's `PubSub`) after its transaction commits; a publish that is lost is healed by the
//! next read [`since`] the last id a stream sent.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{member_stream_events as e, member_stream_heads as h};
use guild_kernel::{TenantId, UserId};
use serde::{Deserialize, Serialize};

use crate::NotificationsError;

/// The most events [`since`] returns at once.
pub const MAX_BATCH: i64 = 500;

/// One event of a member's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = e)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct StreamEvent {
    /// Its number in the member's stream (the SSE `id`).
    pub seq: i64,
    /// The SSE event type (`notification`, …).
    pub kind: String,
    /// The SSE data, as JSON.
    pub payload: serde_json::Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// What a stream resuming after a given id receives.
#[derive(Debug, Clone, PartialEq)]
pub enum Resume {
    /// These events, in order (possibly none); more may follow when `more` is set.
    Events {
        /// The events after the id, oldest first, at most [`MAX_BATCH`].
        events: Vec<StreamEvent>,
        /// More events follow the last one returned.
        more: bool,
    },
    /// Events after the id are no longer kept (or the id was never given out): the client must
    /// refetch its state; the stream continues after `head`.
    Reset {
        /// The member's last event id now.
        head: i64,
    },
}

/// Appends an event to the member's stream in `tenant`; answers it with its `seq`.
///
/// Run it in the transaction that makes the change the event tells of, for `tenant`.
pub async fn append(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    kind: &str,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<StreamEvent, NotificationsError> {
    check_kind(kind)?;
    let seq: i64 = diesel::insert_into(h::table)
        .values((
            h::tenant_id.eq(tenant.into_uuid()),
            h::user_id.eq(user.into_uuid()),
            h::last_seq.eq(1_i64),
        ))
        .on_conflict((h::tenant_id, h::user_id))
        .do_update()
        .set(h::last_seq.eq(h::last_seq + 1))
        .returning(h::last_seq)
        .get_result(conn)
        .await?;
    Ok(diesel::insert_into(e::table)
        .values((
            e::tenant_id.eq(tenant.into_uuid()),
            e::user_id.eq(user.into_uuid()),
            e::seq.eq(seq),
            e::kind.eq(kind),
            e::payload.eq(payload),
            e::created_at.eq(now),
        ))
        .returning(StreamEvent::as_returning())
        .get_result(conn)
        .await?)
}

#[derive(QueryableByName)]
struct Head {
    #[diesel(sql_type = SqlUuid)]
    user_id: uuid::Uuid,
    #[diesel(sql_type = BigInt)]
    last_seq: i64,
}

#[derive(QueryableByName)]
struct Appended {
    #[diesel(sql_type = SqlUuid)]
    user_id: uuid::Uuid,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Jsonb)]
    payload: serde_json::Value,
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    created_at: DateTime<Utc>,
}

/// [`append`] for many members at once (one event each, at most one per member): two statements
/// whatever their number. The heads are taken in user order, so two such batches over the same
/// members lock them in the same order. Answers each member's event.
pub async fn append_many(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    kind: &str,
    events: &[(UserId, serde_json::Value)],
    now: DateTime<Utc>,
) -> Result<Vec<(UserId, StreamEvent)>, NotificationsError> {
    use diesel::sql_types::{Array, Jsonb, Text, Timestamptz};
    check_kind(kind)?;
    let mut events: Vec<(uuid::Uuid, &serde_json::Value)> = events
        .iter()
        .map(|(user, payload)| (user.into_uuid(), payload))
        .collect();
    events.sort_by_key(|(user, _)| *user);
    events.dedup_by_key(|(user, _)| *user);
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let users: Vec<uuid::Uuid> = events.iter().map(|(user, _)| *user).collect();
    let heads: Vec<Head> = guild_db::sql(
        "INSERT INTO member_stream_heads (tenant_id, user_id, last_seq) \
         SELECT $1, u, 1 FROM unnest($2::uuid[]) AS u ORDER BY u \
         ON CONFLICT (tenant_id, user_id) \
         DO UPDATE SET last_seq = member_stream_heads.last_seq + 1 \
         RETURNING user_id, last_seq",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(&users)
    .load(conn)
    .await?;
    let seq: std::collections::HashMap<uuid::Uuid, i64> =
        heads.into_iter().map(|h| (h.user_id, h.last_seq)).collect();
    let seqs: Vec<i64> = users
        .iter()
        .map(|u| seq.get(u).copied().unwrap_or(0))
        .collect();
    let payloads: Vec<serde_json::Value> = events.iter().map(|(_, p)| (*p).clone()).collect();
    let written: Vec<Appended> = guild_db::sql(
        "INSERT INTO member_stream_events (tenant_id, user_id, seq, kind, payload, created_at) \
         SELECT $1, t.user_id, t.seq, $4, t.payload, $5 \
         FROM unnest($2::uuid[], $3::int8[], $6::jsonb[]) AS t(user_id, seq, payload) \
         RETURNING user_id, seq, kind, payload, created_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(&users)
    .bind::<Array<BigInt>, _>(&seqs)
    .bind::<Text, _>(kind)
    .bind::<Timestamptz, _>(now)
    .bind::<Array<Jsonb>, _>(&payloads)
    .load(conn)
    .await?;
    let mut out: Vec<(UserId, StreamEvent)> = written
        .into_iter()
        .map(|a| {
            (
                UserId(a.user_id),
                StreamEvent {
                    seq: a.seq,
                    kind: a.kind,
                    payload: a.payload,
                    created_at: a.created_at,
                },
            )
        })
        .collect();
    out.sort_by_key(|(user, _)| user.into_uuid());
    Ok(out)
}

fn check_kind(kind: &str) -> Result<(), NotificationsError> {
    let kind_ok = kind.len() <= 64
        && kind.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'.');
    if kind_ok {
        Ok(())
    } else {
        Err(NotificationsError::invalid(
            "kind",
            "invalid_kind",
            "lowercase letters, `_` and `.`, at most 64",
        ))
    }
}

/// The member's last event id (0 before their first event).
pub async fn head(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<i64, NotificationsError> {
    Ok(h::table
        .filter(h::tenant_id.eq(tenant.into_uuid()))
        .filter(h::user_id.eq(user.into_uuid()))
        .select(h::last_seq)
        .first::<i64>(&mut conn)
        .await
        .optional()?
        .unwrap_or(0))
}

#[derive(QueryableByName)]
struct Bounds {
    #[diesel(sql_type = BigInt)]
    head: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    oldest: Option<i64>,
}

/// What follows `after` in the member's stream: the events kept after it, or a reset when some
/// of them are no longer kept or `after` is beyond the last id given out.
pub async fn since(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    after: i64,
) -> Result<Resume, NotificationsError> {
    let bounds: Bounds = guild_db::sql(
        "SELECT coalesce((SELECT last_seq FROM member_stream_heads \
                           WHERE tenant_id = $1 AND user_id = $2), 0) AS head, \
                (SELECT min(seq) FROM member_stream_events \
                  WHERE tenant_id = $1 AND user_id = $2) AS oldest",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .get_result(&mut conn)
    .await?;
    let missing = after < 0
        || after > bounds.head
        || (after < bounds.head && bounds.oldest.is_none_or(|oldest| oldest > after + 1));
    if missing {
        return Ok(Resume::Reset { head: bounds.head });
    }
    if after == bounds.head {
        return Ok(Resume::Events {
            events: Vec::new(),
            more: false,
        });
    }
    let mut events: Vec<StreamEvent> = e::table
        .filter(e::tenant_id.eq(tenant.into_uuid()))
        .filter(e::user_id.eq(user.into_uuid()))
        .filter(e::seq.gt(after))
        .order(e::seq.asc())
        .limit(MAX_BATCH + 1)
        .select(StreamEvent::as_select())
        .load(&mut conn)
        .await?;
    let more = events.len() > MAX_BATCH as usize;
    events.truncate(MAX_BATCH as usize);
    Ok(Resume::Events { events, more })
}

/// Removes events written before `before` in `tenant` (the retention window); answers how many.
/// The heads stay, so ids keep rising and an older id resumes as a reset.
pub async fn prune(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    before: DateTime<Utc>,
) -> Result<usize, NotificationsError> {
    Ok(diesel::delete(
        e::table
            .filter(e::tenant_id.eq(tenant.into_uuid()))
            .filter(e::created_at.lt(before)),
    )
    .execute(conn)
    .await?)
}

/// The channel a member's stream events are published on.
pub fn channel(tenant: TenantId, user: UserId) -> String {
    format!("stream:{}:{}", tenant.into_uuid(), user.into_uuid())
}
