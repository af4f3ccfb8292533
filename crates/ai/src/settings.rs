//! A tenant's AI settings (`ai_settings`): the monthly token budget, the questions a member may
//! ask a day, the open questions a mentor holds at most, and how long an assigned question waits
//! to be picked up before it goes to the next mentor. A tenant without a row has the defaults;
//! the budget's default depends on the tenant's plan.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{ai_settings as s, tenants};
use guild_kernel::{Actor, TenantId, TenantRole};

use crate::AiError;

/// The monthly token budget of a FREE tenant.
pub const FREE_BUDGET: i64 = 200_000;
/// The monthly token budget of a STARTER tenant.
pub const STARTER_BUDGET: i64 = 2_000_000;
/// The monthly token budget of a PRO tenant.
pub const PRO_BUDGET: i64 = 20_000_000;
/// Questions a member may ask in 24 hours, by default.
pub const DEFAULT_QUESTIONS_PER_DAY: i32 = 20;
/// Open questions a mentor holds at most, by default.
pub const DEFAULT_MENTOR_OPEN_LIMIT: i32 = 5;
/// Minutes an assigned question waits to be picked up before it moves on, by default.
pub const DEFAULT_REASSIGN_AFTER_MINUTES: i32 = 240;

/// The budget a plan gives when the tenant set none.
pub fn plan_budget(plan: &str) -> i64 {
    match plan {
        "PRO" => PRO_BUDGET,
        "STARTER" => STARTER_BUDGET,
        _ => FREE_BUDGET,
    }
}

/// A tenant's AI settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The budget an admin set (`None`: the plan's).
    pub monthly_token_budget: Option<i64>,
    /// The plan's budget.
    pub plan_budget: i64,
    /// Questions a member may ask in 24 hours.
    pub questions_per_day: i32,
    /// Open (escalated, unanswered) questions a mentor is assigned at most.
    pub mentor_open_limit: i32,
    /// Minutes an assigned question waits to be picked up before it goes to the next mentor.
    pub reassign_after_minutes: i32,
}

impl Settings {
    /// The budget in force.
    pub fn budget(&self) -> i64 {
        self.monthly_token_budget.unwrap_or(self.plan_budget)
    }
}

/// A change of the settings: the fields given replace the tenant's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChanges {
    /// `Some(None)` goes back to the plan's budget.
    pub monthly_token_budget: Option<Option<i64>>,
    /// 1 to 1000.
    pub questions_per_day: Option<i32>,
    /// 1 to 1000.
    pub mentor_open_limit: Option<i32>,
    /// 5 to 43200.
    pub reassign_after_minutes: Option<i32>,
}

/// The tenant's settings (the defaults without a row).
pub async fn load(conn: &mut AsyncPgConnection, tenant: TenantId) -> Result<Settings, AiError> {
    let plan: String = tenants::table
        .find(tenant.into_uuid())
        .select(tenants::plan)
        .first(conn)
        .await?;
    let row: Option<(Option<i64>, i32, i32, i32)> = s::table
        .find(tenant.into_uuid())
        .select((
            s::monthly_token_budget,
            s::questions_per_day,
            s::mentor_open_limit,
            s::reassign_after_minutes,
        ))
        .first(conn)
        .await
        .optional()?;
    let (budget, per_day, open, reassign) = row.unwrap_or((
        None,
        DEFAULT_QUESTIONS_PER_DAY,
        DEFAULT_MENTOR_OPEN_LIMIT,
        DEFAULT_REASSIGN_AFTER_MINUTES,
    ));
    Ok(Settings {
        monthly_token_budget: budget,
        plan_budget: plan_budget(&plan),
        questions_per_day: per_day,
        mentor_open_limit: open,
        reassign_after_minutes: reassign,
    })
}

/// ADMIN and above (never an API key: keys do not change tenant settings).
pub fn check_admin(actor: &Actor) -> Result<(), AiError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(AiError::Forbidden);
    }
    Ok(())
}

fn range(field: &str, value: Option<i32>, min: i32, max: i32) -> Result<(), AiError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(AiError::invalid(
            field,
            "range",
            &format!("must be from {min} to {max}"),
        )),
        _ => Ok(()),
    }
}

/// Changes the tenant's settings (ADMIN and above).
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    changes: &SettingsChanges,
    now: DateTime<Utc>,
) -> Result<Settings, AiError> {
    check_admin(actor)?;
    if let Some(Some(budget)) = changes.monthly_token_budget
        && !(0..=1_000_000_000_000).contains(&budget)
    {
        return Err(AiError::invalid(
            "monthly_token_budget",
            "range",
            "must be from 0 to 1000000000000",
        ));
    }
    range("questions_per_day", changes.questions_per_day, 1, 1000)?;
    range("mentor_open_limit", changes.mentor_open_limit, 1, 1000)?;
    range(
        "reassign_after_minutes",
        changes.reassign_after_minutes,
        5,
        43_200,
    )?;
    let tenant = actor.tenant_id;
    let current = load(conn, tenant).await?;
    let next = Settings {
        monthly_token_budget: changes
            .monthly_token_budget
            .unwrap_or(current.monthly_token_budget),
        questions_per_day: changes
            .questions_per_day
            .unwrap_or(current.questions_per_day),
        mentor_open_limit: changes
            .mentor_open_limit
            .unwrap_or(current.mentor_open_limit),
        reassign_after_minutes: changes
            .reassign_after_minutes
            .unwrap_or(current.reassign_after_minutes),
        ..current
    };
    let values = (
        s::tenant_id.eq(tenant.into_uuid()),
        s::monthly_token_budget.eq(next.monthly_token_budget),
        s::questions_per_day.eq(next.questions_per_day),
        s::mentor_open_limit.eq(next.mentor_open_limit),
        s::reassign_after_minutes.eq(next.reassign_after_minutes),
        s::updated_at.eq(now),
    );
    diesel::insert_into(s::table)
        .values(values)
        .on_conflict(s::tenant_id)
        .do_update()
        .set((
            s::monthly_token_budget.eq(next.monthly_token_budget),
            s::questions_per_day.eq(next.questions_per_day),
            s::mentor_open_limit.eq(next.mentor_open_limit),
            s::reassign_after_minutes.eq(next.reassign_after_minutes),
            s::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(next)
}
