//! A member's progress overrides: `/v1/members/{user_id}/progress-overrides` (an administrator
//! completes a module for the member or resets their progress on it, audited; the member's
//! list). Reverting one is [`crate::routes::progress_overrides`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use guild_kernel::{PageRequest, UserId};
use guild_progress::overrides::{self, OverrideAction, OverrideRequest};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::progress_overrides::{OverrideDto, OverrideErrors};

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
