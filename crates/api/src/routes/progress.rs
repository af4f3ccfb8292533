//! Progress handlers that the `/modules`, `/me` and `/members` scopes register: completing
//! sections, a module's progress, self-assessments, the member's dashboard, a member's
//! certificates, applying and listing progress overrides. Certificates themselves are
//! [`super::certificates`], reverting an override [`super::progress_overrides`], video progress
//! [`super::sections`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::{PageRequest, SectionId, UserId};
use guild_progress::certificates::{self};
use guild_progress::completion::{self as progress, ModuleProgress, SectionVideo};
use guild_progress::dashboard::{self, ContinueModule, Dashboard, DashboardModule, RecentModule};
use guild_progress::overrides::{self, OverrideAction, OverrideRequest, SelfAssessment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::certificates::{CertificateDto, certificate_dto};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::progress_overrides::{OverrideDto, OverrideErrors};

/// A section's state.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SectionStateDto {
    section_id: Uuid,
    /// When you completed it; absent if not yet.
    completed_at: Option<DateTime<Utc>>,
    /// On a VIDEO section you played (this cycle): where you resume and how much you watched;
    /// null otherwise.
    video: Option<SectionVideoDto>,
}

/// Where you are in a section's video.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SectionVideoDto {
    /// Where to resume, in seconds.
    position_seconds: f64,
    /// The share you watched, 0 to 100, rounded down.
    watched_percent: i32,
}

impl From<SectionVideo> for SectionVideoDto {
    fn from(v: SectionVideo) -> Self {
        Self {
            position_seconds: v.position_seconds,
            watched_percent: v.watched_percent,
        }
    }
}

/// Progress on a module.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ModuleProgressDto {
    module_id: Uuid,
    sections_done: i64,
    sections_total: i64,
    quizzes_passed: i64,
    quizzes_total: i64,
    /// Required assignments whose current submission is graded.
    assignments_done: i64,
    /// Required assignments of the module.
    assignments_total: i64,
    /// The module has a required live event: attending one of them is part of completing it.
    attendance_required: bool,
    /// Your attendance at one of its required live events is confirmed (this cycle).
    attended: bool,
    /// 0–100 over sections, quizzes, required assignments and a required attendance; 100 once
    /// completed.
    percent: i32,
    sections: Vec<SectionStateDto>,
    /// When the module was completed (this cycle).
    completed_at: Option<DateTime<Utc>>,
    /// The certificate issued for it.
    certificate_id: Option<Uuid>,
    /// Its prerequisites are not all completed yet.
    locked: bool,
}

impl From<ModuleProgress> for ModuleProgressDto {
    fn from(p: ModuleProgress) -> Self {
        Self {
            module_id: p.module_id,
            sections_done: p.sections_done,
            sections_total: p.sections_total,
            quizzes_passed: p.quizzes_passed,
            quizzes_total: p.quizzes_total,
            assignments_done: p.assignments_done,
            assignments_total: p.assignments_total,
            attendance_required: p.attendance_required,
            attended: p.attended,
            percent: p.percent,
            sections: p
                .sections
                .into_iter()
                .map(|s| SectionStateDto {
                    section_id: s.section_id,
                    completed_at: s.completed_at,
                    video: s.video.map(SectionVideoDto::from),
                })
                .collect(),
            completed_at: p.completed_at,
            certificate_id: p.certificate_id,
            locked: p.locked,
        }
    }
}

/// Complete a section (idempotent).
///
/// Anyone who may see the module marks a section of it done. The module completes, its XP is
/// awarded and its certificate issued, when every section is done, every quiz passed and every
/// required assignment graded. 409 `module_locked` until the module's prerequisites are
/// completed. With an `Idempotency-Key`, a retry answers the first response again.
#[utoipa::path(
    tag = "progress",
    params(("module_id" = Uuid, Path, description = "The module"), ("section_id" = Uuid, Path, description = "The section"), IdempotencyHeader),
    responses((status = 200, body = ModuleProgressDto, description = "Your progress on the module"), AuthErrors, NotFound, Conflict)
)]
#[post("/modules/{module_id}/sections/{section_id}/complete")]
pub(crate) async fn complete_section(
    ctx: Ctx,
    key: Idempotency,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (module, section) = path.into_inner();
    let now = ctx.now;
    once(&ctx, &key, StatusCode::OK, async |conn| {
        progress::complete_section(conn, &ctx.actor, module, SectionId(section), now)
            .await
            .map(ModuleProgressDto::from)
    })
    .await
}

