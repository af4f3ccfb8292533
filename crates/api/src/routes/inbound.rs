//! `/v1/inbound`: mail a mail service forwards to Guild. A mentor answers a question by replying
//! to the email that gave it to them: the reply goes to the email's signed `Reply-To`
//! (`guild_notifications::reply`), the deployment's mail service posts the raw message here,
//! and the reply becomes the mentor's answer.
//!
//! The mail service authenticates with the deployment's inbound secret
//! (`GUILD_INBOUND_MAIL_SECRET`, compared in constant time), as the password of HTTP Basic or as
//! a bearer token. The signed address alone says who answers: it binds the tenant, the question
//! and the member it was made for (the tag is checked against the question's assigned mentor,
//! and the mentor who answered it, for a message delivered again), and the answer is then given
//! as that member through `guild_ai::questions::answer_by_email` — the rules of the HTTP answer
//! exactly, once per Message-ID. The `From` header is anyone's to write: it decides nothing, and
//! a sender other than the member is only reported (`sender_matches`) and logged.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, post, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use guild_ai::questions::{self, EmailedAnswer};
use guild_integrations::mail::inbound::{self, InboundEmail};
use guild_kernel::{TenantId, UserId};
use guild_notifications::reply::{self, ReplyToken};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::{IntoResponses, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::Public;
use crate::error::{ApiError, Problem};
use crate::routes::segment;
use crate::state::InboundMail;

/// Registers `/v1/inbound`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/inbound").service(submit_inbound_email));
}

/// The largest message taken (its attachments included).
pub const MAX_MESSAGE: usize = 1 << 20;

/// The longest Message-ID kept as it is; a longer one (or none) is kept as a hash of the message.
const MAX_MESSAGE_ID: usize = 250;

/// A raw email (RFC 5322 / MIME).
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary, content_media_type = "message/rfc822")]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct RawEmail(Vec<u8>);

guild_kernel::string_enum!(
    /// What a received reply did.
    InboundOutcome {
        /// It answered the question.
        Answered => "ANSWERED",
        /// This message (the same Message-ID) answered the question before: nothing changed.
        AlreadyReceived => "ALREADY_RECEIVED",
    }
);

/// What a received reply did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InboundEmailDto {
    outcome: InboundOutcome,
    /// The question it answered.
    question_id: Uuid,
    /// Whether the `From` address is the answering member's own. Only the signed reply address
    /// decides who answers; another sender is reported here and logged.
    sender_matches: bool,
}

/// What the operation refuses.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum InboundErrors {
    /// Not the inbound secret.
    #[response(
        status = 401,
        description = "`invalid_token`: no inbound secret, or not this deployment's",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    /// The reply address is forged, altered, expired or no longer the member's.
    #[response(
        status = 403,
        description = "`reply_address_invalid`: the reply address is not one Guild made, was altered, is older than 30 days, or its question is no longer its member's to answer; `forbidden` or `membership_inactive` when the member may no longer answer",
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
    /// The question is gone.
    #[response(
        status = 404,
        description = "`question_not_found`",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
    /// The question was answered already, or is not waiting for a mentor.
    #[response(
        status = 409,
        description = "`invalid_status_transition`: the question is not waiting for its mentor's answer (answered already by another message or in the app)",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
    /// Not a message, no reply address, or nothing left to answer with.
    #[response(
        status = 422,
        description = "`email_unreadable` (not a MIME message), `reply_address_missing` (sent to no reply address), `validation_failed` (the reply, without what it quotes, is empty or longer than an answer may be)",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
    /// Inbound mail is off.
    #[response(
        status = 503,
        description = "`inbound_mail_not_configured`: `GUILD_INBOUND_MAIL_SECRET` is not set",
        content_type = "application/problem+json"
    )]
    Unavailable(Problem),
}

/// Submit a reply to a notification email.
///
/// For the deployment's mail service, not for members: the raw message (`message/rfc822`, at
/// most 1 MiB) of an email sent to a reply address (`reply+…@GUILD_MAIL_REPLY_DOMAIN`, the
/// `Reply-To` of the email that gives a mentor a question). Authenticated by the deployment's
/// inbound secret (`GUILD_INBOUND_MAIL_SECRET`) as the password of HTTP Basic (any user name) or
/// as a bearer token; 503 `inbound_mail_not_configured` without one. The first reply address
/// among `To`, `Cc`, `Delivered-To` and `X-Original-To` decides: its signature names the
/// tenant, the question and the member (403 `reply_address_invalid` when forged, altered, older
/// than 30 days, or the question moved to another mentor). The text (`text/plain`, else the HTML
/// as text) without quoted lines, the `On … wrote:` header and the signature becomes the
/// member's answer under the rules of `POST /v1/questions/{question_id}/answer`, and the asker
/// is told. The same message delivered again (same Message-ID) answers nothing twice:
/// `ALREADY_RECEIVED`. The `From` header decides nothing (`sender_matches` reports it).
#[utoipa::path(
    tag = "questions",
    security(("inbound_mail_basic" = []), ("inbound_mail_bearer" = [])),
    request_body(content = RawEmail, content_type = "message/rfc822", description = "The raw email, as received"),
    responses((status = 200, body = InboundEmailDto, description = "What the reply did"), InboundErrors)
)]
#[post("/inbound/email")]
pub(crate) async fn submit_inbound_email(
    cx: Public,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<web::Json<InboundEmailDto>, ApiError> {
    let config = authenticate(&cx, &req)?;
    let raw = read_message(&req, payload).await?;
    let email = inbound::parse(&raw).ok_or_else(|| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "email_unreadable")
            .detail("the body is not a MIME message")
    })?;
    let token = email
        .recipients
        .iter()
        .find_map(|address| ReplyToken::parse(address))
        .ok_or_else(|| {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "reply_address_missing").detail(
                format!(
                    "the email was sent to no reply address (reply+…@{})",
                    config.reply_domain
                ),
            )
        })?;
    let body = reply::strip_quoted(&email.text);
    let key = message_key(&email, &raw);
    answer(&cx, &token, &email, &body, &key)
        .await
        .map(web::Json)
}

