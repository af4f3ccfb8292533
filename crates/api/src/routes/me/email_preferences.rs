//! `/v1/me/email-preferences`: your email preferences in the current tenant.

use std::collections::BTreeMap;

use actix_web::{get, patch, web};
use chrono::{DateTime, Utc};
use guild_notifications::{EmailCategory, NotificationType};
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
    /// How often notification emails are sent: `INSTANT` (one email per notification, at
    /// once), `DAILY` or `WEEKLY` (one digest per UTC day, or per week from Monday), `NEVER`.
    digest: DigestFrequency,
    updated_at: DateTime<Utc>,
    /// The notification types you switched on or off yourself, over their category's switch.
    #[schema(value_type = BTreeMap<NotificationType, bool>, example = json!({"RANK_UP": false}))]
    types: BTreeMap<NotificationType, bool>,
    /// Every notification type: its category switch and whether its emails reach you.
    email_types: Vec<EmailTypeDto>,
}

/// Whether one notification type's emails reach you.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EmailTypeDto {
    /// The notification type.
    #[serde(rename = "type")]
    kind: NotificationType,
    /// The category switch that covers it (`NEW_MODULES` is `new_modules`, …); absent for
    /// `SYSTEM`, which only its own switch turns off.
    category: Option<EmailCategory>,
    /// You get its emails (at the frequency of `digest`, unless that is `NEVER`).
    enabled: bool,
    /// You set this type on its own (`types`).
    overridden: bool,
}

fn category_on(p: &EmailPreferences, category: EmailCategory) -> bool {
    match category {
        EmailCategory::NewModules => p.new_modules,
        EmailCategory::DeadlineReminders => p.deadline_reminders,
        EmailCategory::QuizResults => p.quiz_results,
        EmailCategory::CommentReplies => p.comment_replies,
        EmailCategory::Certificates => p.certificates,
        EmailCategory::Rewards => p.rewards,
    }
}

impl From<EmailPreferences> for EmailPreferencesDto {
    fn from(p: EmailPreferences) -> Self {
        let types: BTreeMap<NotificationType, bool> = p
            .type_overrides
            .0
            .iter()
            .filter_map(|(k, v)| Some((k.parse().ok()?, *v)))
            .collect();
        let email_types = NotificationType::ALL
            .iter()
            .map(|kind| {
                let overridden = types.get(kind).copied();
                EmailTypeDto {
                    kind: *kind,
                    category: kind.email_category(),
                    enabled: guild_notifications::email::wanted(*kind, overridden, |c| {
                        category_on(&p, c)
                    }),
                    overridden: overridden.is_some(),
                }
            })
            .collect();
        Self {
            new_modules: p.new_modules,
            deadline_reminders: p.deadline_reminders,
            quiz_results: p.quiz_results,
            comment_replies: p.comment_replies,
            certificates: p.certificates,
            rewards: p.rewards,
            digest: p.digest,
            updated_at: p.updated_at,
            types,
            email_types,
        }
    }
}

/// Changes; fields left out keep their value.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"quiz_results": false, "digest": "WEEKLY", "types": {"RANK_UP": false, "XP_EARNED": null}}))]
pub(crate) struct UpdatePreferences {
    new_modules: Option<bool>,
    deadline_reminders: Option<bool>,
    quiz_results: Option<bool>,
    comment_replies: Option<bool>,
    certificates: Option<bool>,
    rewards: Option<bool>,
    /// How often notification emails are sent.
    digest: Option<DigestFrequency>,
    /// Per-type switches, keyed by notification type: `true` or `false` over the category's
    /// switch, `null` to let the category decide again. Types left out keep their setting.
    #[schema(value_type = Option<BTreeMap<NotificationType, Option<bool>>>)]
    types: Option<BTreeMap<NotificationType, Option<bool>>>,
}

/// Get your email preferences.
///
/// Which notification emails you get in the current tenant, and how often (the defaults until
/// you change them). Every notification type's emails follow its category's switch unless you
/// set the type itself (`types`); `email_types` says, for each, whether its emails reach you.
/// Invitation, password-reset and verification emails are not notifications: they always come.
/// 403 `not_a_member` for the platform owner acting in a tenant they do not belong to.
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
/// In the current tenant; fields left out keep their value, and so do types left out of
/// `types` (an unknown type is 422 `validation_failed`). 403 `not_a_member` for the platform
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
        types: b
            .types
            .unwrap_or_default()
            .into_iter()
            .map(|(kind, on)| (kind.as_str().to_owned(), on))
            .collect(),
    };
    let prefs = ctx
        .write(async |conn| preferences::update(conn, &ctx.actor, &changes, ctx.now).await)
        .await?;
    Ok(web::Json(prefs.into()))
}
