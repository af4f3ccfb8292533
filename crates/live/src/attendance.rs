//! Attendance at live events: confirmed by the member's emailed link, or in bulk by the event's
//! hosts and managers.
//!
//! Writes the attendance columns of `live_event_registrations` (`attended_at`, `confirmed_by`,
//! `link_used_at`), which [`crate::registrations`] owns with it in this crate.
//!
//! - **Links.** A link names a tenant, an event, a member and when it expires (14 days after the
//!   event ends), signed with HMAC-SHA-256 under a server secret (`GUILD_EVENT_LINK_SECRET`):
//!   `base64url(payload) "." base64url(tag)`, the tag over a version label and the payload.
//!   [`AttendanceKey::verify`] compares tags in constant time (`Mac::verify_slice`) and refuses
//!   anything it did not sign, or signed and altered since (401 `invalid_token`); an expired link
//!   is 410 `attendance_link_expired`; a link works once (`link_used_at`, set under the
//!   registration row's lock: 409 `attendance_link_used`). Only a member REGISTERED for an event
//!   that started and was not cancelled is confirmed.
//! - **Bulk.** Hosts and managers confirm registered members once the event started, never
//!   themselves (403 `cannot_confirm_own_attendance`: another host or an admin does).
//! - **Once.** [`Attended`] is published only by the write that sets `attended_at`, so the
//!   EVENT_ATTENDED XP it leads to is awarded once (the ledger is also unique per member, source
//!   and event).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::live_event_registrations as r;
use guild_kernel::{Actor, DomainEvent, TenantId, UserId};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use crate::LiveError;
use crate::events::{self, EventRow, EventStatus};
use crate::registrations::RegistrationStatus;

/// Signed into every tag, so a tag made for another purpose with the same key never verifies.
const LABEL: &[u8] = b"guild-event-attendance-v1\0";
/// The longest token [`AttendanceKey::verify`] looks at.
pub const MAX_TOKEN_LEN: usize = 256;
/// How long after the event ends its links work.
pub const LINK_DAYS: i64 = 14;
/// The most members one bulk confirmation names.
pub const MAX_BULK: usize = 500;

/// Who and what a link confirms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// The tenant.
    pub tenant: TenantId,
    /// The event.
    pub event: Uuid,
    /// The member.
    pub user: UserId,
    /// Until when it works.
    pub expires_at: DateTime<Utc>,
}

/// The secret attendance links are signed with.
#[derive(Clone)]
pub struct AttendanceKey(Vec<u8>);

impl std::fmt::Debug for AttendanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AttendanceKey(…)")
    }
}

impl AttendanceKey {
    /// A key from a secret (at least 32 bytes in production; the configuration checks).
    pub fn new(secret: &[u8]) -> Self {
        Self(secret.to_vec())
    }

    fn mac(&self) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(LABEL);
        mac
    }

    /// A token for `link`.
    pub fn sign(&self, link: &Link) -> String {
        let mut payload = Vec::with_capacity(56);
        payload.extend_from_slice(link.tenant.into_uuid().as_bytes());
        payload.extend_from_slice(link.event.as_bytes());
        payload.extend_from_slice(link.user.into_uuid().as_bytes());
        payload.extend_from_slice(&link.expires_at.timestamp().to_be_bytes());
        let mut mac = self.mac();
        mac.update(&payload);
        let tag = mac.finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// What `token` names, if this key signed it exactly as it is (expired or not).
    pub fn verify(&self, token: &str) -> Result<Link, LiveError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(LiveError::InvalidLink);
        }
        let (payload, tag) = token.split_once('.').ok_or(LiveError::InvalidLink)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| LiveError::InvalidLink)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| LiveError::InvalidLink)?;
        let mut mac = self.mac();
        mac.update(&payload);
        // Constant time: `verify_slice` compares every byte whatever the first difference.
        mac.verify_slice(&tag).map_err(|_| LiveError::InvalidLink)?;
        if payload.len() != 56 {
            return Err(LiveError::InvalidLink);
        }
        let id = |at: usize| Uuid::from_slice(&payload[at..at + 16]);
        let (Ok(tenant), Ok(event), Ok(user)) = (id(0), id(16), id(32)) else {
            return Err(LiveError::InvalidLink);
        };
        let mut secs = [0u8; 8];
        secs.copy_from_slice(&payload[48..56]);
        let expires_at =
            DateTime::from_timestamp(i64::from_be_bytes(secs), 0).ok_or(LiveError::InvalidLink)?;
        Ok(Link {
            tenant: TenantId(tenant),
            event,
            user: UserId(user),
            expires_at,
        })
    }
}

/// A member's attendance was confirmed: the api layer awards EVENT_ATTENDED XP (once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attended {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The event.
    pub event_id: Uuid,
    /// The member.
    pub user_id: Uuid,
}

impl DomainEvent for Attended {
    const KIND: &'static str = "live.attended";
}

/// The link of `user` for an event ending at `ends_at`.
pub fn link_for(tenant: TenantId, event: Uuid, user: Uuid, ends_at: DateTime<Utc>) -> Link {
    Link {
        tenant,
        event,
        user: UserId(user),
        expires_at: ends_at + Duration::days(LINK_DAYS),
    }
}

fn check_started(row: &EventRow, now: DateTime<Utc>) -> Result<(), LiveError> {
    if row.status == EventStatus::Cancelled {
        return Err(LiveError::NotScheduled);
    }
    if row.starts_at > now {
        return Err(LiveError::NotStarted);
    }
    Ok(())
}

#[derive(Queryable)]
struct Held {
    status: String,
    attended_at: Option<DateTime<Utc>>,
    link_used_at: Option<DateTime<Utc>>,
}

