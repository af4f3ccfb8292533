//! Per-member, per-tenant email preferences (which notification emails to get, and how often):
//! six category switches, per-type switches on top (`type_overrides`, keyed by notification
//! type; the notifications crate maps each type to its category and reads these to decide), and
//! the frequency. Written by the member ([`update`]) and by an unsubscribe link ([`unsubscribe`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{email_preferences, memberships};
use guild_kernel::{Actor, TenantId, UserId};
use serde::Serialize;
use uuid::Uuid;

use crate::{TenancyError, audit};

guild_kernel::string_enum!(
    /// How often notification emails are sent.
    DigestFrequency {
        /// One email per notification.
        Instant => "INSTANT",
        /// One digest a day.
        Daily => "DAILY",
        /// One digest a week.
        Weekly => "WEEKLY",
        /// No notification emails.
        Never => "NEVER",
    }
);

/// A member's email preferences in one tenant.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = email_preferences)]
pub struct EmailPreferences {
    /// New modules published.
    pub new_modules: bool,
    /// Deadline reminders.
    pub deadline_reminders: bool,
    /// Quiz results.
    pub quiz_results: bool,
    /// Replies to comments.
    pub comment_replies: bool,
    /// Certificates issued or expiring.
    pub certificates: bool,
    /// Reward redemptions.
    pub rewards: bool,
    /// How often.
    #[diesel(deserialize_as = String)]
    pub digest: DigestFrequency,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Per-type switches (`{"QUIZ_RESULT": false}`), over the category switches.
    #[diesel(deserialize_as = serde_json::Value)]
    pub type_overrides: TypeOverrides,
}

/// Per-type switches: a notification type's name and whether its emails are wanted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TypeOverrides(pub BTreeMap<String, bool>);

impl From<serde_json::Value> for TypeOverrides {
    fn from(value: serde_json::Value) -> Self {
        Self(
            value
                .as_object()
                .map(|map| {
                    map.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_bool()?)))
                        .collect()
                })
                .unwrap_or_default(),
        )
    }
}

impl TypeOverrides {
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::Bool(*v)))
                .collect(),
        )
    }
}

/// Changes; `None` keeps the current value.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = email_preferences)]
pub struct PreferenceChanges {
    /// New modules published.
    pub new_modules: Option<bool>,
    /// Deadline reminders.
    pub deadline_reminders: Option<bool>,
    /// Quiz results.
    pub quiz_results: Option<bool>,
    /// Replies to comments.
    pub comment_replies: Option<bool>,
    /// Certificates.
    pub certificates: Option<bool>,
    /// Rewards.
    pub rewards: Option<bool>,
    /// How often.
    #[diesel(skip_update)]
    pub digest: Option<DigestFrequency>,
    /// Per-type switches to set (`Some`) or clear (`None`: the category decides again), by
    /// notification type name (the caller checks the names).
    #[diesel(skip_update)]
    pub types: BTreeMap<String, Option<bool>>,
}

