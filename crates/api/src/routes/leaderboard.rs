//! `/v1/leaderboard`: positions by XP, all time or this month's or week's, tenant-wide or in a
//! group. Hiding yourself from it is `/v1/me/leaderboard-visibility`
//! ([`crate::routes::me::leaderboard`]).

use actix_web::{get, web};
use guild_gamification::leaderboard::{self, Board, Period};
use guild_kernel::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::{ApiError, Problem};
use crate::routes::common::{AuthErrors, InputErrors, NotFound, forbidden_codes};
use crate::routes::segment;

/// Registers `/v1/leaderboard`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/leaderboard").service(get_leaderboard));
}

/// Leaderboard filters and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct LeaderboardQuery {
    /// `all` (lifetime XP, default), `month` or `week` (XP earned since the start of the UTC
    /// month or ISO week).
    #[param(inline)]
    period: Option<Period>,
    /// Only members of this group (positions within it): for its members and those who may see
    /// its members (VIEW_GROUP_PROGRESS, VIEW_ALL_PROGRESS or MANAGE_GROUPS covering it).
    group_id: Option<Uuid>,
    /// Rows per page: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// A leaderboard row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardEntryDto {
    /// 1 for the top; ties share a position.
    rank_position: i64,
    /// Absent for members who hide themselves.
    user_id: Option<Uuid>,
    /// Their name, or "Anonymous".
    name: String,
    /// XP in the period.
    xp: i32,
}

/// Your own place.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardMeDto {
    rank_position: i64,
    xp: i32,
}

/// A page of the leaderboard, with your own place even when it is not on the page.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LeaderboardDto {
    data: Vec<LeaderboardEntryDto>,
    next_cursor: Option<String>,
    me: LeaderboardMeDto,
}

impl From<Board> for LeaderboardDto {
    fn from(b: Board) -> Self {
        Self {
            data: b
                .data
                .into_iter()
                .map(|e| LeaderboardEntryDto {
                    rank_position: e.rank_position,
                    user_id: e.user_id,
                    name: e.name,
                    xp: e.xp,
                })
                .collect(),
            next_cursor: b.next_cursor,
            me: LeaderboardMeDto {
                rank_position: b.me.rank_position,
                xp: b.me.xp,
            },
        }
    }
}

/// Who may not see a group's board.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum LeaderboardErrors {
    /// Not allowed.
    #[response(
        status = 403,
        description = concat!(
            "Not allowed: ",
            forbidden_codes!(),
            "; `leaderboard_group_forbidden` (a group's board is for its members and those who may see its members)"
        ),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

/// Get the leaderboard.
///
/// Any member: all time by lifetime XP, or this month's or week's earned XP.
/// A group's board (`group_id`) is shown to the group's members and to those who may see its
/// members; others get 403 `leaderboard_group_forbidden`, an unknown group 404
/// `group_not_found`. The cursor names no member.
#[utoipa::path(tag = "gamification", params(LeaderboardQuery),
    responses((status = 200, body = LeaderboardDto, description = "The board"), AuthErrors, InputErrors, NotFound, LeaderboardErrors))]
#[get("/leaderboard")]
pub(crate) async fn get_leaderboard(
    ctx: Ctx,
    query: web::Query<LeaderboardQuery>,
) -> Result<web::Json<LeaderboardDto>, ApiError> {
    let q = query.into_inner();
    let period = q.period.unwrap_or(Period::All);
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    ctx.read(async |conn| {
        leaderboard::board(
            conn,
            &ctx.actor,
            period,
            q.group_id.map(guild_kernel::GroupId),
            &page,
            ctx.now,
        )
        .await
    })
    .await
    .map(|board| web::Json(board.into()))
}
