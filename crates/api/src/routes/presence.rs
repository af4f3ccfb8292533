//! `/v1/presence`: who is online in the tenant, the heartbeat that keeps you online, and the
//! tenant's presence switch. Your own choice to hide is `/v1/me/presence-visibility`; your usage
//! sessions `/v1/me/sessions`.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_notifications::presence::{self, OnlineMember, Settings};
use guild_notifications::sessions;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams, forbidden_codes};
use crate::routes::segment;

/// Registers `/v1/presence`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/presence")
            .service(list_online_members)
            .service(mark_me_online)
            .service(get_presence_settings)
            .service(update_presence_settings),
    );
}

/// A member who is online.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OnlineMemberDto {
    id: Uuid,
    name: String,
    /// Online since (without a gap longer than the presence TTL).
    since: DateTime<Utc>,
}

impl From<OnlineMember> for OnlineMemberDto {
    fn from(m: OnlineMember) -> Self {
        Self {
            id: m.user.into_uuid(),
            name: m.name,
            since: m.since,
        }
    }
}

/// The tenant's presence switch.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PresenceSettingsDto {
    /// Whether members see who is online.
    enabled: bool,
}

impl From<Settings> for PresenceSettingsDto {
    fn from(s: Settings) -> Self {
        Self { enabled: s.enabled }
    }
}

/// The switch's new position.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": false}))]
pub(crate) struct PresenceSettingsBody {
    /// Whether members see who is online.
    enabled: bool,
}

/// List who is online.
///
/// Any member: the tenant's members online now — with an open event stream, or a heartbeat
/// (`POST /v1/presence/heartbeat`) within the presence TTL (90 s) — by name, a page at a time.
/// Members who hide their presence are left out. 403 `presence_disabled` when your organization
/// turned presence off.
#[utoipa::path(tag = "presence", params(PageParams),
    responses((status = 200, body = PageOf<OnlineMemberDto>, description = "Who is online"),
        (status = 403, description = concat!("Not allowed: ", forbidden_codes!(), "; `presence_disabled` (your organization turned presence off)"), body = crate::error::Problem, content_type = "application/problem+json"),
        AuthErrors, InputErrors))]
#[get("/presence")]
pub(crate) async fn list_online_members(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<OnlineMemberDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let online = ctx
        .state
        .presence
        .online(ctx.actor.tenant_id, ctx.now)
        .await;
    let found = ctx
        .read(async |conn| presence::online_members(conn, &ctx.actor, &online, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, OnlineMemberDto::from)))
}

/// Mark yourself online.
///
/// Any member: you are online for the presence TTL (90 s) from now, and your usage session goes
/// on (a pause longer than 30 minutes since your last heartbeat or open stream starts a new
/// one). Send it every 30 to 60 seconds while your app is in use; an open event stream does the
/// same by itself. 403 `not_a_member` for the platform owner acting in a tenant they do not
/// belong to.
#[utoipa::path(tag = "presence",
    responses((status = 204, description = "You are online"), AuthErrors))]
#[post("/presence/heartbeat")]
pub(crate) async fn mark_me_online(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let now = ctx.now;
    ctx.write(async |conn| sessions::ping_mine(conn, &ctx.actor, now).await)
        .await?;
    ctx.state
        .presence
        .touch(ctx.actor.tenant_id, ctx.actor.user_id, now)
        .await;
    Ok(HttpResponse::NoContent().finish())
}

/// Get the presence settings.
///
/// Any member: whether your organization shows who is online.
#[utoipa::path(tag = "presence",
    responses((status = 200, body = PresenceSettingsDto, description = "The switch"), AuthErrors))]
#[get("/presence/settings")]
pub(crate) async fn get_presence_settings(
    ctx: Ctx,
) -> Result<web::Json<PresenceSettingsDto>, ApiError> {
    let tenant = ctx.actor.tenant_id;
    ctx.read(async |conn| presence::settings(conn, tenant).await)
        .await
        .map(|s| web::Json(s.into()))
}

/// Update the presence settings.
///
/// ADMIN and above (never an API key): turn presence on or off for the whole organization. Off,
/// `GET /v1/presence` answers 403 `presence_disabled`; heartbeats still record usage sessions.
/// Audited as `PRESENCE_SETTINGS_UPDATED`.
#[utoipa::path(tag = "presence", request_body = PresenceSettingsBody,
    responses((status = 200, body = PresenceSettingsDto, description = "Updated"), AuthErrors, InputErrors))]
#[patch("/presence/settings")]
pub(crate) async fn update_presence_settings(
    ctx: Ctx,
    body: ValidJson<PresenceSettingsBody>,
) -> Result<web::Json<PresenceSettingsDto>, ApiError> {
    let (enabled, now) = (body.into_inner().enabled, ctx.now);
    ctx.write(async |conn| presence::update_settings(conn, &ctx.actor, enabled, now).await)
        .await
        .map(|s| web::Json(s.into()))
}
