//! The manager dashboard (`/v1/manager-dashboard`): members at risk and why, engagement, the
//! completion heatmap, top performers and completions per week, over the members the caller's
//! VIEW_MANAGER_DASHBOARD grants reach; and the tenant's thresholds for it.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use guild_analytics::dashboard::{self, DashboardFilter, ManagerDashboard, RiskKind};
use guild_analytics::settings::{self, Settings};
use guild_kernel::{Permission, member_scope};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound};
use crate::routes::segment;
use crate::shared_views::TenantKey;

/// Registers `/v1/manager-dashboard`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/manager-dashboard")
            .service(get_manager_dashboard)
            .service(get_manager_dashboard_settings)
            .service(update_manager_dashboard_settings),
    );
}

/// What the dashboard covers.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DashboardQuery {
    /// Only members of this group (404 `group_not_found` for a group not in the tenant).
    group_id: Option<Uuid>,
    /// The period's start, inclusive (RFC 3339); 30 days before `to` when left out.
    from: Option<DateTime<Utc>>,
    /// The period's end, exclusive (RFC 3339); now when left out. At most 366 days after `from`.
    to: Option<DateTime<Utc>>,
    /// How many members' engagement to list, least engaged first: 1 to 1000, 200 when left out.
    #[param(minimum = 1, maximum = 1000, default = 200)]
    limit: Option<u32>,
}

/// One reason a member is at risk.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RiskReasonDto {
    kind: RiskKind,
    /// The module (overdue, certificates) or the failed quiz's module.
    module_id: Option<Uuid>,
    /// The failed quiz.
    quiz_id: Option<Uuid>,
    /// The module's or quiz's title.
    title: Option<String>,
    /// The due date (overdue), the expiry (certificates), the last activity (inactive; null
    /// for a member never active).
    at: Option<DateTime<Utc>>,
    /// Failed attempts (REPEATED_FAILED_ATTEMPTS); whole days without activity (INACTIVE).
    count: Option<i64>,
}

/// A member at risk, with every reason that applies now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AtRiskMemberDto {
    user_id: Uuid,
    name: String,
    reasons: Vec<RiskReasonDto>,
}

/// A member's engagement in the period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EngagementDto {
    user_id: Uuid,
    name: String,
    /// XP earned in the period (awards and positive manual grants).
    xp: i64,
    /// UTC days with a usage session, a section completed or a quiz attempt started.
    active_days: i64,
    /// Modules completed in the period.
    completions: i64,
    /// `floor(xp / 10) + 5 × active_days + 10 × completions`.
    score: i64,
    /// The latest activity ever (usage ping, module view, section completion, quiz attempt).
    last_active_at: Option<DateTime<Utc>>,
}

/// A top performer of the period.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PerformerDto {
    user_id: Uuid,
    name: String,
    /// XP earned in the period.
    xp: i64,
}

/// A group of the heatmap.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeatmapGroupDto {
    group_id: Uuid,
    name: String,
}

/// A module of the heatmap.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeatmapModuleDto {
    module_id: Uuid,
    title: String,
}

/// A module assigned to a group: its members in scope, how many completed it this cycle, how
/// many are past the group's deadline without completing it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeatmapCellDto {
    group_id: Uuid,
    module_id: Uuid,
    assigned: i64,
    completed: i64,
    overdue: i64,
}

/// The completion heatmap: groups × modules.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct HeatmapDto {
    /// Groups with a cell, by name.
    groups: Vec<HeatmapGroupDto>,
    /// Modules with a cell, by title.
    modules: Vec<HeatmapModuleDto>,
    /// The cells, by group then module.
    cells: Vec<HeatmapCellDto>,
}

/// Completions in one week.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WeekCompletionsDto {
    /// Monday 00:00 UTC.
    week_start: DateTime<Utc>,
    completions: i64,
}

/// The dashboard's thresholds.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"inactive_days": 14, "failed_attempts": 3}))]
pub(crate) struct DashboardSettingsDto {
    /// A member with no activity for this many days is at risk: 1 to 365 (14 by default).
    #[validate(range(min = 1, max = 365))]
    #[schema(minimum = 1, maximum = 365)]
    inactive_days: i32,
    /// A member with this many failed attempts at a quiz they have not passed is at risk: 1 to
    /// 100 (3 by default).
    #[validate(range(min = 1, max = 100))]
    #[schema(minimum = 1, maximum = 100)]
    failed_attempts: i32,
}

