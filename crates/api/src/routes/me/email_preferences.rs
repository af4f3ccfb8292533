//! `/v1/me/email-preferences`: your email preferences in the current tenant.

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use guild_tenancy::preferences::{self, DigestFrequency, EmailPreferences, PreferenceChanges};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors};

/// Which emails you get, and how often.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EmailPreferencesDto {
    new_modules: bool,
    deadline_reminders: bool,
    quiz_results: bool,
    comment_replies: bool,
    certificates: bool,
    rewards: bool,
    /// How often notification emails are sent.
    digest: DigestFrequency,
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

/// Changes; fields left out keep their value.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quiz_results": false, "digest": "WEEKLY"}))]
pub(crate) struct UpdatePreferences {
    new_modules: Option<bool>,
    deadline_reminders: Option<bool>,
    quiz_results: Option<bool>,
    comment_replies: Option<bool>,
    certificates: Option<bool>,
    rewards: Option<bool>,
    /// How often notification emails are sent.
    digest: Option<DigestFrequency>,
}

/// Get your email preferences.
///
/// Which notification emails you get in the current tenant, and how often (the defaults until
/// you change them). 403 `not_a_member` for the platform owner acting in a tenant they do not
/// belong to.
#[utoipa::path(tag = "auth", responses((status = 200, body = EmailPreferencesDto, description = "Your preferences"), AuthErrors))]
#[get("/me/email-preferences")]
pub(crate) async fn get_email_preferences(
    ctx: Ctx,
) -> Result<web::Json<EmailPreferencesDto>, ApiError> {
    let prefs = ctx
        .write(async |conn| preferences::get(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(prefs.into()))
}

/// Update your email preferences.
///
/// In the current tenant; fields left out keep their value. 403 `not_a_member` for the platform
/// owner acting in a tenant they do not belong to.
#[utoipa::path(
    tag = "auth",
    request_body = UpdatePreferences,
    responses((status = 200, body = EmailPreferencesDto, description = "Updated"), AuthErrors, InputErrors)
)]
#[patch("/me/email-preferences")]
pub(crate) async fn update_email_preferences(
    ctx: Ctx,
    body: ValidJson<UpdatePreferences>,
) -> Result<web::Json<EmailPreferencesDto>, ApiError> {
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
    let prefs = ctx
        .write(async |conn| preferences::update(conn, &ctx.actor, &changes).await)
        .await?;
    Ok(web::Json(prefs.into()))
}
