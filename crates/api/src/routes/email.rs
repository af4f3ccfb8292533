//! `/v1/email`: what an email's recipient does without signing in — the one-click unsubscribe
//! (RFC 8058) of notification and digest emails.

use actix_web::{get, post, web};
use guild_kernel::{TenantId, UserId};
use guild_notifications::NotificationType;
use guild_notifications::unsubscribe::{Scope, Unsubscribe};
use guild_tenancy::preferences::{self, DigestFrequency, EmailPreferences};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::Public;
use crate::error::{ApiError, Problem};
use crate::routes::segment;

/// Registers `/v1/email`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/email")
            .service(get_email_unsubscribe)
            .service(unsubscribe_email),
    );
}

/// `?token=`, from the email's unsubscribe link.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TokenQuery {
    /// The signed token of the link.
    #[param(min_length = 1, max_length = 512)]
    token: String,
}

guild_kernel::string_enum!(
    /// What an unsubscribe link turns off.
    UnsubscribeScope {
        /// The emails of one notification type.
        Type => "TYPE",
        /// Every notification email, digests included.
        All => "ALL",
    }
);

/// What an unsubscribe link does, and where it stands.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UnsubscribeDto {
    /// The tenant whose emails.
    tenant_id: Uuid,
    /// What the link turns off.
    scope: UnsubscribeScope,
    /// The notification type, when `scope` is `TYPE`.
    #[serde(rename = "type")]
    kind: Option<NotificationType>,
    /// Whether those emails still reach the member.
    subscribed: bool,
}

fn describe(what: &Unsubscribe, prefs: &EmailPreferences) -> UnsubscribeDto {
    let on = prefs.digest != DigestFrequency::Never;
    let (scope, kind, subscribed) = match what.scope {
        Scope::All => (UnsubscribeScope::All, None, on),
        Scope::Type(kind) => {
            let overridden = prefs.type_overrides.0.get(kind.as_str()).copied();
            let wanted = guild_notifications::email::wanted(kind, overridden, |c| {
                use guild_notifications::EmailCategory as C;
                match c {
                    C::NewModules => prefs.new_modules,
                    C::DeadlineReminders => prefs.deadline_reminders,
                    C::QuizResults => prefs.quiz_results,
                    C::CommentReplies => prefs.comment_replies,
                    C::Certificates => prefs.certificates,
                    C::Rewards => prefs.rewards,
                }
            });
            (UnsubscribeScope::Type, Some(kind), on && wanted)
        }
    };
    UnsubscribeDto {
        tenant_id: what.tenant.into_uuid(),
        scope,
        kind,
        subscribed,
    }
}

/// Checks the rate limit of the client's address and the token's signature.
async fn verified(cx: &Public, token: &str) -> Result<Unsubscribe, ApiError> {
    cx.limit_client("token:unsubscribe", cx.state.limits.token_ip)
        .await?;
    cx.state.unsubscribe_key.verify(token).map_err(|e| {
        ApiError::new(actix_web::http::StatusCode::UNAUTHORIZED, "invalid_token")
            .detail(e.to_string())
    })
}

/// What both unsubscribe operations refuse.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum LinkErrors {
    /// Not a token Guild signed, or altered.
    #[response(
        status = 401,
        description = "`invalid_token`: not a link Guild signed, or altered",
        content_type = "application/problem+json"
    )]
    Token(Problem),
    /// The member left the tenant.
    #[response(
        status = 404,
        description = "`member_not_found`",
        content_type = "application/problem+json"
    )]
    Member(Problem),
    /// No token.
    #[response(
        status = 422,
        description = "`validation_failed`: no token",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
    /// Too many links from this address.
    #[response(
        status = 429,
        description = "`rate_limited`",
        content_type = "application/problem+json"
    )]
    Limited(Problem),
}

fn member_not_found() -> ApiError {
    ApiError::new(actix_web::http::StatusCode::NOT_FOUND, "member_not_found")
        .detail("the link's member is no longer in that tenant")
}

/// Show what an unsubscribe link would do.
///
/// Anyone holding the link (no sign-in; rate limited per client address): which emails it turns
/// off and whether they still come. Changes nothing, so mail scanners that follow links do no
/// harm. 401 `invalid_token` for a token Guild did not sign or that was altered; 404
/// `member_not_found` when the member left the tenant.
#[utoipa::path(
    tag = "notifications",
    security(()),
    params(TokenQuery),
    responses((status = 200, body = UnsubscribeDto, description = "What the link turns off"), LinkErrors)
)]
#[get("/email/unsubscribe")]
pub(crate) async fn get_email_unsubscribe(
    cx: Public,
    query: web::Query<TokenQuery>,
) -> Result<web::Json<UnsubscribeDto>, ApiError> {
    let what = verified(&cx, &query.token).await?;
    let now = cx.now;
    let mut conn = cx.conn().await?;
    let prefs = guild_db::tenant_transaction(&mut conn, what.tenant, async |conn| {
        preferences::of_member(conn, what.tenant, what.user, now).await
    })
    .await?
    .ok_or_else(member_not_found)?;
    Ok(web::Json(describe(&what, &prefs)))
}

/// Unsubscribe with one click (RFC 8058).
///
/// What a mail client posts (`List-Unsubscribe=One-Click`, any body is ignored) and what the web
/// app's unsubscribe page posts: no sign-in, the signed token is the credential (rate limited
/// per client address). Turns off the emails of the link's notification type (its per-type
/// switch in the member's email preferences), or every notification email (frequency `NEVER`)
/// for a digest's link. Doing it again changes nothing. Invitation, password-reset and
/// verification emails are not affected. 401 `invalid_token` for a token Guild did not sign or
/// that was altered; 404 `member_not_found` when the member left the tenant.
#[utoipa::path(
    tag = "notifications",
    security(()),
    params(TokenQuery),
    responses((status = 200, body = UnsubscribeDto, description = "Turned off"), LinkErrors)
)]
#[post("/email/unsubscribe")]
pub(crate) async fn unsubscribe_email(
    cx: Public,
    query: web::Query<TokenQuery>,
) -> Result<web::Json<UnsubscribeDto>, ApiError> {
    let what = verified(&cx, &query.token).await?;
    let now = cx.now;
    let kind = match what.scope {
        Scope::Type(kind) => Some(kind.as_str()),
        Scope::All => None,
    };
    let mut conn = cx.conn().await?;
    let prefs = guild_db::tenant_transaction(&mut conn, what.tenant, async |conn| {
        preferences::unsubscribe(conn, what.tenant, what.user, kind, now).await
    })
    .await?
    .ok_or_else(member_not_found)?;
    tracing::info!(tenant = %TenantId::into_uuid(what.tenant), user = %UserId::into_uuid(what.user), "unsubscribed from notification emails");
    Ok(web::Json(describe(&what, &prefs)))
}
