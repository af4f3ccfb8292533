//! Progress: completing sections, a module's progress, the member's dashboard, certificates (with
//! their PDF and public verification), administrators' overrides and self-assessments.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::{PageRequest, SectionId, UserId};
use guild_progress::certificates::{self, Certificate, CertificateStatus, Verification};
use guild_progress::completion::{self as progress, ModuleProgress, SectionVideo};
use guild_progress::dashboard::{self, ContinueModule, Dashboard, DashboardModule, RecentModule};
use guild_progress::overrides::{self, Override, OverrideAction, OverrideRequest, SelfAssessment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted, Public};
use crate::error::{ApiError, Problem};
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, forbidden_codes,
};
use crate::routes::segment;
use crate::state::AppState;

/// Registers `/v1/certificates`, `/v1/progress-overrides`, `/v1/sections`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/certificates")
            .service(verify_certificate)
            .service(get_certificate)
            .service(get_certificate_pdf)
            .service(revoke_certificate),
    );
    cfg.service(segment("/progress-overrides").service(revert_progress_override));
    cfg.service(
        segment("/sections")
            .service(submit_video_progress)
            .service(get_video_progress),
    );
}

/// Your progress on a VIDEO section.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VideoProgressDto {
    section_id: Uuid,
    module_id: Uuid,
    /// The longest duration your player reported, in seconds.
    duration_seconds: f64,
    /// What you played, merged: sorted, disjoint `[from, to]` intervals in seconds.
    #[schema(value_type = Vec<Interval>)]
    watched: Vec<(f64, f64)>,
    /// Seconds of `watched`.
    watched_seconds: f64,
    /// `watched_seconds` over the duration, 0 to 100, rounded down.
    watched_percent: i32,
    /// Where to resume, in seconds.
    position_seconds: f64,
    /// The share the tenant requires before the section can be completed (0: none).
    required_percent: i32,
    updated_at: DateTime<Utc>,
}

impl From<guild_progress::video::VideoProgress> for VideoProgressDto {
    fn from(v: guild_progress::video::VideoProgress) -> Self {
        Self {
            section_id: v.section_id,
            module_id: v.module_id,
            duration_seconds: v.duration_seconds,
            watched: v.watched,
            watched_seconds: v.watched_seconds,
            watched_percent: v.watched_percent,
            position_seconds: v.position_seconds,
            required_percent: v.required_percent,
            updated_at: v.updated_at,
        }
    }
}

/// A played interval `[from, to]` in seconds (the schema of the intervals' items).
pub(crate) struct Interval;

impl utoipa::PartialSchema for Interval {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
        ArrayBuilder::new()
            .items(ObjectBuilder::new().schema_type(SchemaType::new(Type::Number)))
            .min_items(Some(2))
            .max_items(Some(2))
            .description(Some(
                "`[from, to]` in seconds, `0 <= from < to <= duration`.",
            ))
            .examples([serde_json::json!([0.0, 42.5])])
            .into()
    }
}

impl ToSchema for Interval {}

/// What your player played since its last report.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "intervals": [[0.0, 42.5], [60.0, 75.0]], "position": 75.0, "duration": 300.0 }))]
pub(crate) struct VideoProgressBody {
    /// The intervals actually played, `[from, to]` in seconds with `0 <= from < to <= duration`
    /// (up to 200); a jump ahead is not played, so it is not reported.
    #[validate(length(max = 200))]
    #[schema(value_type = Vec<Interval>, max_items = 200)]
    intervals: Vec<(f64, f64)>,
    /// Where the player is now, in seconds (0 to `duration`): where you resume.
    #[validate(range(min = 0.0, max = 86_400.0))]
    #[schema(minimum = 0.0, maximum = 86_400.0)]
    position: f64,
    /// The video's duration in seconds (above 0, at most a day).
    #[validate(range(exclusive_min = 0.0, max = 86_400.0))]
    #[schema(exclusive_minimum = 0, maximum = 86_400.0)]
    duration: f64,
}

