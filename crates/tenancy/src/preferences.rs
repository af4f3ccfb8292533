//! Per-member, per-tenant email preferences (which notification emails to get, and how often).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::email_preferences;
use guild_kernel::{Actor, TenantId, UserId};
use serde::Serialize;

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
}

async fn ensure(conn: &mut AsyncPgConnection, actor: &Actor) -> Result<(), TenancyError> {
    diesel::insert_into(email_preferences::table)
        .values((
            email_preferences::tenant_id.eq(actor.tenant_id.into_uuid()),
            email_preferences::user_id.eq(actor.user_id.into_uuid()),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(())
}

/// The actor's own preferences in their tenant (defaults if never set).
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<EmailPreferences, TenancyError> {
    if actor.impersonating {
        return Err(TenancyError::NotAMember);
    }
    ensure(conn, actor).await?;
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
) -> Result<EmailPreferences, TenancyError> {
    get(conn, actor).await?;
    let row = diesel::update(
        email_preferences::table.find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid())),
    )
    .set((
        changes,
        changes
            .digest
            .map(|d| email_preferences::digest.eq(d.as_str())),
        email_preferences::updated_at.eq(Utc::now()),
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

/// Who gets a deadline reminder: the member's address and name.
#[derive(Debug, Clone, QueryableByName)]
pub struct Recipient {
    /// The member's email address.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub email: String,
    /// The member's name.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    wanted: bool,
}

/// The member to email a deadline reminder to, or `None` when they turned deadline reminders
/// (or every notification email) off in `tenant`, or do not exist. A member who never set
/// preferences gets them. For the worker: no actor, no tenant transaction.
pub async fn deadline_reminder_recipient(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Option<Recipient>, TenancyError> {
    let recipient: Option<Recipient> = diesel::sql_query(
        "SELECT u.email, u.name, \
                (coalesce(p.deadline_reminders, true) AND coalesce(p.digest, 'INSTANT') <> 'NEVER') AS wanted \
         FROM users u LEFT JOIN email_preferences p ON p.tenant_id = $1 AND p.user_id = u.id \
         WHERE u.id = $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(user.into_uuid())
    .get_result(conn)
    .await
    .optional()?;
    Ok(recipient.filter(|r| r.wanted))
}
