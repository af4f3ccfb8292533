//! Attendance confirmed with the link emailed when an event is completed:
//! `/v1/event-attendance`. Its own segment: under `/events` it would sit beside
//! `/events/{event_id}`, whose other methods would answer for it. Hosts confirming attendees
//! are in [`super::events`].

use actix_web::{post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::Public;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{Conflict, InputErrors, NotFound};
use crate::routes::segment;

/// Registers `/v1/event-attendance`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/event-attendance").service(confirm_event_attendance));
}

/// An attendance link's token.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "token": "AZPyp3wecACAAAAAAAAAAQ.k8vN3..." }))]
pub(crate) struct ConfirmAttendanceBody {
    /// The `token` of the link in the email.
    #[validate(length(min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    token: String,
}

/// A confirmed attendance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttendanceDto {
    event_id: Uuid,
    /// When it was confirmed.
    attended_at: DateTime<Utc>,
}

/// Confirm your attendance with the emailed link.
///
/// No sign-in: the token of the link emailed to each registrant when the event is completed
/// names the tenant, the event and the member, signed by Guild. 401 `invalid_token` when Guild
/// did not sign it or it was altered; 410 `attendance_link_expired` 14 days after the event; 409
/// `attendance_link_used` the second time. Earns EVENT_ATTENDED XP once.
#[utoipa::path(tag = "events", security(()), request_body = ConfirmAttendanceBody,
    responses((status = 200, body = AttendanceDto, description = "Confirmed"),
        (status = 401, description = "`invalid_token`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 410, description = "`attendance_link_expired`", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::error::Problem, content_type = "application/problem+json"),
        InputErrors, NotFound, Conflict))]
#[post("/event-attendance")]
pub(crate) async fn confirm_event_attendance(
    cx: Public,
    body: ValidJson<ConfirmAttendanceBody>,
) -> Result<web::Json<AttendanceDto>, ApiError> {
    cx.limit_client("token:attendance", cx.state.limits.token_ip)
        .await?;
    let link = cx.state.event_link_key.verify(&body.into_inner().token)?;
    let now = cx.now;
    let mut conn = cx.conn().await?;
    let attended_at = guild_db::tenant_transaction(&mut conn, link.tenant, async |conn| {
        guild_live::attendance::confirm_by_link(conn, &link, now).await
    })
    .await?;
    Ok(web::Json(AttendanceDto {
        event_id: link.event,
        attended_at,
    }))
}
