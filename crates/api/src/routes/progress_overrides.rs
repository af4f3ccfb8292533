//! Administrators' progress overrides: `/v1/progress-overrides` (reverting one). Applying and
//! listing a member's overrides are [`super::members::progress_overrides`].

use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use guild_progress::overrides::{self, Override, OverrideAction};
use serde::Serialize;
use utoipa::{IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::{ApiError, Problem};
use crate::routes::common::{AuthErrors, Conflict, NotFound, forbidden_codes};
use crate::routes::segment;

/// Registers `/v1/progress-overrides`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/progress-overrides").service(revert_progress_override));
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
