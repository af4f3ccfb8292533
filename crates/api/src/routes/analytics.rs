//! Analytics (`/v1/analytics/…`): active members and completions over time, a module's funnel,
//! a quiz's item analysis, live events' attendance and the XP economy, over the members the
//! caller's VIEW_ANALYTICS grants reach (see `guild_analytics::insights`).

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use guild_analytics::insights::activity::{self, Activity, Completions};
use guild_analytics::insights::events::{self, EventsReport};
use guild_analytics::insights::funnel::{self, Funnel};
use guild_analytics::insights::quiz_items::{self, QuizItems};
use guild_analytics::insights::xp::{self, XpEconomy};
use guild_analytics::insights::{AnalyticsFilter, Granularity};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, NotFound};
use crate::routes::segment;

/// Registers `/v1/analytics`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/analytics")
            .service(get_activity_analytics)
            .service(get_completion_analytics)
            .service(get_module_funnel)
            .service(get_quiz_item_analysis)
            .service(get_event_attendance_analytics)
            .service(get_xp_economy),
    );
}

/// Whom and when a view covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct PeriodQuery {
    /// Only members of this group (404 `group_not_found` for a group not in the tenant).
    group_id: Option<Uuid>,
    /// The period's start, inclusive (RFC 3339); 30 days before `to` when left out.
    from: Option<DateTime<Utc>>,
    /// The period's end, exclusive (RFC 3339); now when left out. At most 366 days after `from`.
    to: Option<DateTime<Utc>>,
}

impl From<&PeriodQuery> for AnalyticsFilter {
    fn from(q: &PeriodQuery) -> Self {
        Self {
            group_id: q.group_id,
            from: q.from,
            to: q.to,
        }
    }
}

/// A time series' period and buckets.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeriesQuery {
    /// Only members of this group (404 `group_not_found` for a group not in the tenant).
    group_id: Option<Uuid>,
    /// The period's start, inclusive (RFC 3339); 30 days before `to` when left out.
    from: Option<DateTime<Utc>>,
    /// The period's end, exclusive (RFC 3339); now when left out. At most 366 days after `from`.
    to: Option<DateTime<Utc>>,
    /// The buckets: UTC days, ISO weeks (from Monday) or calendar months; `day` for activity and
    /// `week` for completions when left out.
    granularity: Option<Granularity>,
}

impl From<&SeriesQuery> for AnalyticsFilter {
    fn from(q: &SeriesQuery) -> Self {
        Self {
            group_id: q.group_id,
            from: q.from,
            to: q.to,
        }
    }
}

/// Active members in one bucket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActiveBucketDto {
    /// The bucket's start (UTC).
    start: DateTime<Utc>,
    /// Members with a usage session in it.
    active_members: i64,
}

/// Active members over time.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityDto {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
    /// Active members in scope (of the group, when asked for).
    member_count: i64,
    /// Members active at least once in the period.
    active_members: i64,
    /// Every bucket of the period, oldest first, empty ones included.
    buckets: Vec<ActiveBucketDto>,
}

impl From<Activity> for ActivityDto {
    fn from(a: Activity) -> Self {
        Self {
            from: a.from,
            to: a.to,
            granularity: a.granularity,
            member_count: a.member_count,
            active_members: a.active_members,
            buckets: a
                .buckets
                .into_iter()
                .map(|b| ActiveBucketDto {
                    start: b.start,
                    active_members: b.active_members,
                })
                .collect(),
        }
    }
}

/// Completions in one bucket.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CompletionBucketDto {
    /// The bucket's start (UTC).
    start: DateTime<Utc>,
    /// Module completions in it.
    completions: i64,
    /// Distinct members who completed a module in it.
    members: i64,
}

/// Completions over time.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CompletionsDto {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    granularity: Granularity,
    /// Active members in scope (of the group, when asked for).
    member_count: i64,
    /// Module completions in the period.
    completions: i64,
    /// Distinct members who completed a module in the period.
    members: i64,
    /// Every bucket of the period, oldest first, empty ones included.
    buckets: Vec<CompletionBucketDto>,
}

