//! Per-tenant gamification settings: XP per source, rank thresholds, leaderboard opt-out. A
//! tenant without a row has the defaults (the column defaults of `gamification_settings`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::gamification_settings as gs;
use guild_kernel::{Actor, Permission, Target, TenantId, authorize};
use serde::{Deserialize, Serialize};

use crate::GamificationError;

/// A tenant's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = gs)]
pub struct Settings {
    /// XP for completing a module.
    pub xp_module_completed: i32,
    /// XP for a quiz high score.
    pub xp_quiz_high_score: i32,
    /// XP for a mentor's confirmed answer.
    pub xp_mentor_confirmation: i32,
    /// XP for a top suggestion.
    pub xp_top_suggestion: i32,
    /// XP for renewing a module before its certificate expired.
    pub xp_compliance_renewal: i32,
    /// XP for attending an event.
    pub xp_event_attended: i32,
    /// XP for completing a learning path.
    pub xp_path_completed: i32,
    /// Lifetime XP from which a member is POMOCNIK.
    pub rank_pomocnik: i32,
    /// Lifetime XP from which a member is MOJSTER.
    pub rank_mojster: i32,
    /// Lifetime XP from which a member is MENTOR.
    pub rank_mentor: i32,
    /// Whether members may hide themselves from the leaderboard.
    pub leaderboard_opt_out_allowed: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            xp_module_completed: 100,
            xp_quiz_high_score: 50,
            xp_mentor_confirmation: 25,
            xp_top_suggestion: 75,
            xp_compliance_renewal: 50,
            xp_event_attended: 30,
            xp_path_completed: 150,
            rank_pomocnik: 1500,
            rank_mojster: 3500,
            rank_mentor: 6000,
            leaderboard_opt_out_allowed: true,
        }
    }
}

guild_kernel::string_enum!(
    /// A member's rank, from lifetime XP and the tenant's thresholds; lowest first.
    Rank {
        /// Apprentice: below POMOCNIK's threshold.
        Vajenec => "VAJENEC",
        /// Helper.
        Pomocnik => "POMOCNIK",
        /// Master.
        Mojster => "MOJSTER",
        /// Mentor: the highest.
        Mentor => "MENTOR",
    }
);

crate::text_column!(Rank);

impl Settings {
    /// The rank `lifetime_xp` earns.
    pub fn rank_for(&self, lifetime_xp: i32) -> Rank {
        if lifetime_xp >= self.rank_mentor {
            Rank::Mentor
        } else if lifetime_xp >= self.rank_mojster {
            Rank::Mojster
        } else if lifetime_xp >= self.rank_pomocnik {
            Rank::Pomocnik
        } else {
            Rank::Vajenec
        }
    }

    /// The next rank above `rank` and its threshold, if any.
    pub fn next_rank(&self, rank: Rank) -> Option<(Rank, i32)> {
        match rank {
            Rank::Vajenec => Some((Rank::Pomocnik, self.rank_pomocnik)),
            Rank::Pomocnik => Some((Rank::Mojster, self.rank_mojster)),
            Rank::Mojster => Some((Rank::Mentor, self.rank_mentor)),
            Rank::Mentor => None,
        }
    }

    /// XP for a source type; `None` for sources without a fixed amount (MANUAL, REDEMPTION).
    pub fn amount_for(&self, source: &str) -> Option<i32> {
        Some(match source {
            "MODULE_COMPLETED" => self.xp_module_completed,
            "QUIZ_HIGH_SCORE" => self.xp_quiz_high_score,
            "MENTOR_CONFIRMATION" => self.xp_mentor_confirmation,
            "TOP_SUGGESTION" => self.xp_top_suggestion,
            "COMPLIANCE_RENEWAL" => self.xp_compliance_renewal,
            "EVENT_ATTENDED" => self.xp_event_attended,
            "PATH_COMPLETED" => self.xp_path_completed,
            _ => return None,
        })
    }
}

/// A partial update; absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SettingsPatch {
    /// See [`Settings`].
    pub xp_module_completed: Option<i32>,
    /// See [`Settings`].
    pub xp_quiz_high_score: Option<i32>,
    /// See [`Settings`].
    pub xp_mentor_confirmation: Option<i32>,
    /// See [`Settings`].
    pub xp_top_suggestion: Option<i32>,
    /// See [`Settings`].
    pub xp_compliance_renewal: Option<i32>,
    /// See [`Settings`].
    pub xp_event_attended: Option<i32>,
    /// See [`Settings`].
    pub xp_path_completed: Option<i32>,
    /// See [`Settings`].
    pub rank_pomocnik: Option<i32>,
    /// See [`Settings`].
    pub rank_mojster: Option<i32>,
    /// See [`Settings`].
    pub rank_mentor: Option<i32>,
    /// See [`Settings`].
    pub leaderboard_opt_out_allowed: Option<bool>,
}

