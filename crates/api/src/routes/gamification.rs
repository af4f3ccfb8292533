//! `/v1/gamification`: the tenant's gamification settings (XP amounts, rank thresholds, the
//! leaderboard opt-out switch). XP is `/v1/xp` and `/v1/me/xp`, the shop `/v1/rewards` and
//! `/v1/redemptions`, positions `/v1/leaderboard`.

use actix_web::{get, patch, web};
use guild_gamification::settings::{self, Settings, SettingsPatch};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors};
use crate::routes::segment;

/// Registers `/v1/gamification`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/gamification")
            .service(get_settings)
            .service(update_settings),
    );
}

/// The tenant's gamification settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SettingsDto {
    xp_module_completed: i32,
    xp_quiz_high_score: i32,
    xp_mentor_confirmation: i32,
    xp_top_suggestion: i32,
    xp_compliance_renewal: i32,
    xp_event_attended: i32,
    /// XP for completing a learning path.
    xp_path_completed: i32,
    /// Lifetime XP from which a member is POMOCNIK.
    rank_pomocnik: i32,
    /// … MOJSTER.
    rank_mojster: i32,
    /// … MENTOR.
    rank_mentor: i32,
    /// Whether members may hide from the leaderboard.
    leaderboard_opt_out_allowed: bool,
}

impl From<Settings> for SettingsDto {
    fn from(s: Settings) -> Self {
        Self {
            xp_module_completed: s.xp_module_completed,
            xp_quiz_high_score: s.xp_quiz_high_score,
            xp_mentor_confirmation: s.xp_mentor_confirmation,
            xp_top_suggestion: s.xp_top_suggestion,
            xp_compliance_renewal: s.xp_compliance_renewal,
            xp_event_attended: s.xp_event_attended,
            xp_path_completed: s.xp_path_completed,
            rank_pomocnik: s.rank_pomocnik,
            rank_mojster: s.rank_mojster,
            rank_mentor: s.rank_mentor,
            leaderboard_opt_out_allowed: s.leaderboard_opt_out_allowed,
        }
    }
}

/// Settings to change; fields left out are kept. Every number is 0 to 1000000, and the rank
/// thresholds must rise after the change: 0 < `rank_pomocnik` < `rank_mojster` <
/// `rank_mentor` (422 `validation_failed`, `rank_order`, otherwise).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"xp_module_completed": 100, "rank_mentor": 5000, "leaderboard_opt_out_allowed": true}))]
pub(crate) struct SettingsBody {
    /// XP for a completed module.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_module_completed: Option<i32>,
    /// XP for a quiz high score.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_quiz_high_score: Option<i32>,
    /// XP for a confirmed mentor answer.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_mentor_confirmation: Option<i32>,
    /// XP for a top suggestion.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_top_suggestion: Option<i32>,
    /// XP for a compliance renewal.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_compliance_renewal: Option<i32>,
    /// XP for an attended event.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_event_attended: Option<i32>,
    /// XP for a completed learning path.
    #[schema(minimum = 0, maximum = 1_000_000)]
    xp_path_completed: Option<i32>,
    /// Lifetime XP from which a member is POMOCNIK (above 0).
    #[schema(minimum = 1, maximum = 1_000_000)]
    rank_pomocnik: Option<i32>,
    /// … MOJSTER (above `rank_pomocnik`).
    #[schema(minimum = 1, maximum = 1_000_000)]
    rank_mojster: Option<i32>,
    /// … MENTOR (above `rank_mojster`).
    #[schema(minimum = 1, maximum = 1_000_000)]
    rank_mentor: Option<i32>,
    /// Whether members may hide from the leaderboard.
    leaderboard_opt_out_allowed: Option<bool>,
}

/// Get the gamification settings.
///
/// For MANAGE_REWARDS holders: the tenant's XP amounts, rank thresholds and leaderboard opt-out
/// switch.
#[utoipa::path(tag = "gamification", responses((status = 200, body = SettingsDto, description = "The settings"), AuthErrors))]
#[get("/gamification/settings")]
pub(crate) async fn get_settings(ctx: Ctx<Permitted>) -> Result<web::Json<SettingsDto>, ApiError> {
    ctx.write(async |conn| settings::get(conn, &ctx.actor).await)
        .await
        .map(|s| web::Json(s.into()))
}

/// Update the gamification settings.
///
/// For MANAGE_REWARDS holders; fields left out are kept, and the rank thresholds must rise (422
/// `validation_failed` with `rank_order`).
#[utoipa::path(tag = "gamification", request_body = SettingsBody,
    responses((status = 200, body = SettingsDto, description = "Updated"), AuthErrors, InputErrors))]
#[patch("/gamification/settings")]
pub(crate) async fn update_settings(
    ctx: Ctx<Permitted>,
    body: ValidJson<SettingsBody>,
) -> Result<web::Json<SettingsDto>, ApiError> {
    let b = body.into_inner();
    let patch = SettingsPatch {
        xp_module_completed: b.xp_module_completed,
        xp_quiz_high_score: b.xp_quiz_high_score,
        xp_mentor_confirmation: b.xp_mentor_confirmation,
        xp_top_suggestion: b.xp_top_suggestion,
        xp_compliance_renewal: b.xp_compliance_renewal,
        xp_event_attended: b.xp_event_attended,
        xp_path_completed: b.xp_path_completed,
        rank_pomocnik: b.rank_pomocnik,
        rank_mojster: b.rank_mojster,
        rank_mentor: b.rank_mentor,
        leaderboard_opt_out_allowed: b.leaderboard_opt_out_allowed,
    };
    ctx.write(async |conn| settings::update(conn, &ctx.actor, &patch).await)
        .await
        .map(|s| web::Json(s.into()))
}