impl From<Settings> for DashboardSettingsDto {
    fn from(s: Settings) -> Self {
        Self {
            inactive_days: s.inactive_days,
            failed_attempts: s.failed_attempts,
        }
    }
}

/// The manager dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ManagerDashboardDto {
    /// When these figures were computed: a dashboard is kept and shared for up to
    /// `GUILD_DASHBOARD_FRESH_SECS` (30 s by default) by the requests asking for the same
    /// members and filter, and changes made since show at the next computation.
    generated_at: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    /// The thresholds applied.
    settings: DashboardSettingsDto,
    /// Active members in scope (of the group, when asked for).
    member_count: i64,
    /// Members at risk, most reasons first (at most 200).
    at_risk: Vec<AtRiskMemberDto>,
    /// How many members are at risk.
    at_risk_count: i64,
    /// Engagement in the period, least engaged first (at most `limit`).
    engagement: Vec<EngagementDto>,
    heatmap: HeatmapDto,
    /// The ten who earned the most XP in the period.
    top_performers: Vec<PerformerDto>,
    /// Modules completed per week of the period, empty weeks included.
    completions_per_week: Vec<WeekCompletionsDto>,
}

impl From<ManagerDashboard> for ManagerDashboardDto {
    fn from(d: ManagerDashboard) -> Self {
        Self {
            generated_at: d.generated_at,
            from: d.from,
            to: d.to,
            settings: d.settings.into(),
            member_count: d.member_count,
            at_risk: d
                .at_risk
                .into_iter()
                .map(|m| AtRiskMemberDto {
                    user_id: m.user_id,
                    name: m.name,
                    reasons: m
                        .reasons
                        .into_iter()
                        .map(|r| RiskReasonDto {
                            kind: r.kind,
                            module_id: r.module_id,
                            quiz_id: r.quiz_id,
                            title: r.title,
                            at: r.at,
                            count: r.count,
                        })
                        .collect(),
                })
                .collect(),
            at_risk_count: d.at_risk_count,
            engagement: d
                .engagement
                .into_iter()
                .map(|e| EngagementDto {
                    user_id: e.user_id,
                    name: e.name,
                    xp: e.xp,
                    active_days: e.active_days,
                    completions: e.completions,
                    score: e.score,
                    last_active_at: e.last_active_at,
                })
                .collect(),
            heatmap: HeatmapDto {
                groups: d
                    .heatmap
                    .groups
                    .into_iter()
                    .map(|g| HeatmapGroupDto {
                        group_id: g.group_id,
                        name: g.name,
                    })
                    .collect(),
                modules: d
                    .heatmap
                    .modules
                    .into_iter()
                    .map(|m| HeatmapModuleDto {
                        module_id: m.module_id,
                        title: m.title,
                    })
                    .collect(),
                cells: d
                    .heatmap
                    .cells
                    .into_iter()
                    .map(|c| HeatmapCellDto {
                        group_id: c.group_id,
                        module_id: c.module_id,
                        assigned: c.assigned,
                        completed: c.completed,
                        overdue: c.overdue,
                    })
                    .collect(),
            },
            top_performers: d
                .top_performers
                .into_iter()
                .map(|p| PerformerDto {
                    user_id: p.user_id,
                    name: p.name,
                    xp: p.xp,
                })
                .collect(),
            completions_per_week: d
                .completions_per_week
                .into_iter()
                .map(|w| WeekCompletionsDto {
                    week_start: w.week_start,
                    completions: w.completions,
                })
                .collect(),
        }
    }
}