/// The tenant's settings (the defaults when it never changed them).
pub async fn load(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
) -> Result<Settings, GamificationError> {
    Ok(gs::table
        .find(tenant.into_uuid())
        .select(Settings::as_select())
        .first(&mut conn)
        .await
        .optional()?
        .unwrap_or_default())
}

/// Reads the settings (MANAGE_REWARDS).
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<Settings, GamificationError> {
    authorize(actor, Permission::ManageRewards, Target::Tenant)?;
    load(conn, actor.tenant_id).await
}

/// Changes the settings (MANAGE_REWARDS), audited.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    patch: &SettingsPatch,
) -> Result<Settings, GamificationError> {
    authorize(actor, Permission::ManageRewards, Target::Tenant)?;
    let mut s = load(conn, actor.tenant_id).await?;
    let mut errors = Vec::new();
    for (field, value, target) in [
        (
            "xp_module_completed",
            patch.xp_module_completed,
            &mut s.xp_module_completed,
        ),
        (
            "xp_quiz_high_score",
            patch.xp_quiz_high_score,
            &mut s.xp_quiz_high_score,
        ),
        (
            "xp_mentor_confirmation",
            patch.xp_mentor_confirmation,
            &mut s.xp_mentor_confirmation,
        ),
        (
            "xp_top_suggestion",
            patch.xp_top_suggestion,
            &mut s.xp_top_suggestion,
        ),
        (
            "xp_compliance_renewal",
            patch.xp_compliance_renewal,
            &mut s.xp_compliance_renewal,
        ),
        (
            "xp_event_attended",
            patch.xp_event_attended,
            &mut s.xp_event_attended,
        ),
        (
            "xp_path_completed",
            patch.xp_path_completed,
            &mut s.xp_path_completed,
        ),
        ("rank_pomocnik", patch.rank_pomocnik, &mut s.rank_pomocnik),
        ("rank_mojster", patch.rank_mojster, &mut s.rank_mojster),
        ("rank_mentor", patch.rank_mentor, &mut s.rank_mentor),
    ] {
        if let Some(v) = value {
            if !(0..=1_000_000).contains(&v) {
                errors.push(guild_kernel::FieldError::new(
                    field,
                    "range",
                    "must be 0 to 1000000",
                ));
            }
            *target = v;
        }
    }
    if let Some(v) = patch.leaderboard_opt_out_allowed {
        s.leaderboard_opt_out_allowed = v;
    }
    if !(0 < s.rank_pomocnik && s.rank_pomocnik < s.rank_mojster && s.rank_mojster < s.rank_mentor)
    {
        errors.push(guild_kernel::FieldError::new(
            "rank_pomocnik",
            "rank_order",
            "rank thresholds must rise: 0 < POMOCNIK < MOJSTER < MENTOR",
        ));
    }
    if !errors.is_empty() {
        return Err(GamificationError::Invalid(errors));
    }
    let values = || {
        (
            gs::tenant_id.eq(actor.tenant_id.into_uuid()),
            gs::xp_module_completed.eq(s.xp_module_completed),
            gs::xp_quiz_high_score.eq(s.xp_quiz_high_score),
            gs::xp_mentor_confirmation.eq(s.xp_mentor_confirmation),
            gs::xp_top_suggestion.eq(s.xp_top_suggestion),
            gs::xp_compliance_renewal.eq(s.xp_compliance_renewal),
            gs::xp_event_attended.eq(s.xp_event_attended),
            gs::xp_path_completed.eq(s.xp_path_completed),
            gs::rank_pomocnik.eq(s.rank_pomocnik),
            gs::rank_mojster.eq(s.rank_mojster),
            gs::rank_mentor.eq(s.rank_mentor),
            gs::leaderboard_opt_out_allowed.eq(s.leaderboard_opt_out_allowed),
            gs::updated_at.eq(diesel::dsl::now),
        )
    };
    diesel::insert_into(gs::table)
        .values(values())
        .on_conflict(gs::tenant_id)
        .do_update()
        .set(values())
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "GAMIFICATION_SETTINGS_UPDATED",
        "gamification_settings",
        actor.tenant_id.into_uuid(),
        serde_json::to_value(&s).unwrap_or_default(),
    )
    .await?;
    Ok(s)
}
