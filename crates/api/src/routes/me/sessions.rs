//! `/v1/me/sessions`: your usage sessions in the current tenant.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use guild_notifications::sessions::{self, UsageSession};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};

/// A stretch of time you used Guild: from the first heartbeat (or open stream) to the last, with
/// no pause longer than 30 minutes.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UsageSessionDto {
    id: Uuid,
    started_at: DateTime<Utc>,
    last_ping_at: DateTime<Utc>,
    /// `last_ping_at - started_at`, in seconds.
    duration_seconds: i64,
}

impl From<UsageSession> for UsageSessionDto {
    fn from(s: UsageSession) -> Self {
        Self {
            id: s.id,
            duration_seconds: s.duration_seconds(),
            started_at: s.started_at,
            last_ping_at: s.last_ping_at,
        }
    }
}

/// List your usage sessions.
///
/// Any member: your sessions in the current tenant, newest first, a page at a time. Heartbeats
/// (`POST /v1/presence/heartbeat`) and open event streams record them; a pause longer than 30
/// minutes starts a new one.
#[utoipa::path(tag = "presence", params(PageParams),
    responses((status = 200, body = PageOf<UsageSessionDto>, description = "Your sessions"), AuthErrors, InputErrors))]
#[get("/me/sessions")]
pub(crate) async fn list_my_sessions(
    ctx: Ctx,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<UsageSessionDto>>, ApiError> {
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let found = ctx
        .read(async |conn| sessions::list_mine(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, UsageSessionDto::from)))
}
