//! The daily cap on invitation emails, so a tenant (a self-signed-up FREE one above all) cannot
//! use Guild to send mail in bulk.
//!
//! Each invitation takes one unit of the tenant's count for the current UTC day with a
//! conditional upsert in the invitation's own transaction: concurrent invitations serialize on
//! the day's row and never pass the cap together, and a failed invitation gives its unit back by
//! rolling back.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{invitation_quota, tenants};
use guild_kernel::TenantId;

use crate::TenancyError;

/// Invitation emails a tenant may send per UTC day, by plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InviteCaps {
    /// FREE tenants.
    pub free: u32,
    /// STARTER tenants.
    pub starter: u32,
    /// PRO tenants.
    pub pro: u32,
}

impl Default for InviteCaps {
    fn default() -> Self {
        Self {
            free: 20,
            starter: 500,
            pro: 5000,
        }
    }
}

impl InviteCaps {
    /// The cap of `plan` (an unknown plan gets FREE's).
    pub fn for_plan(&self, plan: &str) -> u32 {
        match plan {
            "PRO" => self.pro,
            "STARTER" => self.starter,
            _ => self.free,
        }
    }
}

/// A tenant's cap today and what is left of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    /// The tenant's plan.
    pub plan: String,
    /// Invitations per UTC day on that plan.
    pub cap: u32,
    /// Invitations left today.
    pub left: u32,
}

/// The tenant's cap and what is left of it today.
pub async fn allowance(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    caps: &InviteCaps,
    now: DateTime<Utc>,
) -> Result<Allowance, TenancyError> {
    let plan: String = tenants::table
        .find(tenant.into_uuid())
        .select(tenants::plan)
        .first(conn)
        .await?;
    let sent: Option<i32> = invitation_quota::table
        .find((tenant.into_uuid(), now.date_naive()))
        .select(invitation_quota::sent)
        .first(conn)
        .await
        .optional()?;
    let cap = caps.for_plan(&plan);
    let sent = u32::try_from(sent.unwrap_or(0)).unwrap_or(0);
    Ok(Allowance {
        plan,
        cap,
        left: cap.saturating_sub(sent),
    })
}

#[derive(QueryableByName)]
struct Sent {
    #[diesel(sql_type = Integer)]
    #[expect(dead_code, reason = "read to tell a taken unit from a refused one")]
    sent: i32,
}

/// Takes `count` invitations from today's allowance, or fails with `InvitationCapReached`.
pub async fn take(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    count: u32,
    caps: &InviteCaps,
    now: DateTime<Utc>,
) -> Result<(), TenancyError> {
    let plan: String = tenants::table
        .find(tenant.into_uuid())
        .select(tenants::plan)
        .first(conn)
        .await?;
    let cap = caps.for_plan(&plan);
    let refused = || TenancyError::InvitationCapReached {
        cap,
        plan: plan.clone(),
    };
    if count > cap {
        return Err(refused());
    }
    let taken: Option<Sent> = guild_db::sql(
        "INSERT INTO invitation_quota (tenant_id, day, sent) VALUES ($1, $2, $3) \
         ON CONFLICT (tenant_id, day) DO UPDATE SET sent = invitation_quota.sent + EXCLUDED.sent \
         WHERE invitation_quota.sent + EXCLUDED.sent <= $4 \
         RETURNING sent",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Date, _>(now.date_naive())
    .bind::<Integer, _>(i32::try_from(count).unwrap_or(i32::MAX))
    .bind::<Integer, _>(i32::try_from(cap).unwrap_or(i32::MAX))
    .get_result(conn)
    .await
    .optional()?;
    taken.map(drop).ok_or_else(refused)
}