/// Get your progress on a module.
///
/// Anyone who may see the module (404 `module_not_found` otherwise): sections (a video's with
/// your resume position and watched share), quizzes and required assignments done, the
/// percentage, and the completion and certificate once complete.
#[utoipa::path(
    tag = "progress",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = ModuleProgressDto, description = "Your progress"), AuthErrors, NotFound)
)]
#[get("/modules/{module_id}/progress")]
pub(crate) async fn get_module_progress(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let progress = ctx
        .read(async |conn| progress::progress(conn, &ctx.actor, module).await)
        .await?;
    Ok(HttpResponse::Ok().json(ModuleProgressDto::from(progress)))
}

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

/// List your certificates, newest first.
///
/// Every certificate issued to you, VALID, EXPIRED or REVOKED, a page at a time.
#[utoipa::path(
    tag = "certificates",
    params(PageParams),
    responses((status = 200, body = PageOf<CertificateDto>, description = "A page of your certificates"), AuthErrors, InputErrors)
)]
#[get("/me/certificates")]
pub(crate) async fn list_my_certificates(
    ctx: Ctx,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let me = ctx.actor.user_id;
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| certificates::list(conn, &ctx.actor, me, &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(list, |c| certificate_dto(&ctx.state, c))))
}

/// List a member's certificates, newest first.
///
/// Needs VIEW_ALL_PROGRESS (or being that member); 404 `member_not_found` for someone who is not
/// a member of the tenant. A page at a time.
#[utoipa::path(
    tag = "certificates",
    params(("user_id" = Uuid, Path, description = "The member"), PageParams),
    responses((status = 200, body = PageOf<CertificateDto>, description = "A page of the member's certificates"), AuthErrors, InputErrors, NotFound)
)]
#[get("/members/{user_id}/certificates")]
pub(crate) async fn list_member_certificates(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId(path.into_inner());
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| certificates::list(conn, &ctx.actor, user, &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(list, |c| certificate_dto(&ctx.state, c))))
}

/// An override to apply.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "module_id": "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0",
    "action": "COMPLETE",
    "reason": "Completed the classroom session on 2026-11-12",
    "allow_certificate": true
}))]
pub(crate) struct OverrideBody {
    module_id: Uuid,
    /// COMPLETE (record a completion) or RESET (archive the member's progress on the module).
    action: OverrideAction,
    /// Why, 1 to 1000 characters, not blank; audited.
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000, pattern = "\\S")]
    reason: String,
    /// On COMPLETE: also issue a certificate (default false).
    #[serde(default)]
    #[schema(default = false)]
    allow_certificate: bool,
}

/// Create a progress override: complete or reset a member's progress on a module.
///
/// Needs OVERRIDE_PROGRESS; audited and reversible (`POST /v1/progress-overrides/{id}/revert`).
/// Never your own progress (403 `cannot_override_own_progress`). 404 `member_not_found` /
/// `module_not_found`; 409 `already_completed` for a COMPLETE of a completed module. With an
/// `Idempotency-Key`, a retry applies nothing more and answers the first response again.
#[utoipa::path(
    tag = "progress",
    params(("user_id" = Uuid, Path, description = "The member"), IdempotencyHeader),
    request_body = OverrideBody,
    responses((status = 201, body = OverrideDto, description = "Applied"), AuthErrors, InputErrors, NotFound, Conflict, OverrideErrors)
)]
#[post("/members/{user_id}/progress-overrides")]
pub(crate) async fn create_progress_override(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    path: web::Path<Uuid>,
    body: ValidJson<OverrideBody>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId(path.into_inner());
    let body = body.into_inner();
    let request = OverrideRequest {
        module_id: body.module_id,
        action: body.action,
        reason: body.reason,
        allow_certificate: body.allow_certificate,
    };
    let now = ctx.now;
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        overrides::apply(conn, &ctx.actor, user, &request, now)
            .await
            .map(OverrideDto::from)
    })
    .await
}

