//! `/v1/me/presence-visibility`: whether others see you online.

use actix_web::{get, put, web};
use guild_notifications::presence;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors};

/// Whether you hide your presence.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"hidden": true}))]
pub(crate) struct PresenceVisibility {
    /// `true`: you never appear in `GET /v1/presence`.
    hidden: bool,
}

/// Get your presence visibility.
///
/// Any member: whether you hide your presence in the current tenant (shown by default).
#[utoipa::path(tag = "presence",
    responses((status = 200, body = PresenceVisibility, description = "Your choice"), AuthErrors))]
#[get("/me/presence-visibility")]
pub(crate) async fn get_presence_visibility(
    ctx: Ctx,
) -> Result<web::Json<PresenceVisibility>, ApiError> {
    ctx.read(async |conn| presence::hidden(conn, &ctx.actor).await)
        .await
        .map(|hidden| web::Json(PresenceVisibility { hidden }))
}

/// Set your presence visibility.
///
/// Any member: hide yourself from the list of who is online (`GET /v1/presence`), or show
/// yourself again; your heartbeats still record your usage sessions. 403 `not_a_member` for the
/// platform owner acting in a tenant they do not belong to.
#[utoipa::path(tag = "presence", request_body = PresenceVisibility,
    responses((status = 200, body = PresenceVisibility, description = "Saved"), AuthErrors, InputErrors))]
#[put("/me/presence-visibility")]
pub(crate) async fn set_presence_visibility(
    ctx: Ctx,
    body: ValidJson<PresenceVisibility>,
) -> Result<web::Json<PresenceVisibility>, ApiError> {
    let (hidden, now) = (body.into_inner().hidden, ctx.now);
    ctx.write(async |conn| presence::set_hidden(conn, &ctx.actor, hidden, now).await)
        .await
        .map(|hidden| web::Json(PresenceVisibility { hidden }))
}