/// Stores the defaults for the member unless they have preferences.
async fn ensure(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<(), TenancyError> {
    diesel::insert_into(email_preferences::table)
        .values((
            email_preferences::tenant_id.eq(tenant.into_uuid()),
            email_preferences::user_id.eq(user.into_uuid()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// The member's per-type switches, their row locked until the transaction ends (so two changes
/// of different types both land).
async fn locked_overrides(
    conn: &mut AsyncPgConnection,
    key: (Uuid, Uuid),
) -> Result<TypeOverrides, TenancyError> {
    Ok(email_preferences::table
        .find(key)
        .select(email_preferences::type_overrides)
        .for_update()
        .first::<serde_json::Value>(conn)
        .await?
        .into())
}

/// The actor's own preferences in their tenant (defaults if never set).
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<EmailPreferences, TenancyError> {
    if actor.impersonating {
        return Err(TenancyError::NotAMember);
    }
    ensure(conn, actor.tenant_id, actor.user_id).await?;
    Ok(email_preferences::table
        .find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid()))
        .select(EmailPreferences::as_select())
        .first(conn)
        .await?)
}

/// Changes the actor's own preferences.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    changes: &PreferenceChanges,
    now: DateTime<Utc>,
) -> Result<EmailPreferences, TenancyError> {
    get(conn, actor).await?;
    let key = (actor.tenant_id.into_uuid(), actor.user_id.into_uuid());
    let mut overrides = locked_overrides(conn, key).await?;
    for (kind, on) in &changes.types {
        match on {
            Some(on) => overrides.0.insert(kind.clone(), *on),
            None => overrides.0.remove(kind),
        };
    }
    let row = diesel::update(email_preferences::table.find(key))
        .set((
            changes,
            changes
                .digest
                .map(|d| email_preferences::digest.eq(d.as_str())),
            email_preferences::type_overrides.eq(overrides.to_json()),
            email_preferences::updated_at.eq(now),
        ))
        .returning(EmailPreferences::as_returning())
        .get_result(conn)
        .await?;
    audit::record(
        conn,
        actor,
        "EMAIL_PREFERENCES_UPDATED",
        "member",
        Some(actor.user_id.to_string()),
        serde_json::to_value(&row).unwrap_or_default(),
    )
    .await?;
    Ok(row)
}

/// The member's preferences in `tenant` as an unsubscribe link finds them (the defaults if they
/// never set any, without storing them), or `None` when they are not a member of it. No actor:
/// the link's signed token names the tenant and member. Run it in a transaction for `tenant`.
pub async fn of_member(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<Option<EmailPreferences>, TenancyError> {
    let member: Option<Uuid> = memberships::table
        .filter(memberships::tenant_id.eq(tenant.into_uuid()))
        .filter(memberships::user_id.eq(user.into_uuid()))
        .select(memberships::user_id)
        .first(conn)
        .await
        .optional()?;
    if member.is_none() {
        return Ok(None);
    }
    let stored = email_preferences::table
        .find((tenant.into_uuid(), user.into_uuid()))
        .select(EmailPreferences::as_select())
        .first(conn)
        .await
        .optional()?;
    Ok(Some(stored.unwrap_or(EmailPreferences {
        new_modules: true,
        deadline_reminders: true,
        quiz_results: true,
        comment_replies: true,
        certificates: true,
        rewards: true,
        digest: DigestFrequency::Instant,
        updated_at: now,
        type_overrides: TypeOverrides::default(),
    })))
}

/// Turns off, for the member in `tenant`, the emails of notification type `kind` (its per-type
/// switch), or every notification email when `kind` is `None` (the frequency becomes NEVER).
/// Answers the preferences after the change, or `None` when they are not a member. Recorded in
/// the tenant's audit log as the member's own change. Run it in a transaction for `tenant`.
pub async fn unsubscribe(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    kind: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<EmailPreferences>, TenancyError> {
    let Some(current) = of_member(conn, tenant, user, now).await? else {
        return Ok(None);
    };
    let key = (tenant.into_uuid(), user.into_uuid());
    ensure(conn, tenant, user).await?;
    let row = match kind {
        Some(kind) => {
            let mut overrides = locked_overrides(conn, key).await?;
            if overrides.0.get(kind) == Some(&false) {
                return Ok(Some(current));
            }
            overrides.0.insert(kind.to_owned(), false);
            diesel::update(email_preferences::table.find(key))
                .set((
                    email_preferences::type_overrides.eq(overrides.to_json()),
                    email_preferences::updated_at.eq(now),
                ))
                .returning(EmailPreferences::as_returning())
                .get_result(conn)
                .await?
        }
        None if current.digest == DigestFrequency::Never => return Ok(Some(current)),
        None => {
            diesel::update(email_preferences::table.find(key))
                .set((
                    email_preferences::digest.eq(DigestFrequency::Never.as_str()),
                    email_preferences::updated_at.eq(now),
                ))
                .returning(EmailPreferences::as_returning())
                .get_result(conn)
                .await?
        }
    };
    guild_db::audit::record_for_user_in(
        conn,
        &[tenant.into_uuid()],
        user.into_uuid(),
        "EMAIL_UNSUBSCRIBED",
    )
    .await?;
    Ok(Some(row))
}
