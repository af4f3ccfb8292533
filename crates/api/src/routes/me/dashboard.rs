//! Your dashboard: `GET /v1/me/dashboard` (your assigned modules, recent ones, where to
//! continue, your learning paths, and how many you completed and have overdue).

use actix_web::{HttpResponse, get};
use chrono::{DateTime, Utc};
use guild_progress::dashboard::{self, ContinueModule, Dashboard, DashboardModule, RecentModule};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::AuthErrors;

/// An assigned module on the dashboard.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DashboardModuleDto {
    module_id: Uuid,
    title: String,
    mandatory: bool,
    due_at: Option<DateTime<Utc>>,
    /// Past its due date and not completed.
    overdue: bool,
    sections_done: i64,
    sections_total: i64,
    percent: i32,
    completed_at: Option<DateTime<Utc>>,
    pinned: bool,
    locked: bool,
}

impl From<DashboardModule> for DashboardModuleDto {
    fn from(m: DashboardModule) -> Self {
        Self {
            module_id: m.module_id,
            title: m.title,
            mandatory: m.mandatory,
            due_at: m.due_at,
            overdue: m.overdue,
            sections_done: m.sections_done,
            sections_total: m.sections_total,
            percent: m.percent,
            completed_at: m.completed_at,
            pinned: m.pinned,
            locked: m.locked,
        }
    }
}

/// A recently opened module.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecentModuleDto {
    module_id: Uuid,
    title: String,
    last_accessed_at: DateTime<Utc>,
}

impl From<RecentModule> for RecentModuleDto {
    fn from(r: RecentModule) -> Self {
        Self {
            module_id: r.module_id,
            title: r.title,
            last_accessed_at: r.last_accessed_at,
        }
    }
}

/// A module you are in the middle of, with the section you opened last.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ContinueModuleDto {
    module_id: Uuid,
    module_title: String,
    /// The section you opened, completed or played last in the module.
    section_id: Uuid,
    section_title: String,
    /// TEXT, VIDEO…
    section_kind: String,
    opened_at: DateTime<Utc>,
    /// On a video you played (this cycle): where to resume, in seconds; null otherwise.
    video_position_seconds: Option<f64>,
    /// On a video you played (this cycle): the share watched, 0 to 100; null otherwise.
    video_watched_percent: Option<i32>,
}

impl From<ContinueModule> for ContinueModuleDto {
    fn from(c: ContinueModule) -> Self {
        Self {
            module_id: c.module_id,
            module_title: c.module_title,
            section_id: c.section_id,
            section_title: c.section_title,
            section_kind: c.section_kind,
            opened_at: c.opened_at,
            video_position_seconds: c.video_position_seconds,
            video_watched_percent: c.video_watched_percent,
        }
    }
}

/// Your learning at a glance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DashboardDto {
    /// Published modules assigned to your groups: overdue first, then by due date.
    assigned: Vec<DashboardModuleDto>,
    /// The modules you opened most recently.
    recent: Vec<RecentModuleDto>,
    completed_count: i64,
    /// Assigned modules past their due date (paths count apart: their `overdue` flag).
    overdue_count: i64,
    /// Published learning paths assigned to your groups or that you enrolled in, with your
    /// progress, due date and overdue state: overdue first, then by due date.
    paths: Vec<crate::routes::paths::PathSummaryDto>,
    /// Continue where you left off: the published modules you opened a section of most
    /// recently (up to 10) and have not completed, each with that section and, for a video,
    /// where you resume.
    continue_learning: Vec<ContinueModuleDto>,
}

impl From<Dashboard> for DashboardDto {
    fn from(d: Dashboard) -> Self {
        Self {
            assigned: d.assigned.into_iter().map(Into::into).collect(),
            recent: d.recent.into_iter().map(Into::into).collect(),
            completed_count: d.completed_count,
            overdue_count: d.overdue_count,
            paths: d.paths.into_iter().map(Into::into).collect(),
            continue_learning: d.continue_learning.into_iter().map(Into::into).collect(),
        }
    }
}

/// Get your dashboard.
///
/// Your assigned modules with progress and due dates (overdue first), your learning paths with
/// progress, due dates and overdue state, the modules you opened most recently, where to
/// continue (the last section you opened in each module in progress, with a video's resume
/// position), and your completed and overdue counts.
#[utoipa::path(
    tag = "progress",
    responses((status = 200, body = DashboardDto, description = "Your dashboard"), AuthErrors)
)]
#[get("/me/dashboard")]
pub(crate) async fn get_my_dashboard(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let now = ctx.now;
    let dashboard = ctx
        .read(async |conn| dashboard::dashboard(conn, &ctx.actor, now).await)
        .await?;
    Ok(HttpResponse::Ok().json(DashboardDto::from(dashboard)))
}
