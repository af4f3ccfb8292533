//! What a tenant spends on models (`ai_usage`): one row per call, written after the call in a
//! transaction of its own (whatever its outcome), and the budget check every call passes before
//! it is made.
//!
//! The budget counts the tokens of the current calendar month (UTC). A call is refused (429
//! `ai_budget_exhausted`) once the month's tokens reach the budget; calls already under way
//! when it is reached are still recorded, so the month may end slightly above it.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::ai_usage as u;
use guild_kernel::{Actor, Permission, Target, TenantId, UserId, authorize};
use uuid::Uuid;

use crate::AiError;
use crate::settings;

guild_kernel::string_enum!(
    /// What a model was called for.
    Feature {
        /// Composing the answer to a member's question.
        QuestionAnswer => "QUESTION_ANSWER",
        /// A draft answer for the mentor a question is assigned to.
        AnswerDraft => "ANSWER_DRAFT",
        /// Titles and descriptions suggested for a module.
        TitleSuggestions => "TITLE_SUGGESTIONS",
        /// Tags suggested for a module.
        TagSuggestions => "TAG_SUGGESTIONS",
        /// Quiz questions suggested from a section.
        QuestionSuggestions => "QUESTION_SUGGESTIONS",
        /// A cover image generated for a module.
        CoverImage => "COVER_IMAGE",
        /// A score and rationale suggested to a grader.
        GradingSuggestion => "GRADING_SUGGESTION",
        /// The module builder: transcribing a video, writing a module from a file's text.
        ModuleBuilder => "MODULE_BUILDER",
        /// Embedding a member's question, for vector search.
        QuestionSearch => "QUESTION_SEARCH",
        /// Embedding the knowledge base's passages, for vector search (a job; no member).
        SearchIndex => "SEARCH_INDEX",
    }
);

/// One call to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// What for.
    pub feature: Feature,
    /// For whom.
    pub user: Option<UserId>,
    /// The model (the configured name when it did not answer).
    pub model: String,
    /// Prompt tokens.
    pub input_tokens: i64,
    /// Completion tokens.
    pub output_tokens: i64,
    /// How long it took, retries included.
    pub latency_ms: i32,
    /// `OK`, or the port's error outcome (`RATE_LIMITED`, `UNAVAILABLE`, `INVALID_OUTPUT`…).
    pub outcome: String,
}

/// The first instant of `now`'s month (UTC).
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// Records a call.
pub async fn record(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    call: &Call,
    now: DateTime<Utc>,
) -> Result<(), AiError> {
    diesel::insert_into(u::table)
        .values((
            u::tenant_id.eq(tenant.into_uuid()),
            u::id.eq(Uuid::now_v7()),
            u::feature.eq(call.feature.as_str()),
            u::user_id.eq(call.user.map(UserId::into_uuid)),
            u::model.eq(&call.model),
            u::input_tokens.eq(call.input_tokens.max(0)),
            u::output_tokens.eq(call.output_tokens.max(0)),
            u::latency_ms.eq(call.latency_ms.max(0)),
            u::outcome.eq(&call.outcome),
            u::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The month's budget and what is spent of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Tokens allowed this month.
    pub limit: i64,
    /// Tokens used this month.
    pub used: i64,
    /// When the month began.
    pub month_start: DateTime<Utc>,
}

impl Budget {
    /// Tokens left (never negative).
    pub fn remaining(&self) -> i64 {
        (self.limit - self.used).max(0)
    }
}

async fn used_since(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    since: DateTime<Utc>,
) -> Result<i64, AiError> {
    let used: Option<i64> = u::table
        .filter(u::tenant_id.eq(tenant.into_uuid()))
        .filter(u::created_at.ge(since))
        .select(diesel::dsl::sql::<diesel::sql_types::Nullable<BigInt>>(
            "sum(input_tokens + output_tokens)::bigint",
        ))
        .first(conn)
        .await?;
    Ok(used.unwrap_or(0))
}

/// The tenant's budget for `now`'s month.
pub async fn budget(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Budget, AiError> {
    let limit = settings::load(conn, tenant).await?.budget();
    let start = month_start(now);
    Ok(Budget {
        limit,
        used: used_since(conn, tenant, start).await?,
        month_start: start,
    })
}

/// Refuses (429 `ai_budget_exhausted`) once the month's tokens reached the budget.
pub async fn check_budget(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
) -> Result<Budget, AiError> {
    let budget = budget(conn, tenant, now).await?;
    if budget.used >= budget.limit {
        return Err(AiError::BudgetExhausted);
    }
    Ok(budget)
}

/// One feature's calls this month.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct FeatureUsage {
    /// The feature.
    #[diesel(sql_type = Text)]
    pub feature: String,
    /// Calls made.
    #[diesel(sql_type = BigInt)]
    pub calls: i64,
    /// Calls that failed (any outcome but `OK`).
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    /// Prompt tokens.
    #[diesel(sql_type = BigInt)]
    pub input_tokens: i64,
    /// Completion tokens.
    #[diesel(sql_type = BigInt)]
    pub output_tokens: i64,
}

/// The month's usage: totals, per feature, and the budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The budget and what is spent.
    pub budget: Budget,
    /// Whether the budget is the plan's default (no admin set one).
    pub plan_default: bool,
    /// Calls this month.
    pub calls: i64,
    /// Prompt tokens this month.
    pub input_tokens: i64,
    /// Completion tokens this month.
    pub output_tokens: i64,
    /// Per feature, by feature name.
    pub by_feature: Vec<FeatureUsage>,
}

/// The month's usage, for ADMINs and above (an API key with VIEW_ANALYTICS).
pub async fn report(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<Report, AiError> {
    if actor.role.rank() > guild_kernel::TenantRole::Admin.rank() {
        return Err(AiError::Forbidden);
    }
    authorize(actor, Permission::ViewAnalytics, Target::Tenant).map_err(|_| AiError::Forbidden)?;
    let tenant = actor.tenant_id;
    let settings = settings::load(conn, tenant).await?;
    let start = month_start(now);
    let by_feature: Vec<FeatureUsage> = guild_db::sql(
        "SELECT feature, count(*) AS calls, count(*) FILTER (WHERE outcome <> 'OK') AS failed, \
                coalesce(sum(input_tokens), 0)::bigint AS input_tokens, \
                coalesce(sum(output_tokens), 0)::bigint AS output_tokens \
         FROM ai_usage WHERE tenant_id = $1 AND created_at >= $2 \
         GROUP BY feature ORDER BY feature",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Timestamptz, _>(start)
    .load(conn)
    .await?;
    let input_tokens = by_feature.iter().map(|f| f.input_tokens).sum::<i64>();
    let output_tokens = by_feature.iter().map(|f| f.output_tokens).sum::<i64>();
    Ok(Report {
        budget: Budget {
            limit: settings.budget(),
            used: input_tokens + output_tokens,
            month_start: start,
        },
        plan_default: settings.monthly_token_budget.is_none(),
        calls: by_feature.iter().map(|f| f.calls).sum(),
        input_tokens,
        output_tokens,
        by_feature,
    })
}