impl From<Completions> for CompletionsDto {
    fn from(c: Completions) -> Self {
        Self {
            from: c.from,
            to: c.to,
            granularity: c.granularity,
            member_count: c.member_count,
            completions: c.completions,
            members: c.members,
            buckets: c
                .buckets
                .into_iter()
                .map(|b| CompletionBucketDto {
                    start: b.start,
                    completions: b.completions,
                    members: b.members,
                })
                .collect(),
        }
    }
}

/// A module's funnel in the period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FunnelDto {
    module_id: Uuid,
    title: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Active members in scope (of the group, when asked for).
    member_count: i64,
    /// Viewed it, or started it.
    opened: i64,
    /// Completed a section or started a quiz attempt of it, or completed it.
    started: i64,
    /// Completed it.
    completed: i64,
    /// `started / opened` (4 decimals; null without anyone opening).
    start_rate: Option<f64>,
    /// `completed / started` (4 decimals; null without anyone starting).
    completion_rate: Option<f64>,
    /// The median time from a member's first step in the cycle to the completion, in seconds.
    median_seconds_to_complete: Option<i64>,
}

impl From<Funnel> for FunnelDto {
    fn from(f: Funnel) -> Self {
        Self {
            module_id: f.module_id,
            title: f.title,
            from: f.from,
            to: f.to,
            member_count: f.member_count,
            opened: f.opened,
            started: f.started,
            completed: f.completed,
            start_rate: f.start_rate,
            completion_rate: f.completion_rate,
            median_seconds_to_complete: f.median_seconds_to_complete,
        }
    }
}

/// How often an option was chosen.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OptionStatsDto {
    option_id: String,
    text: String,
    /// Part of the right answer.
    correct: bool,
    /// Attempts that chose it.
    chosen: i64,
    /// `chosen / answered` (4 decimals).
    share: Option<f64>,
}

/// One question's figures.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ItemStatsDto {
    question_id: Uuid,
    /// `SINGLE_CHOICE`, `MULTIPLE_CHOICE`, `TRUE_FALSE`, `FILL_IN_BLANK` or `ESSAY`.
    kind: String,
    prompt: String,
    /// Deleted from the quiz since; its text is the latest attempt's copy.
    removed: bool,
    /// Scored attempts that held it.
    answered: i64,
    /// Of them, with a verdict (essays have none).
    scored: i64,
    /// Of them, right.
    correct: i64,
    /// `correct / scored` (4 decimals).
    share_correct: Option<f64>,
    /// Choice questions: each option and how often it was chosen.
    options: Vec<OptionStatsDto>,
}

/// A quiz's item analysis.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuizItemsDto {
    quiz_id: Uuid,
    title: String,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Scored attempts submitted in the period.
    attempts: i64,
    /// The current questions in order, then deleted ones the attempts hold.
    items: Vec<ItemStatsDto>,
}