/// Filter and paging of a member's overrides.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct OverrideQuery {
    /// Only this module.
    module_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List a member's progress overrides, newest first.
///
/// Needs OVERRIDE_PROGRESS or VIEW_ALL_PROGRESS; 404 `member_not_found` for someone who is not a
/// member of the tenant. A page at a time.
#[utoipa::path(
    tag = "progress",
    params(("user_id" = Uuid, Path, description = "The member"), OverrideQuery),
    responses((status = 200, body = PageOf<OverrideDto>, description = "A page of overrides"), AuthErrors, InputErrors, NotFound)
)]
#[get("/members/{user_id}/progress-overrides")]
pub(crate) async fn list_progress_overrides(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<OverrideQuery>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId(path.into_inner());
    let q = query.into_inner();
    let module = q.module_id;
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let rows = ctx
        .write(async |conn| overrides::list(conn, &ctx.actor, user, module, &page).await)
        .await?;
    Ok(HttpResponse::Ok().json(PageOf::map(rows, OverrideDto::from)))
}

/// Your self-assessment of a module.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SelfAssessmentDto {
    module_id: Uuid,
    /// 1–5.
    rating: i32,
    note: String,
    updated_at: DateTime<Utc>,
}

impl From<SelfAssessment> for SelfAssessmentDto {
    fn from(s: SelfAssessment) -> Self {
        Self {
            module_id: s.module_id,
            rating: s.rating,
            note: s.note,
            updated_at: s.updated_at,
        }
    }
}

/// A self-assessment.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "rating": 4, "note": "Confident with ladders; scaffolds need practice." }))]
pub(crate) struct SelfAssessmentBody {
    /// How well you master the module, 1 to 5.
    #[validate(range(min = 1, max = 5))]
    #[schema(minimum = 1, maximum = 5)]
    rating: i32,
    /// At most 2000 characters (default empty).
    #[validate(length(max = 2000))]
    #[serde(default)]
    #[schema(max_length = 2000, default = "")]
    note: String,
}

/// Update (record) your self-assessment of a module.
///
/// Anyone who may see the module (404 `module_not_found` otherwise); replaces your previous one.
#[utoipa::path(
    tag = "progress",
    params(("module_id" = Uuid, Path, description = "The module")),
    request_body = SelfAssessmentBody,
    responses((status = 200, body = SelfAssessmentDto, description = "Recorded"), AuthErrors, InputErrors, NotFound)
)]
#[put("/modules/{module_id}/self-assessment")]
pub(crate) async fn update_self_assessment(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<SelfAssessmentBody>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let body = body.into_inner();
    let saved = ctx
        .write(async |conn| {
            overrides::assess(conn, &ctx.actor, module, body.rating, &body.note, ctx.now).await
        })
        .await?;
    Ok(HttpResponse::Ok().json(SelfAssessmentDto::from(saved)))
}

/// Get your self-assessment of a module.
///
/// 404 `self_assessment_not_found` if you have not assessed it, `module_not_found` if you may
/// not see it.
#[utoipa::path(
    tag = "progress",
    params(("module_id" = Uuid, Path, description = "The module")),
    responses((status = 200, body = SelfAssessmentDto, description = "Your self-assessment"), AuthErrors, NotFound)
)]
#[get("/modules/{module_id}/self-assessment")]
pub(crate) async fn get_self_assessment(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let module = path.into_inner();
    let found = ctx
        .write(async |conn| overrides::self_assessment(conn, &ctx.actor, module).await)
        .await?;
    match found {
        Some(s) => Ok(HttpResponse::Ok().json(SelfAssessmentDto::from(s))),
        None => Err(ApiError::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "self_assessment_not_found",
        )
        .detail("you have not assessed this module")),
    }
}