/// The inbound settings, once the request proved it holds the secret.
fn authenticate<'a>(cx: &'a Public, req: &HttpRequest) -> Result<&'a InboundMail, ApiError> {
    let Some(config) = cx.state.inbound_mail.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "inbound_mail_not_configured",
        )
        .detail("replies by email are not set up on this deployment (GUILD_INBOUND_MAIL_SECRET)"));
    };
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(presented_secret);
    let matches = presented.is_some_and(|p| bool::from(p.as_slice().ct_eq(&config.secret)));
    if !matches {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token")
            .detail(
                "send the inbound mail secret as the password of HTTP Basic or as a bearer token",
            )
            .header(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"guild-inbound-mail\", Bearer"),
            ));
    }
    Ok(config)
}

/// The secret an `Authorization` value carries: a bearer token, or Basic's password.
fn presented_secret(value: &str) -> Option<Vec<u8>> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("Bearer") {
        return Some(rest.as_bytes().to_vec());
    }
    if scheme.eq_ignore_ascii_case("Basic") {
        let decoded = STANDARD.decode(rest).ok()?;
        let colon = decoded.iter().position(|b| *b == b':')?;
        return Some(decoded[colon + 1..].to_vec());
    }
    None
}

/// The body, at most [`MAX_MESSAGE`] bytes, sent as `message/rfc822`.
async fn read_message(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() != Some("message/rfc822") {
        return Err(
            ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
                .detail("send the raw email as message/rfc822"),
        );
    }
    let too_large = || {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
            .detail(format!("an email is at most {MAX_MESSAGE} bytes"))
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_MESSAGE) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_request").detail(e.to_string())
        })?;
        if body.len() + chunk.len() > MAX_MESSAGE {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// What makes a message the same message when delivered again: its Message-ID, or a hash of
/// the whole message without a usable one.
fn message_key(email: &InboundEmail, raw: &[u8]) -> String {
    match email.message_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() && id.len() <= MAX_MESSAGE_ID => format!("id:{id}"),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

fn invalid_address() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "reply_address_invalid").detail(
        "the reply address is not one Guild made, was altered, has expired, or its question is no longer its member's to answer",
    )
}

/// Verifies `token` against the question's mentors and answers as the one it was made for.
async fn answer(
    cx: &Public,
    token: &ReplyToken,
    email: &InboundEmail,
    body: &str,
    key: &str,
) -> Result<InboundEmailDto, ApiError> {
    let (tenant, question, now) = (token.tenant, token.question, cx.now);
    let mut conn = cx.conn().await?;
    // A forged tenant id finds nothing here: row-level security scopes the read to it.
    let candidates = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        questions::repliers(c, tenant, question).await
    })
    .await?
    .ok_or_else(invalid_address)?;
    let member = candidates
        .into_iter()
        .map(UserId)
        .find(|m| token.verify(&cx.state.unsubscribe_key, *m, now))
        .ok_or_else(invalid_address)?;
    let actor = guild_tenancy::actor::load_actor(&mut conn, member, tenant).await?;
    let done = guild_db::tenant_transaction(&mut conn, tenant, async |c| {
        questions::answer_by_email(c, &actor, question, body, key, now).await
    })
    .await?;
    let own_address = guild_db::tenant_read(&mut conn, tenant, async |c| {
        guild_notifications::email::settings(c, tenant, member).await
    })
    .await?
    .map(|s| s.address().to_owned());
    let sender_matches = match (&email.from, &own_address) {
        (Some(from), Some(own)) => from.eq_ignore_ascii_case(own),
        _ => false,
    };
    if !sender_matches {
        // Not the address itself: whose mailbox sent it is personal data the log does not need.
        tracing::info!(tenant = %TenantId::into_uuid(tenant), %question, "an emailed answer came from an address other than its member's");
    }
    let outcome = match done {
        EmailedAnswer::Answered(_) => {
            tracing::info!(tenant = %TenantId::into_uuid(tenant), %question, "question answered by email");
            InboundOutcome::Answered
        }
        EmailedAnswer::AlreadyReceived => InboundOutcome::AlreadyReceived,
    };
    Ok(InboundEmailDto {
        outcome,
        question_id: question,
        sender_matches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_comes_from_basic_or_bearer() {
        let basic = format!("Basic {}", STANDARD.encode("mailer:s3cret:with:colons"));
        assert_eq!(
            presented_secret(&basic),
            Some(b"s3cret:with:colons".to_vec())
        );
        assert_eq!(presented_secret("Bearer abc"), Some(b"abc".to_vec()));
        assert_eq!(presented_secret("bearer  abc "), Some(b"abc".to_vec()));
        assert_eq!(presented_secret("Basic !!!"), None);
        assert_eq!(presented_secret("Digest abc"), None);
        assert_eq!(presented_secret("abc"), None);
    }
}