impl From<QuizItems> for QuizItemsDto {
    fn from(q: QuizItems) -> Self {
        Self {
            quiz_id: q.quiz_id,
            title: q.title,
            from: q.from,
            to: q.to,
            attempts: q.attempts,
            items: q
                .items
                .into_iter()
                .map(|i| ItemStatsDto {
                    question_id: i.question_id,
                    kind: i.kind,
                    prompt: i.prompt,
                    removed: i.removed,
                    answered: i.answered,
                    scored: i.scored,
                    correct: i.correct,
                    share_correct: i.share_correct,
                    options: i
                        .options
                        .into_iter()
                        .map(|o| OptionStatsDto {
                            option_id: o.option_id,
                            text: o.text,
                            correct: o.correct,
                            chosen: o.chosen,
                            share: o.share,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// One event's attendance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventAttendanceDto {
    event_id: Uuid,
    title: String,
    starts_at: DateTime<Utc>,
    /// `SCHEDULED` or `COMPLETED`.
    status: String,
    capacity: i32,
    /// Members in scope it is for (its groups' members; everyone for an event without groups).
    invited: i64,
    /// Members in scope holding a seat.
    registered: i64,
    /// Members in scope waiting for one.
    waitlisted: i64,
    /// Registered members in scope confirmed as attended.
    attended: i64,
    /// `registered / invited` (4 decimals).
    registration_rate: Option<f64>,
    /// `attended / registered` (4 decimals).
    attendance_rate: Option<f64>,
}

/// Live events' attendance in the period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventsReportDto {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Events starting in the period, not cancelled.
    event_count: i64,
    /// Invited, over the events that started.
    invited: i64,
    /// Registered, over the events that started.
    registered: i64,
    /// Attended, over the events that started.
    attended: i64,
    registration_rate: Option<f64>,
    attendance_rate: Option<f64>,
    /// The events, earliest first (at most 500).
    events: Vec<EventAttendanceDto>,
}

impl From<EventsReport> for EventsReportDto {
    fn from(r: EventsReport) -> Self {
        Self {
            from: r.from,
            to: r.to,
            event_count: r.event_count,
            invited: r.invited,
            registered: r.registered,
            attended: r.attended,
            registration_rate: r.registration_rate,
            attendance_rate: r.attendance_rate,
            events: r
                .events
                .into_iter()
                .map(|e| EventAttendanceDto {
                    event_id: e.event_id,
                    title: e.title,
                    starts_at: e.starts_at,
                    status: e.status,
                    capacity: e.capacity,
                    invited: e.invited,
                    registered: e.registered,
                    waitlisted: e.waitlisted,
                    attended: e.attended,
                    registration_rate: e.registration_rate,
                    attendance_rate: e.attendance_rate,
                })
                .collect(),
        }
    }
}

/// XP earned from one source.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SourceXpDto {
    /// `MODULE_COMPLETED`, `QUIZ_HIGH_SCORE`, `MANUAL`, …
    source: String,
    xp: i64,
}

/// The XP economy of the period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct XpEconomyDto {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// Active members in scope (of the group, when asked for).
    member_count: i64,
    /// Awards and positive manual grants.
    earned: i64,
    /// Negative manual adjustments.
    deducted: i64,
    /// The cost of redemptions approved in the period.
    spent: i64,
    /// Put on hold by redemptions waiting for approval.
    held: i64,
    /// Given back from holds (rejected or cancelled redemptions).
    released: i64,
    /// Spendable now.
    balance_now: i64,
    /// On hold now.
    held_now: i64,
    /// Earned by source, most first.
    earned_by_source: Vec<SourceXpDto>,
}

impl From<XpEconomy> for XpEconomyDto {
    fn from(x: XpEconomy) -> Self {
        Self {
            from: x.from,
            to: x.to,
            member_count: x.member_count,
            earned: x.earned,
            deducted: x.deducted,
            spent: x.spent,
            held: x.held,
            released: x.released,
            balance_now: x.balance_now,
            held_now: x.held_now,
            earned_by_source: x
                .earned_by_source
                .into_iter()
                .map(|s| SourceXpDto {
                    source: s.source,
                    xp: s.xp,
                })
                .collect(),
        }
    }
}

/// Get active members over time.
///
/// For VIEW_ANALYTICS holders, over the active members their grant reaches (tenant-wide, the
/// granted groups' members, the members below them in the manager tree), optionally one group:
/// per bucket of the period (the last 30 days by default, at most 366), the members with a
/// usage session in it. 422 `validation_failed` for a period that does not start before it ends
/// or is longer.
#[utoipa::path(
    tag = "analytics",
    params(SeriesQuery),
    responses((status = 200, body = ActivityDto, description = "Active members per bucket"), AuthErrors, InputErrors, NotFound)
)]
#[get("/analytics/activity")]
pub(crate) async fn get_activity_analytics(
    ctx: Ctx<Permitted>,
    query: web::Query<SeriesQuery>,
) -> Result<web::Json<ActivityDto>, ApiError> {
    let (filter, unit) = (AnalyticsFilter::from(&*query), query.granularity);
    let now = ctx.now;
    let unit = unit.unwrap_or(Granularity::Day);
    let a = ctx
        .write(async |conn| activity::activity(conn, &ctx.actor, &filter, unit, now).await)
        .await?;
    Ok(web::Json(a.into()))
}

/// Get module completions over time.
///
/// For VIEW_ANALYTICS holders, over the members their grant reaches, optionally one group: per
/// bucket of the period (ISO weeks by default), the modules completed and by how many members.
#[utoipa::path(
    tag = "analytics",
    params(SeriesQuery),
    responses((status = 200, body = CompletionsDto, description = "Completions per bucket"), AuthErrors, InputErrors, NotFound)
)]
#[get("/analytics/completions")]
pub(crate) async fn get_completion_analytics(
    ctx: Ctx<Permitted>,
    query: web::Query<SeriesQuery>,
) -> Result<web::Json<CompletionsDto>, ApiError> {
    let (filter, unit) = (AnalyticsFilter::from(&*query), query.granularity);
    let now = ctx.now;
    let unit = unit.unwrap_or(Granularity::Week);
    let c = ctx
        .write(async |conn| activity::completions(conn, &ctx.actor, &filter, unit, now).await)
        .await?;
    Ok(web::Json(c.into()))
}

