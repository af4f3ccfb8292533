//! `/v1/calendar-feeds/{token}`: a member's calendar as calendar applications read it, by the
//! secret URL issued at `/v1/me/calendar-feed` — no sign-in.

use std::time::Duration;

use actix_web::{HttpResponse, get, http::header, web};
use guild_kernel::ports::RateRule;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::ctx::Public;
use crate::error::{ApiError, Problem};
use crate::routes::segment;

/// How often one address may read feeds: calendar services fetch many members' feeds from a
/// few addresses, each every few hours.
const READS_PER_MINUTE: RateRule = RateRule {
    limit: 600,
    window: Duration::from_secs(60),
};

/// Registers `/v1/calendar-feeds`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/calendar-feeds").service(get_calendar_feed));
}

/// Read a calendar feed.
///
/// No sign-in: the token is the last segment of the URL issued at `PUT /v1/me/calendar-feed`
/// (`.ics` optional). An iCalendar file (`METHOD:PUBLISH`) with the member's live events (the
/// same UID and SEQUENCE as each event's own file) and the due dates of their assigned modules.
/// 404 `calendar_feed_not_found` for a token that is unknown, revoked, malformed, or whose
/// member is no longer active; 429 `rate_limited` for too many reads from one address.
#[utoipa::path(tag = "events", security(()),
    params(("token" = String, Path, description = "The feed's secret token", max_length = 200)),
    responses((status = 200, content_type = "text/calendar", body = String, description = "The calendar"),
        (status = 404, description = "`calendar_feed_not_found`", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = Problem, content_type = "application/problem+json")))]
#[get("/calendar-feeds/{token}")]
pub(crate) async fn get_calendar_feed(
    cx: Public,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    cx.limit_client("calendar_feed", READS_PER_MINUTE).await?;
    let token = path.into_inner();
    let not_found = || ApiError::from(guild_live::LiveError::NotFound("calendar_feed_not_found"));
    let Some((tenant, secret)) = guild_live::feeds::parse(&token) else {
        return Err(not_found());
    };
    let now = cx.now;
    let host = crate::routes::events::uid_host(&cx.state.api_url).to_owned();
    let mut conn = cx.conn().await?;
    let file = guild_db::tenant_transaction(&mut conn, tenant, async |conn| {
        guild_live::feeds::calendar(conn, tenant, secret, &host, now).await
    })
    .await?
    .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(file))
}