/// Get the manager dashboard.
///
/// For VIEW_MANAGER_DASHBOARD holders, over the active members their grant reaches (tenant-wide,
/// the granted groups' members, the members below them in the manager tree), optionally one
/// group, over a period (the last 30 days by default, at most 366): members at risk with every
/// reason (a mandatory module overdue; a certificate of an assigned module expiring within 30
/// days or expired; the tenant's number of failed attempts at a quiz not passed; no activity for
/// the tenant's number of days), engagement per member
/// (`floor(xp / 10) + 5 × active_days + 10 × completions` in the period), the completion heatmap
/// of groups × modules, the top performers by XP earned in the period and the completions per
/// week. 422 `validation_failed` for a period that does not start before it ends or is longer.
///
/// A computed dashboard is kept for `GUILD_DASHBOARD_FRESH_SECS` (30 s) and shared by the
/// requests asking for the same members and filter (`generated_at` says when it was computed);
/// it is sent gzip-compressed to clients that accept it.
#[utoipa::path(
    tag = "analytics",
    params(DashboardQuery),
    responses((status = 200, body = ManagerDashboardDto, description = "The dashboard"), AuthErrors, InputErrors, NotFound)
)]
#[get("/manager-dashboard")]
pub(crate) async fn get_manager_dashboard(
    ctx: Ctx<Permitted>,
    query: web::Query<DashboardQuery>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = DashboardFilter {
        group_id: q.group_id,
        from: q.from,
        to: q.to,
        limit: q.limit,
    };
    // Who the caller reaches, decided on every request: the kept view is only shared by
    // callers reaching the same members.
    let reach = member_scope(&ctx.actor, &[Permission::ViewManagerDashboard])
        .map_err(guild_analytics::AnalyticsError::from)?;
    let key = DashboardKey {
        tenant: ctx.actor.tenant_id.into_uuid(),
        reach: reach.binds(),
        group_id: filter.group_id,
        from: filter.from,
        to: filter.to,
        limit: filter.limit,
    };
    let now = ctx.now;
    let view = ctx
        .state
        .dashboards
        .get_or_compute(key, || async {
            // Two round trips (the members, then their figures): a read-only pipeline takes
            // one, so this runs in an ordinary transaction.
            let board = ctx
                .write(async |conn| {
                    dashboard::manager_dashboard(conn, &ctx.actor, &filter, now).await
                })
                .await?;
            let dto = ManagerDashboardDto::from(board);
            serde_json::to_vec(&dto)
                .map(Bytes::from)
                .map_err(|e| ApiError::internal(e.to_string()))
        })
        .await?;
    Ok(view.respond(&req))
}

/// What a kept dashboard depends on: the tenant, the members the caller reaches (the scope's
/// binds: tenant-wide, or these groups and these members), and the filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DashboardKey {
    tenant: Uuid,
    reach: (bool, Vec<Uuid>, Vec<Uuid>),
    group_id: Option<Uuid>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    limit: Option<u32>,
}

impl TenantKey for DashboardKey {
    fn tenant(&self) -> Uuid {
        self.tenant
    }
}

/// Get the manager dashboard's thresholds.
///
/// For VIEW_MANAGER_DASHBOARD holders (any scope); the defaults until they are changed.
#[utoipa::path(
    tag = "analytics",
    responses((status = 200, body = DashboardSettingsDto, description = "The thresholds"), AuthErrors)
)]
#[get("/manager-dashboard/settings")]
pub(crate) async fn get_manager_dashboard_settings(
    ctx: Ctx<Permitted>,
) -> Result<web::Json<DashboardSettingsDto>, ApiError> {
    let settings = ctx
        .read(async |conn| settings::get(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(settings.into()))
}

/// Change the manager dashboard's thresholds.
///
/// For VIEW_MANAGER_DASHBOARD holders tenant-wide (a grant scoped to groups or a manager subtree
/// does not set the tenant's rules: 403 `forbidden`). Audited.
#[utoipa::path(
    tag = "analytics",
    request_body = DashboardSettingsDto,
    responses((status = 200, body = DashboardSettingsDto, description = "The new thresholds"), AuthErrors, InputErrors)
)]
#[put("/manager-dashboard/settings")]
pub(crate) async fn update_manager_dashboard_settings(
    ctx: Ctx<Permitted>,
    body: ValidJson<DashboardSettingsDto>,
) -> Result<web::Json<DashboardSettingsDto>, ApiError> {
    let b = body.into_inner();
    let wanted = Settings {
        inactive_days: b.inactive_days,
        failed_attempts: b.failed_attempts,
    };
    let now = ctx.now;
    let saved = ctx
        .write(async |conn| settings::update(conn, &ctx.actor, wanted, now).await)
        .await?;
    // The kept dashboards applied the old thresholds.
    ctx.state
        .dashboards
        .forget_tenant(ctx.actor.tenant_id.into_uuid());
    Ok(web::Json(saved.into()))
}