/// Get a module's funnel.
///
/// For VIEW_ANALYTICS holders, over the members their grant reaches: how many opened the module
/// in the period, started it (a section completed or a quiz attempt started) and completed it,
/// each step counting those who reached it or a later one, and the median time from the first
/// step to the completion. 404 `module_not_found` for a module not in the tenant.
#[utoipa::path(
    tag = "analytics",
    params(("module_id" = Uuid, Path, description = "The module"), PeriodQuery),
    responses((status = 200, body = FunnelDto, description = "The funnel"), AuthErrors, InputErrors, NotFound)
)]
#[get("/analytics/modules/{module_id}/funnel")]
pub(crate) async fn get_module_funnel(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<FunnelDto>, ApiError> {
    let (module, filter) = (path.into_inner(), AnalyticsFilter::from(&*query));
    let now = ctx.now;
    let f = ctx
        .write(async |conn| funnel::funnel(conn, &ctx.actor, module, &filter, now).await)
        .await?;
    Ok(web::Json(f.into()))
}

/// Get a quiz's item analysis.
///
/// For VIEW_ANALYTICS holders, over the scored attempts submitted in the period by the members
/// their grant reaches: per question the share answered correctly and, for choice questions, how
/// often each option was chosen (distractor analysis). 404 `quiz_not_found` for a quiz not in
/// the tenant.
#[utoipa::path(
    tag = "analytics",
    params(("quiz_id" = Uuid, Path, description = "The quiz"), PeriodQuery),
    responses((status = 200, body = QuizItemsDto, description = "The items"), AuthErrors, InputErrors, NotFound)
)]
#[get("/analytics/quizzes/{quiz_id}/items")]
pub(crate) async fn get_quiz_item_analysis(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<QuizItemsDto>, ApiError> {
    let (quiz, filter) = (path.into_inner(), AnalyticsFilter::from(&*query));
    let now = ctx.now;
    let q = ctx
        .write(async |conn| quiz_items::quiz_items(conn, &ctx.actor, quiz, &filter, now).await)
        .await?;
    Ok(web::Json(q.into()))
}

/// Get live events' attendance.
///
/// For VIEW_ANALYTICS holders, over the members their grant reaches: for each event starting in
/// the period and not cancelled, the members it invited, registered, waitlisted and attended,
/// with the rates; the totals add up the events that started.
#[utoipa::path(
    tag = "analytics",
    params(PeriodQuery),
    responses((status = 200, body = EventsReportDto, description = "Attendance"), AuthErrors, InputErrors, NotFound)
)]
#[get("/analytics/events")]
pub(crate) async fn get_event_attendance_analytics(
    ctx: Ctx<Permitted>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<EventsReportDto>, ApiError> {
    let filter = AnalyticsFilter::from(&*query);
    let now = ctx.now;
    let r = ctx
        .write(async |conn| events::events(conn, &ctx.actor, &filter, now).await)
        .await?;
    Ok(web::Json(r.into()))
}

/// Get the XP economy.
///
/// For VIEW_ANALYTICS holders, over the members their grant reaches: XP earned (by source),
/// deducted, spent on approved redemptions, held and released in the period, and the balances
/// and holds now.
#[utoipa::path(
    tag = "analytics",
    params(PeriodQuery),
    responses((status = 200, body = XpEconomyDto, description = "The XP economy"), AuthErrors, InputErrors, NotFound)
)]
#[get("/analytics/xp")]
pub(crate) async fn get_xp_economy(
    ctx: Ctx<Permitted>,
    query: web::Query<PeriodQuery>,
) -> Result<web::Json<XpEconomyDto>, ApiError> {
    let filter = AnalyticsFilter::from(&*query);
    let now = ctx.now;
    let x = ctx
        .write(async |conn| xp::xp(conn, &ctx.actor, &filter, now).await)
        .await?;
    Ok(web::Json(x.into()))
}
