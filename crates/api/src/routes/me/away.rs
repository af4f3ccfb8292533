//! `/v1/me/away`: a mentor's away period; no question is assigned to them while it lasts.

use actix_web::{HttpResponse, delete, get, put, web};
use chrono::{DateTime, Utc};
use guild_ai::questions::{self, Away};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors};

/// An away period.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "from": "2027-01-04T00:00:00Z", "until": "2027-01-18T00:00:00Z" }))]
pub(crate) struct AwayDto {
    /// From.
    from: DateTime<Utc>,
    /// Until (excluded): after `from`, in the future, at most 366 days after it.
    until: DateTime<Utc>,
}

impl From<Away> for AwayDto {
    fn from(a: Away) -> Self {
        Self {
            from: a.away_from,
            until: a.away_until,
        }
    }
}

/// Get your away period.
///
/// Any member: your away period, or 204 when none is set.
#[utoipa::path(tag = "questions",
    responses((status = 200, body = AwayDto, description = "Your away period"),
        (status = 204, description = "None set"), AuthErrors))]
#[get("/me/away")]
pub(crate) async fn get_my_away(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    let found = ctx
        .write(async |conn| questions::away(conn, &ctx.actor).await)
        .await?;
    Ok(match found {
        Some(away) => HttpResponse::Ok().json(AwayDto::from(away)),
        None => HttpResponse::NoContent().finish(),
    })
}

/// Set your away period.
///
/// Any member, for themselves: while it lasts, no question is assigned to you (escalations go to
/// the module's other mentors). Replaces an earlier one. 422 when `until` is not after `from`,
/// not in the future, or more than 366 days after `from`.
#[utoipa::path(tag = "questions", request_body = AwayDto,
    responses((status = 200, body = AwayDto, description = "Saved"), AuthErrors, InputErrors))]
#[put("/me/away")]
pub(crate) async fn set_my_away(
    ctx: Ctx,
    body: ValidJson<AwayDto>,
) -> Result<web::Json<AwayDto>, ApiError> {
    let (b, now) = (body.into_inner(), ctx.now);
    let saved = ctx
        .write(async |conn| questions::set_away(conn, &ctx.actor, b.from, b.until, now).await)
        .await?;
    Ok(web::Json(saved.into()))
}

/// End your away period.
///
/// Any member: questions may be assigned to you again. Idempotent.
#[utoipa::path(tag = "questions",
    responses((status = 204, description = "Ended"), AuthErrors))]
#[delete("/me/away")]
pub(crate) async fn delete_my_away(ctx: Ctx) -> Result<HttpResponse, ApiError> {
    ctx.write(async |conn| questions::clear_away(conn, &ctx.actor).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