/// Confirms the attendance a verified `link` names, in a transaction of `link.tenant`. Returns
/// when it was confirmed. Expired (410), used (409), or not a registration of an event that
/// started (404 `registration_not_found`, 409) are refused.
pub async fn confirm_by_link(
    conn: &mut AsyncPgConnection,
    link: &Link,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, LiveError> {
    if now > link.expires_at {
        return Err(LiveError::LinkExpired);
    }
    let tenant = link.tenant.into_uuid();
    let user = link.user.into_uuid();
    let row: EventRow = guild_db::schema::live_events::table
        .find((tenant, link.event))
        .select(EventRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(events::not_found)?;
    let held: Held = r::table
        .find((tenant, link.event, user))
        .select((r::status, r::attended_at, r::link_used_at))
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(LiveError::NotFound("registration_not_found"))?;
    if held.link_used_at.is_some() {
        return Err(LiveError::LinkUsed);
    }
    if held.status != RegistrationStatus::Registered.as_str() {
        return Err(LiveError::NotFound("registration_not_found"));
    }
    check_started(&row, now)?;
    let attended = held.attended_at.unwrap_or(now);
    diesel::update(r::table.find((tenant, link.event, user)))
        .set((
            r::link_used_at.eq(now),
            r::attended_at.eq(attended),
            r::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    if held.attended_at.is_none() {
        guild_db::outbox::publish(
            conn,
            Some(link.tenant),
            &Attended {
                tenant_id: tenant,
                event_id: link.event,
                user_id: user,
            },
        )
        .await?;
    }
    Ok(attended)
}

/// What a bulk confirmation did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confirmed {
    /// Confirmed now.
    pub confirmed: Vec<Uuid>,
    /// Confirmed before, not registered, or not members.
    pub skipped: Vec<Uuid>,
}

#[derive(QueryableByName)]
struct Who {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Confirms the attendance of registered `users` (the event's hosts and managers, once it
/// started and unless it was cancelled), never the actor's own (403). Audited.
pub async fn confirm_bulk(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    users: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Confirmed, LiveError> {
    if users.is_empty() || users.len() > MAX_BULK {
        return Err(LiveError::invalid(
            "user_ids",
            "length",
            &format!("name 1 to {MAX_BULK} members"),
        ));
    }
    let row = events::visible(conn, actor, event, false).await?;
    if !events::may_host(conn, actor, &row).await? {
        return Err(LiveError::Forbidden);
    }
    if users.contains(&actor.user_id.into_uuid()) {
        return Err(LiveError::CannotConfirmOwnAttendance);
    }
    check_started(&row, now)?;
    let tenant = actor.tenant_id.into_uuid();
    let done: Vec<Who> = guild_db::sql(
        "UPDATE live_event_registrations SET attended_at = $4, confirmed_by = $5, updated_at = $4 \
         WHERE tenant_id = $1 AND event_id = $2 AND user_id = ANY($3) \
           AND status = 'REGISTERED' AND attended_at IS NULL \
         RETURNING user_id",
    )
    .bind::<SqlUuid, _>(tenant)
    .bind::<SqlUuid, _>(event)
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Timestamptz, _>(now)
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .load(conn)
    .await?;
    let mut confirmed: Vec<Uuid> = done.into_iter().map(|w| w.user_id).collect();
    confirmed.sort_unstable();
    for user in &confirmed {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &Attended {
                tenant_id: tenant,
                event_id: event,
                user_id: *user,
            },
        )
        .await?;
    }
    let skipped = users
        .iter()
        .copied()
        .filter(|u| confirmed.binary_search(u).is_err())
        .collect();
    guild_db::audit::record(
        conn,
        actor,
        "live_event.attendance_confirmed",
        "live_event",
        Some(event.to_string()),
        serde_json::json!({ "confirmed": confirmed.len() }),
    )
    .await?;
    Ok(Confirmed { confirmed, skipped })
}

/// A registrant who gets an attendance link.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Invitee {
    /// The member.
    #[diesel(sql_type = SqlUuid)]
    pub user_id: Uuid,
    /// Their address.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub email: String,
    /// Their name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
}

/// The active members REGISTERED for `event` whose attendance is not confirmed and whose link
/// is unused: who is sent an attendance link.
pub async fn invitees(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    event: Uuid,
) -> Result<Vec<Invitee>, LiveError> {
    Ok(guild_db::sql(
        "SELECT x.user_id, u.email, u.name FROM live_event_registrations x \
         JOIN users u ON u.id = x.user_id \
         JOIN memberships m ON m.tenant_id = x.tenant_id AND m.user_id = x.user_id \
           AND m.status = 'ACTIVE' \
         WHERE x.tenant_id = $1 AND x.event_id = $2 AND x.status = 'REGISTERED' \
           AND x.attended_at IS NULL AND x.link_used_at IS NULL ORDER BY x.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(event)
    .load(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        Link {
            tenant: TenantId(Uuid::now_v7()),
            event: Uuid::now_v7(),
            user: UserId(Uuid::now_v7()),
            expires_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        }
    }

    #[test]
    fn a_link_verifies_as_signed_and_not_once_altered_or_under_another_key() {
        let key = AttendanceKey::new(b"0123456789abcdef0123456789abcdef");
        let link = link();
        let token = key.sign(&link);
        assert_eq!(key.verify(&token).ok(), Some(link));
        let other = AttendanceKey::new(b"fedcba9876543210fedcba9876543210");
        assert!(matches!(other.verify(&token), Err(LiveError::InvalidLink)));
        // Every single-character change of the token is refused.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap_or_default();
            if altered != token {
                assert!(key.verify(&altered).is_err(), "{altered}");
            }
        }
        assert!(key.verify("").is_err());
        assert!(key.verify(&"A".repeat(MAX_TOKEN_LEN + 1)).is_err());
    }
}
