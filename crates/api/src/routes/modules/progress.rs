//! Your progress on a module: `/v1/modules/{module_id}/progress` and completing a section
//! (`/v1/modules/{module_id}/sections/{section_id}/complete`). Video progress is
//! [`crate::routes::sections`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::SectionId;
use guild_progress::completion::{self as progress, ModuleProgress, SectionVideo};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, NotFound};

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
