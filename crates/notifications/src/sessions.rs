//! Usage sessions (the seed's `UserSession`): when each member used Guild, per tenant — the
//! engagement the manager dashboard reads.
//!
//! A heartbeat, or an open event stream now and then, [`ping`]s the member's latest session: a
//! ping at most [`GAP`] after its last one extends it, a later one starts a new session. The
//! usual ping is one statement (an upsert on the member's one `latest` session, a partial unique
//! index); a new session after a gap costs two more, once. Time is the caller's `now`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::usage_sessions as s;
use guild_kernel::{Actor, Keyset, Page, PageRequest, TenantId, UserId};
use uuid::Uuid;

use crate::NotificationsError;

/// The longest pause within one session: a ping later than this after the last one starts a new
/// session.
pub const GAP: chrono::Duration = chrono::Duration::minutes(30);

/// The one sort of a member's sessions: newest first.
pub const SORT: &str = "-started_at";

/// One session of use.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = s)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub struct UsageSession {
    /// Its id.
    pub id: Uuid,
    /// The first ping.
    pub started_at: DateTime<Utc>,
    /// The last ping.
    pub last_ping_at: DateTime<Utc>,
}

impl UsageSession {
    /// From the first ping to the last, in whole seconds.
    pub fn duration_seconds(&self) -> i64 {
        (self.last_ping_at - self.started_at).num_seconds()
    }
}

/// Extends the member's latest session when its last ping is at most [`GAP`] before `now`;
/// answers whether it did.
async fn extend_or_start(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<bool, NotificationsError> {
    // The partial index's predicate names the arbiter; the update's WHERE leaves a stale latest
    // session alone (and the statement then writes nothing).
    let written = guild_db::sql(
        "INSERT INTO usage_sessions (tenant_id, id, user_id, started_at, last_ping_at, latest) \
         VALUES ($1, $2, $3, $4, $4, true) \
         ON CONFLICT (tenant_id, user_id) WHERE latest DO UPDATE \
           SET last_ping_at = greatest(usage_sessions.last_ping_at, excluded.last_ping_at) \
           WHERE usage_sessions.last_ping_at >= $5",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now - GAP)
    .execute(conn)
    .await?;
    Ok(written == 1)
}

/// Records that the member used Guild at `now` in `tenant`. Run it in `tenant`'s transaction.
pub async fn ping(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<(), NotificationsError> {
    if extend_or_start(conn, tenant, user, now).await? {
        return Ok(());
    }
    // The latest session ended more than the gap ago: close it, then start a new one (a ping
    // racing this one then extends the new session).
    diesel::update(
        s::table
            .filter(s::tenant_id.eq(tenant.into_uuid()))
            .filter(s::user_id.eq(user.into_uuid()))
            .filter(s::latest)
            .filter(s::last_ping_at.lt(now - GAP)),
    )
    .set(s::latest.eq(false))
    .execute(conn)
    .await?;
    extend_or_start(conn, tenant, user, now).await?;
    Ok(())
}

/// Records the actor's own use (a heartbeat): only a member of the tenant has sessions there, so
/// the platform owner acting in a tenant they do not belong to is refused (`not_a_member`).
pub async fn ping_mine(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(), NotificationsError> {
    if actor.impersonating {
        return Err(NotificationsError::NotAMember);
    }
    ping(conn, actor.tenant_id, actor.user_id, now).await
}

/// The actor's own sessions, newest first, a page at a time.
pub async fn list_mine(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<UsageSession>, NotificationsError> {
    let bad = || NotificationsError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    let limit = page.limit();
    let mut query = s::table
        .filter(s::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(s::user_id.eq(actor.user_id.into_uuid()))
        .order((s::started_at.desc(), s::id.desc()))
        .limit(i64::from(limit) + 1)
        .select(UsageSession::as_select())
        .into_boxed();
    if let Some(after) = page.keyset(SORT).map_err(|_| bad())? {
        let at = after.time().map_err(|_| bad())?;
        query = query.filter(
            s::started_at
                .lt(at)
                .or(s::started_at.eq(at).and(s::id.lt(after.id))),
        );
    }
    let rows = query.load::<UsageSession>(&mut conn).await?;
    Ok(Page::from_overfetch(rows, limit, |row: &UsageSession| {
        Keyset {
            sort: SORT.to_owned(),
            key: Keyset::time_key(row.started_at),
            id: row.id,
        }
        .raw()
    }))
}