/// Report video progress.
///
/// Your player reports what it played of a VIDEO section of a module you can see: the watched
/// share is the union of every interval reported (overlaps count once, seeking ahead adds
/// nothing); the position is where you resume. The tenant's `video_completion_percent` (default
/// 90) must be watched before completing the section (409 `video_not_watched`). 404
/// `section_not_found`; 422 `validation_failed` for an interval outside the video, a position
/// past it, or a section that is not a video (`not_a_video`).
#[utoipa::path(
    tag = "progress",
    params(("section_id" = Uuid, Path, description = "The VIDEO section")),
    request_body = VideoProgressBody,
    responses((status = 200, body = VideoProgressDto, description = "Your progress on the video"), AuthErrors, InputErrors, NotFound)
)]
#[post("/sections/{section_id}/video-progress")]
pub(crate) async fn submit_video_progress(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<VideoProgressBody>,
) -> Result<web::Json<VideoProgressDto>, ApiError> {
    let section = path.into_inner();
    let b = body.into_inner();
    let report = guild_progress::video::Report {
        intervals: b.intervals,
        position: b.position,
        duration: b.duration,
    };
    let progress = ctx
        .write(async |conn| {
            guild_progress::video::report(conn, &ctx.actor, section, &report, ctx.now).await
        })
        .await?;
    Ok(web::Json(progress.into()))
}

/// Get your video progress.
///
/// What you watched of a VIDEO section and where to resume; `null` before your first report.
/// 404 `section_not_found` (also for a section that is not a video).
#[utoipa::path(
    tag = "progress",
    params(("section_id" = Uuid, Path, description = "The VIDEO section")),
    responses((status = 200, body = Option<VideoProgressDto>, description = "Your progress on the video, or null"), AuthErrors, NotFound)
)]
#[get("/sections/{section_id}/video-progress")]
pub(crate) async fn get_video_progress(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<Option<VideoProgressDto>>, ApiError> {
    let section = path.into_inner();
    let progress = ctx
        .write(async |conn| guild_progress::video::get(conn, &ctx.actor, section).await)
        .await?;
    Ok(web::Json(progress.map(VideoProgressDto::from)))
}

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

/// A certificate.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificateDto {
    id: Uuid,
    /// The public verification code.
    code: String,
    user_id: Uuid,
    /// Null once the module was deleted (its certificates were revoked then).
    module_id: Option<Uuid>,
    holder_name: String,
    module_title: String,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    status: CertificateStatus,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
    /// Where anyone can verify it.
    verify_url: String,
}

fn verify_url(state: &AppState, code: &str) -> String {
    format!("{}/v1/certificates/verify/{code}", state.api_url)
}

