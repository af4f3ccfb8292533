//! `/v1/me/leaderboard-visibility`: whether you show on the leaderboard.

use actix_web::{HttpResponse, put};
use guild_gamification::leaderboard;
use serde::Deserialize;
use utoipa::ToSchema;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors};

/// Whether to hide yourself.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hidden": true}))]
pub(crate) struct VisibilityBody {
    /// `true`: shown as "Anonymous" without your id.
    hidden: bool,
}

/// Set your leaderboard visibility.
///
/// Any member: hide yourself from the leaderboard (shown as "Anonymous"), or show yourself
/// again. 409 `leaderboard_opt_out_not_allowed` when your organization does not allow hiding.
#[utoipa::path(tag = "gamification", request_body = VisibilityBody,
    responses((status = 200, body = VisibilityBody, description = "Saved"), AuthErrors, InputErrors, Conflict))]
#[put("/me/leaderboard-visibility")]
pub(crate) async fn set_leaderboard_visibility(
    ctx: Ctx,
    body: ValidJson<VisibilityBody>,
) -> Result<HttpResponse, ApiError> {
    let hidden = body.into_inner().hidden;
    ctx.write(async |conn| leaderboard::set_hidden(conn, &ctx.actor, hidden).await)
        .await
        .map(|hidden| HttpResponse::Ok().json(serde_json::json!({ "hidden": hidden })))
}
