//! `/v1/me/calendar-feed`: your personal calendar URL — the live events you hold a seat for and
//! the due dates of your assigned modules, for Google Calendar, Outlook or Apple Calendar to
//! subscribe to. Read at `/v1/calendar-feeds/{token}` ([`crate::routes::calendar_feeds`]).

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{DateTime, Utc};
use guild_live::feeds;
use serde::Serialize;
use utoipa::ToSchema;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, NotFound};

/// Your calendar feed (its URL is shown only when issued).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CalendarFeedDto {
    /// When the current URL was issued.
    created_at: DateTime<Utc>,
    /// When a calendar application last read it.
    last_read_at: Option<DateTime<Utc>>,
}

/// A newly issued calendar feed URL, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IssuedCalendarFeedDto {
    /// The `https` URL to subscribe to. Anyone holding it reads your calendar: keep it private;
    /// issuing a new one or deleting it revokes it.
    #[schema(
        example = "https://api.guild.example.com/v1/calendar-feeds/0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e.Xq2…"
    )]
    url: String,
    /// The same address with the `webcal` scheme, which calendar applications open directly.
    webcal_url: String,
    /// When it was issued.
    created_at: DateTime<Utc>,
}

/// Get your calendar feed.
///
/// Whether you have a calendar URL, when it was issued and last read. 404
/// `calendar_feed_not_found` when you have none.
#[utoipa::path(tag = "events",
    responses((status = 200, body = CalendarFeedDto, description = "Your feed"), AuthErrors, NotFound))]
#[get("/me/calendar-feed")]
pub(crate) async fn get_my_calendar_feed(ctx: Ctx) -> Result<web::Json<CalendarFeedDto>, ApiError> {
    let feed = ctx
        .read(async |conn| feeds::get(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(CalendarFeedDto {
        created_at: feed.created_at,
        last_read_at: feed.last_read_at,
    }))
}

/// Issue your calendar feed URL.
///
/// Any member (an API key only with `act_as_member`): a new secret URL listing the live events
/// you hold a seat for (from 90 days ago on; cancelled ones marked so) and an all-day entry on
/// the due date of each assigned module you have not completed. Shown once; calling again
/// issues a new URL and revokes the previous one.
#[utoipa::path(tag = "events",
    responses((status = 200, body = IssuedCalendarFeedDto, description = "The new URL"), AuthErrors))]
#[put("/me/calendar-feed")]
pub(crate) async fn create_my_calendar_feed(
    ctx: Ctx,
) -> Result<web::Json<IssuedCalendarFeedDto>, ApiError> {
    let now = ctx.now;
    let issued = ctx
        .write(async |conn| feeds::issue(conn, &ctx.actor, now).await)
        .await?;
    let url = format!(
        "{}/v1/calendar-feeds/{}.ics",
        ctx.state.api_url, issued.token
    );
    let webcal_url = url
        .split_once("://")
        .map_or_else(|| url.clone(), |(_, rest)| format!("webcal://{rest}"));
    Ok(web::Json(IssuedCalendarFeedDto {
        url,
        webcal_url,
        created_at: issued.created_at,
    }))
}

/// Revoke your calendar feed URL.
///
/// Calendar applications subscribed to it get 404 from then on. 404 `calendar_feed_not_found`
/// when you have none.
#[utoipa::path(tag = "events",
    responses((status = 204, description = "Revoked"), AuthErrors, NotFound))]
#[delete("/me/calendar-feed")]
pub(crate) async fn revoke_my_calendar_feed(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    ctx.write(async |conn| feeds::revoke(conn, &ctx.actor).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
