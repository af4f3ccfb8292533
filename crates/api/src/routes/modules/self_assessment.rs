//! Your self-assessment of a module: `/v1/modules/{module_id}/self-assessment` (a 1–5 rating
//! and a note).

use actix_web::{HttpResponse, get, put, web};
use chrono::{DateTime, Utc};
use guild_progress::overrides::{self, SelfAssessment};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound};

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
