//! Your email preferences in the current tenant.

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use guild_tenancy::preferences::{self, EmailPreferences, PreferenceChanges};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, in_tenant};
use crate::state::AppState;

/// Which emails you get, and how often.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EmailPreferencesDto {
    new_modules: bool,
    deadline_reminders: bool,
    quiz_results: bool,
    comment_replies: bool,
    certificates: bool,
    rewards: bool,
    /// INSTANT, DAILY, WEEKLY or NEVER.
    digest: String,
    updated_at: DateTime<Utc>,
}

impl From<EmailPreferences> for EmailPreferencesDto {
    fn from(p: EmailPreferences) -> Self {
        Self {
            new_modules: p.new_modules,
            deadline_reminders: p.deadline_reminders,
            quiz_results: p.quiz_results,
            comment_replies: p.comment_replies,
            certificates: p.certificates,
            rewards: p.rewards,
            digest: p.digest,
            updated_at: p.updated_at,
        }
    }
}

fn digest_frequency(value: &str) -> Result<(), validator::ValidationError> {
    if ["INSTANT", "DAILY", "WEEKLY", "NEVER"].contains(&value) {
        Ok(())
    } else {
        let mut err = validator::ValidationError::new("one_of");
        err.message = Some("must be one of INSTANT, DAILY, WEEKLY, NEVER".into());
        Err(err)
    }
}

/// Changes; fields left out keep their value.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdatePreferences {
    new_modules: Option<bool>,
    deadline_reminders: Option<bool>,
    quiz_results: Option<bool>,
    comment_replies: Option<bool>,
    certificates: Option<bool>,
    rewards: Option<bool>,
    #[validate(custom(function = "digest_frequency"))]
    digest: Option<String>,
}

/// Get your email preferences in the current tenant.
#[utoipa::path(tag = "auth", responses((status = 200, body = EmailPreferencesDto, description = "Your preferences"), AuthErrors))]
#[get("/email-preferences")]
pub(crate) async fn get_email_preferences(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<web::Json<EmailPreferencesDto>, ApiError> {
    let actor = auth.0;
    let prefs = in_tenant(&state, &actor, async |conn| {
        preferences::get(conn, &actor).await
    })
    .await?;
    Ok(web::Json(prefs.into()))
}

/// Change your email preferences in the current tenant.
#[utoipa::path(
    tag = "auth",
    request_body = UpdatePreferences,
    responses((status = 200, body = EmailPreferencesDto, description = "Updated"), AuthErrors, InputErrors)
)]
#[patch("/email-preferences")]
pub(crate) async fn update_email_preferences(
    state: web::Data<AppState>,
    auth: Auth,
    body: ValidJson<UpdatePreferences>,
) -> Result<web::Json<EmailPreferencesDto>, ApiError> {
    let actor = auth.0;
    let b = body.into_inner();
    let changes = PreferenceChanges {
        new_modules: b.new_modules,
        deadline_reminders: b.deadline_reminders,
        quiz_results: b.quiz_results,
        comment_replies: b.comment_replies,
        certificates: b.certificates,
        rewards: b.rewards,
        digest: b.digest,
    };
    let prefs = in_tenant(&state, &actor, async |conn| {
        preferences::update(conn, &actor, &changes).await
    })
    .await?;
    Ok(web::Json(prefs.into()))
}
