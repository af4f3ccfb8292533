//! The manager dashboard's thresholds per tenant (`manager_dashboard_settings`, owned here):
//! after how many days without activity a member is at risk, and after how many failed attempts
//! at a quiz they have not passed. Without a row the defaults apply.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::manager_dashboard_settings as mds;
use guild_kernel::{Actor, Permission, Target, TenantId, authorize, member_scope};
use serde::Serialize;

use crate::AnalyticsError;

/// Days without activity after which a member is at risk, without a setting.
pub const DEFAULT_INACTIVE_DAYS: i32 = 14;
/// Failed attempts at one quiz not passed after which a member is at risk, without a setting.
pub const DEFAULT_FAILED_ATTEMPTS: i32 = 3;

/// The dashboard's thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Settings {
    /// A member with no activity for this many days is at risk (1–365).
    pub inactive_days: i32,
    /// A member with this many failed attempts at a quiz they have not passed is at risk (1–100).
    pub failed_attempts: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            inactive_days: DEFAULT_INACTIVE_DAYS,
            failed_attempts: DEFAULT_FAILED_ATTEMPTS,
        }
    }
}

/// The tenant's thresholds (the defaults without a row), for the caller's own pipeline.
pub(crate) async fn of_tenant(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
) -> Result<Settings, AnalyticsError> {
    let row: Option<(i32, i32)> = mds::table
        .find(tenant.into_uuid())
        .select((mds::inactive_days, mds::failed_attempts))
        .first(&mut conn)
        .await
        .optional()?;
    Ok(
        row.map_or_else(Settings::default, |(inactive_days, failed_attempts)| {
            Settings {
                inactive_days,
                failed_attempts,
            }
        }),
    )
}

/// The thresholds, for whoever sees the dashboard (VIEW_MANAGER_DASHBOARD in any scope).
pub async fn get(conn: &AsyncPgConnection, actor: &Actor) -> Result<Settings, AnalyticsError> {
    member_scope(actor, &[Permission::ViewManagerDashboard])?;
    of_tenant(conn, actor.tenant_id).await
}

/// Changes the thresholds: VIEW_MANAGER_DASHBOARD held tenant-wide (a manager scoped to their
/// team does not set the tenant's rules). Audited.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<Settings, AnalyticsError> {
    authorize(actor, Permission::ViewManagerDashboard, Target::Tenant)?;
    let mut errors = Vec::new();
    if !(1..=365).contains(&settings.inactive_days) {
        errors.push(guild_kernel::FieldError::new(
            "inactive_days",
            "range",
            "must be 1 to 365",
        ));
    }
    if !(1..=100).contains(&settings.failed_attempts) {
        errors.push(guild_kernel::FieldError::new(
            "failed_attempts",
            "range",
            "must be 1 to 100",
        ));
    }
    if !errors.is_empty() {
        return Err(AnalyticsError::Invalid(errors));
    }
    diesel::insert_into(mds::table)
        .values((
            mds::tenant_id.eq(actor.tenant_id.into_uuid()),
            mds::inactive_days.eq(settings.inactive_days),
            mds::failed_attempts.eq(settings.failed_attempts),
            mds::updated_at.eq(now),
        ))
        .on_conflict(mds::tenant_id)
        .do_update()
        .set((
            mds::inactive_days.eq(settings.inactive_days),
            mds::failed_attempts.eq(settings.failed_attempts),
            mds::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "manager_dashboard.settings_changed",
        "manager_dashboard_settings",
        None,
        serde_json::json!({
            "inactive_days": settings.inactive_days,
            "failed_attempts": settings.failed_attempts,
        }),
    )
    .await?;
    Ok(settings)
}