fn certificate_dto(state: &AppState, c: Certificate) -> CertificateDto {
    CertificateDto {
        status: c.status(state.clock.now()),
        verify_url: verify_url(state, &c.code),
        id: c.id,
        code: c.code,
        user_id: c.user_id,
        module_id: c.module_id,
        holder_name: c.holder_name,
        module_title: c.module_title,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        revoked_at: c.revoked_at,
        revoked_reason: c.revoked_reason,
    }
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

/// Get a certificate.
///
/// Its holder, or VIEW_ALL_PROGRESS; anyone else gets 404 `certificate_not_found`.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    responses((status = 200, body = CertificateDto, description = "The certificate"), AuthErrors, NotFound)
)]
#[get("/certificates/{certificate_id}")]
pub(crate) async fn get_certificate(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let certificate = ctx
        .write(async |conn| certificates::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(HttpResponse::Ok().json(certificate_dto(&ctx.state, certificate)))
}

/// Get a certificate as a printable PDF.
///
/// A4 landscape, with the holder, the module, the dates and a QR code of its verification URL.
/// Its holder, or VIEW_ALL_PROGRESS; anyone else gets 404 `certificate_not_found`.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    responses((status = 200, content_type = "application/pdf", body = PdfFile, description = "The PDF (shown inline)"), AuthErrors, NotFound)
)]
#[get("/certificates/{certificate_id}/pdf")]
pub(crate) async fn get_certificate_pdf(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (certificate, tenant_name) = ctx
        .write(async |conn| {
            let certificate = certificates::get(conn, &ctx.actor, id).await?;
            let name = certificates::tenant_name(conn, &ctx.actor).await?;
            Ok::<_, guild_learning::LearningError>((certificate, name))
        })
        .await?;
    let url = verify_url(&ctx.state, &certificate.code);
    let issued = certificate.issued_at.format("%Y-%m-%d").to_string();
    let expires = certificate
        .expires_at
        .map(|e| e.format("%Y-%m-%d").to_string());
    let code = certificate.code.clone();
    let bytes = web::block(move || {
        guild_documents::certificate_pdf(&guild_documents::Certificate {
            tenant_name: &tenant_name,
            holder_name: &certificate.holder_name,
            module_title: &certificate.module_title,
            issued_on: &issued,
            expires_on: expires.as_deref(),
            code: &certificate.code,
            verify_url: &url,
        })
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"certificate-{code}.pdf\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

/// A PDF file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "application/pdf")]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct PdfFile(Vec<u8>);

/// A revocation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "reason": "Issued by mistake: the quiz was graded twice" }))]
pub(crate) struct RevokeBody {
    /// Why, 1 to 1000 characters (shown to administrators; verification only shows REVOKED).
    #[validate(length(min = 1, max = 1000))]
    #[schema(min_length = 1, max_length = 1000)]
    pub(crate) reason: String,
}

/// Revoke a certificate.
///
/// Needs OVERRIDE_PROGRESS; audited. Verification then shows it REVOKED. 409 `already_revoked`
/// for a certificate revoked before.
#[utoipa::path(
    tag = "certificates",
    params(("certificate_id" = Uuid, Path, description = "The certificate")),
    request_body = RevokeBody,
    responses((status = 200, body = CertificateDto, description = "Revoked"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[post("/certificates/{certificate_id}/revoke")]
pub(crate) async fn revoke_certificate(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<RevokeBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let reason = body.into_inner().reason;
    let certificate = ctx
        .write(async |conn| certificates::revoke(conn, &ctx.actor, id, &reason, ctx.now).await)
        .await?;
    Ok(HttpResponse::Ok().json(certificate_dto(&ctx.state, certificate)))
}

/// What a public verification shows: nothing but these fields.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerificationDto {
    holder_name: String,
    module_title: String,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    status: CertificateStatus,
}

impl From<Verification> for VerificationDto {
    fn from(v: Verification) -> Self {
        Self {
            holder_name: v.holder_name,
            module_title: v.module_title,
            issued_at: v.issued_at,
            expires_at: v.expires_at,
            status: v.status,
        }
    }
}

/// Verify a certificate by its code.
///
/// Public, no sign-in: anyone holding the code printed on a certificate sees its holder, module,
/// dates and status, and nothing else. 404 `certificate_not_found` for an unknown code.
#[utoipa::path(
    tag = "certificates",
    security(()),
    params(("code" = String, Path, description = "The code printed on the certificate")),
    responses(
        (status = 200, body = VerificationDto, description = "The certificate's holder, module, dates and status"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "`certificate_not_found`")
    )
)]
#[get("/certificates/verify/{code}")]
pub(crate) async fn verify_certificate(
    cx: Public,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let mut conn = cx.conn().await?;
    let found = certificates::verify(&mut conn, &code, cx.now).await?;
    match found {
        Some(v) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(VerificationDto::from(v))),
        None => Err(ApiError::from(
            guild_learning::LearningError::CertificateNotFound,
        )),
    }
}

/// A progress override.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OverrideDto {
    id: Uuid,
    user_id: Uuid,
    module_id: Uuid,
    action: OverrideAction,
    reason: String,
    allow_certificate: bool,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    /// The certificate issued (COMPLETE) or revoked (RESET).
    certificate_id: Option<Uuid>,
    reverted_at: Option<DateTime<Utc>>,
    reverted_by: Option<Uuid>,
}

impl From<Override> for OverrideDto {
    fn from(o: Override) -> Self {
        Self {
            id: o.id,
            user_id: o.user_id,
            module_id: o.module_id,
            action: o.action,
            reason: o.reason,
            allow_certificate: o.allow_certificate,
            created_by: o.created_by,
            created_at: o.created_at,
            certificate_id: o.certificate_id,
            reverted_at: o.reverted_at,
            reverted_by: o.reverted_by,
        }
    }
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

/// 403 of overriding progress.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum OverrideErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `cannot_override_own_progress` (another admin overrides yours, whatever your role)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
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

/// Revert a progress override: exactly what it changed is undone.
///
/// Needs OVERRIDE_PROGRESS; audited. Never an override of your own progress (403
/// `cannot_override_own_progress`). 409 `already_reverted` for an override reverted before.
#[utoipa::path(
    tag = "progress",
    params(("override_id" = Uuid, Path, description = "The override")),
    responses((status = 200, body = OverrideDto, description = "Reverted"), AuthErrors, NotFound, Conflict, OverrideErrors)
)]
#[post("/progress-overrides/{override_id}/revert")]
pub(crate) async fn revert_progress_override(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let row = ctx
        .write(async |conn| overrides::revert(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(HttpResponse::Ok().json(OverrideDto::from(row)))
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
