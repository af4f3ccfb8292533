//! Webhooks: `/v1/webhooks`. MANAGE_WEBHOOKS holders (ADMIN and above by role) register `https`
//! endpoints for the catalog's event types, get each endpoint's `whsec_` secret once (on create
//! and on rotate), read its delivery log and send it a test ping. Messages are signed per the
//! Standard Webhooks specification and POSTed through the SSRF guard
//! ([`crate::reactions::webhooks`]).

use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_webhooks::catalog;
use guild_webhooks::deliveries::{self, Attempt, Delivery, DeliveryStatus};
use guild_webhooks::endpoints::{self, Endpoint, EndpointChanges, EndpointInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{IfMatch, Revised, Tagged, with_etag};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::modules::PreconditionErrors;
use crate::routes::segment;

/// Registers `/v1/webhooks`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/webhooks")
            .service(list_webhook_event_types)
            .service(list_webhook_endpoints)
            .service(create_webhook_endpoint)
            .service(get_webhook_endpoint)
            .service(update_webhook_endpoint)
            .service(delete_webhook_endpoint)
            .service(rotate_webhook_secret)
            .service(send_webhook_ping)
            .service(list_webhook_deliveries)
            .service(get_webhook_delivery)
            .service(replay_webhook_delivery)
            .service(replay_failed_webhook_deliveries),
    );
}

/// An event type of the catalog.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventTypeDto {
    /// The envelope's `type`, e.g. `module.completed`.
    name: String,
    /// What happened.
    description: String,
    /// An endpoint may subscribe to it (`webhook.ping` is sent on request only).
    subscribable: bool,
}

/// A webhook endpoint (never its secret). The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookEndpointDto {
    id: Uuid,
    /// Where messages are POSTed.
    url: String,
    description: String,
    /// The catalog's event types it receives.
    event_types: Vec<String>,
    /// Messages are sent to it.
    enabled: bool,
    /// Why it is disabled: `MANUAL` (an admin) or `FAILING` (its deliveries kept failing).
    disabled_reason: Option<String>,
    disabled_at: Option<DateTime<Utc>>,
    /// Until when the secret replaced by the last rotation also signs.
    previous_secret_until: Option<DateTime<Utc>>,
    /// Deliveries that ran out of attempts since the last success.
    consecutive_failures: i32,
    /// The `ETag`; send it back in `If-Match` to change or delete the endpoint.
    revision: i32,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Revised for WebhookEndpointDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl From<Endpoint> for WebhookEndpointDto {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            disabled_at: e.disabled_at,
            previous_secret_until: e.previous_secret_until,
            consecutive_failures: e.consecutive_dead,
            revision: e.revision,
            created_by: e.created_by,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

/// An endpoint to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://hooks.example.com/guild",
    "description": "HR system",
    "event_types": ["module.completed", "certificate.issued"]
}))]
pub(crate) struct CreateWebhookEndpoint {
    /// An `https` URL on the default port whose host resolves only to public addresses.
    #[validate(length(min = 9, max = 2000))]
    #[schema(min_length = 9, max_length = 2000, format = "uri")]
    url: String,
    /// What it is for, up to 500 characters.
    #[serde(default)]
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    description: String,
    /// Event types of the catalog (`GET /v1/webhooks/event-types`), 1 to 100.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_items = 1, max_items = 100)]
    event_types: Vec<String>,
}

/// Changes to an endpoint; absent fields stay.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "enabled": true }))]
pub(crate) struct UpdateWebhookEndpoint {
    /// A new `https` URL.
    #[validate(length(min = 9, max = 2000))]
    #[schema(min_length = 9, max_length = 2000, format = "uri")]
    url: Option<String>,
    /// A new description.
    #[validate(length(max = 500))]
    #[schema(max_length = 500)]
    description: Option<String>,
    /// New event types.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_items = 1, max_items = 100)]
    event_types: Option<Vec<String>>,
    /// `false` stops deliveries; `true` resumes them (a disabled endpoint's failures are
    /// forgotten).
    enabled: Option<bool>,
}

/// An endpoint with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookEndpointWithSecret {
    endpoint: WebhookEndpointDto,
    /// `whsec_` and the base64 of 32 random bytes: the key of the messages' HMAC-SHA256
    /// signatures (Standard Webhooks). Shown only now; it cannot be read again.
    secret: String,
}

/// A secret rotation.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "overlap_seconds": 86400 }))]
pub(crate) struct RotateWebhookSecret {
    /// How long the replaced secret keeps signing beside the new one (both signatures are sent),
    /// 0 to 604800 seconds; 86400 (a day) when left out.
    #[validate(range(min = 0, max = 604_800))]
    #[schema(minimum = 0, maximum = 604_800)]
    overlap_seconds: Option<i64>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookAttemptDto {
    id: Uuid,
    attempted_at: DateTime<Utc>,
    /// The answer's status; absent when none came.
    status_code: Option<i32>,
    /// How long it took.
    latency_ms: i32,
    /// The first kilobyte of the answer's body.
    response_excerpt: String,
    /// Why no usable answer came: refused by the SSRF guard, timed out, unreachable.
    error: Option<String>,
    /// It got a 2xx.
    succeeded: bool,
}

impl From<Attempt> for WebhookAttemptDto {
    fn from(a: Attempt) -> Self {
        Self {
            id: a.id,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response_excerpt: a.response_excerpt,
            error: a.error,
            succeeded: a.succeeded,
        }
    }
}

/// A message to an endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WebhookDeliveryDto {
    /// The message's `webhook-id`, the same on every attempt and replay.
    id: Uuid,
    endpoint_id: Uuid,
    /// The envelope's `type`.
    event_type: String,
    status: DeliveryStatus,
    attempt_count: i32,
    /// When the next attempt is due (`PENDING` only).
    next_attempt_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    created_at: DateTime<Utc>,
    /// The body POSTed: `{type, timestamp, data}`.
    #[schema(value_type = Object)]
    payload: serde_json::Value,
    /// Its attempts, oldest first (on a single delivery only).
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<Vec<WebhookAttemptDto>>,
}

impl WebhookDeliveryDto {
    fn of(d: Delivery, attempts: Option<Vec<Attempt>>) -> Self {
        Self {
            payload: deliveries::envelope(&d),
            id: d.id,
            endpoint_id: d.endpoint_id,
            event_type: d.event_type,
            status: d.status,
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            created_at: d.created_at,
            attempts: attempts.map(|a| a.into_iter().map(WebhookAttemptDto::from).collect()),
        }
    }
}

/// A window of failed deliveries to send again.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "since": "2026-12-10T00:00:00Z", "until": "2026-12-11T00:00:00Z" }))]
pub(crate) struct ReplayFailed {
    /// Deliveries created at or after this time…
    since: DateTime<Utc>,
    /// …and before this one, at most 7 days later.
    until: DateTime<Utc>,
}

/// How many deliveries were queued again.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReplayedDto {
    /// `FAILED` deliveries made `PENDING` again (at most 1000), sent within a minute.
    replayed: usize,
}

/// Which deliveries, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeliveryQuery {
    /// Only deliveries of this status.
    status: Option<DeliveryStatus>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// List the webhook event types.
///
/// Every member: the catalog of event types an endpoint may subscribe to, each with its payload
/// schema in this document's `webhooks` section. Every message is a JSON envelope
/// `{type, timestamp, data}` signed per Standard Webhooks.
#[utoipa::path(tag = "webhooks",
    responses((status = 200, body = Vec<EventTypeDto>, description = "The catalog"), AuthErrors))]
#[get("/webhooks/event-types")]
pub(crate) async fn list_webhook_event_types(
    _ctx: Ctx<Permitted>,
) -> Result<web::Json<Vec<EventTypeDto>>, ApiError> {
    Ok(web::Json(
        catalog::CATALOG
            .iter()
            .map(|t| EventTypeDto {
                name: t.name.to_owned(),
                description: t.description.to_owned(),
                subscribable: t.name != catalog::PING,
            })
            .collect(),
    ))
}

/// List the webhook endpoints.
///
/// MANAGE_WEBHOOKS holders (ADMIN and above; an API key only with that permission): every
/// endpoint of the tenant, newest first, a page at a time.
#[utoipa::path(tag = "webhooks", params(PageParams),
    responses((status = 200, body = PageOf<WebhookEndpointDto>, description = "The endpoints"), AuthErrors, InputErrors))]
#[get("/webhooks/endpoints")]
pub(crate) async fn list_webhook_endpoints(
    ctx: Ctx<Permitted>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<WebhookEndpointDto>>, ApiError> {
    let page = PageRequest::from(&query.into_inner());
    let found = ctx
        .write(async |conn| endpoints::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, WebhookEndpointDto::from)))
}

/// Create a webhook endpoint.
///
/// MANAGE_WEBHOOKS holders. The URL must be `https` on the default port, not an IP literal of a
/// private, loopback or link-local address (422 `validation_failed`, `url_not_allowed`); a name
/// resolving to one is refused when a message is sent. At most 20 endpoints per tenant (409
/// `webhook_endpoint_limit_reached`). The secret is in this response only. Takes no
/// `Idempotency-Key`: a stored response would keep the secret.
#[utoipa::path(tag = "webhooks", request_body = CreateWebhookEndpoint,
    responses((status = 201, body = WebhookEndpointWithSecret, description = "Created; the secret is shown once"), AuthErrors, InputErrors, Conflict))]
#[post("/webhooks/endpoints")]
pub(crate) async fn create_webhook_endpoint(
    ctx: Ctx<Permitted>,
    body: ValidJson<CreateWebhookEndpoint>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = EndpointInput {
        url: b.url,
        description: b.description,
        event_types: b.event_types,
    };
    let (keys, sender) = (ctx.state.keyring.clone(), ctx.state.webhooks.clone());
    let (endpoint, secret) = ctx
        .write(async |conn| {
            endpoints::create(conn, &ctx.actor, &keys, sender.as_ref(), &input, ctx.now).await
        })
        .await?;
    let revision = endpoint.revision;
    Ok(with_etag(
        HttpResponse::Created(),
        revision,
        &WebhookEndpointWithSecret {
            endpoint: endpoint.into(),
            secret,
        },
    ))
}

/// Get a webhook endpoint.
///
/// MANAGE_WEBHOOKS holders; another tenant's endpoint is 404 `webhook_endpoint_not_found`.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint")),
    responses((status = 200, body = WebhookEndpointDto, description = "The endpoint"), AuthErrors, NotFound))]
#[get("/webhooks/endpoints/{endpoint_id}")]
pub(crate) async fn get_webhook_endpoint(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<Tagged<WebhookEndpointDto>, ApiError> {
    let id = path.into_inner();
    let endpoint = ctx
        .write(async |conn| endpoints::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(Tagged(endpoint.into()))
}

/// Update a webhook endpoint; requires `If-Match`.
///
/// MANAGE_WEBHOOKS holders: its URL (checked as on create), description, event types, or
/// `enabled` (re-enabling an endpoint disabled for failing forgets its failures).
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint"),
        ("If-Match" = String, Header, description = "The endpoint's `ETag`")),
    request_body = UpdateWebhookEndpoint,
    responses((status = 200, body = WebhookEndpointDto, description = "Updated"), AuthErrors, InputErrors, NotFound, PreconditionErrors))]
#[patch("/webhooks/endpoints/{endpoint_id}")]
pub(crate) async fn update_webhook_endpoint(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateWebhookEndpoint>,
) -> Result<Tagged<WebhookEndpointDto>, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let changes = EndpointChanges {
        url: b.url,
        description: b.description,
        event_types: b.event_types,
        enabled: b.enabled,
    };
    let sender = ctx.state.webhooks.clone();
    let endpoint = ctx
        .write(async |conn| {
            endpoints::update(
                conn,
                &ctx.actor,
                sender.as_ref(),
                id,
                &changes,
                if_match.0,
                ctx.now,
            )
            .await
        })
        .await?;
    Ok(Tagged(endpoint.into()))
}

/// Delete a webhook endpoint; requires `If-Match`.
///
/// MANAGE_WEBHOOKS holders; its deliveries and their log go with it.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint"),
        ("If-Match" = String, Header, description = "The endpoint's `ETag`")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound, PreconditionErrors))]
#[delete("/webhooks/endpoints/{endpoint_id}")]
pub(crate) async fn delete_webhook_endpoint(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| endpoints::delete(conn, &ctx.actor, id, if_match.0).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a webhook endpoint's secret.
///
/// MANAGE_WEBHOOKS holders: a new secret, in this response only. The replaced one keeps
/// signing for `overlap_seconds` (a day by default): meanwhile `webhook-signature` carries both
/// signatures, so receivers switch secrets without missing a message.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint")),
    request_body = RotateWebhookSecret,
    responses((status = 200, body = WebhookEndpointWithSecret, description = "Rotated; the new secret is shown once"), AuthErrors, InputErrors, NotFound))]
#[post("/webhooks/endpoints/{endpoint_id}/rotate-secret")]
pub(crate) async fn rotate_webhook_secret(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<RotateWebhookSecret>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let overlap = body
        .into_inner()
        .overlap_seconds
        .map_or(endpoints::DEFAULT_OVERLAP, chrono::Duration::seconds);
    let keys = ctx.state.keyring.clone();
    let (endpoint, secret) = ctx
        .write(async |conn| {
            endpoints::rotate_secret(conn, &ctx.actor, &keys, id, overlap, ctx.now).await
        })
        .await?;
    let revision = endpoint.revision;
    Ok(with_etag(
        HttpResponse::Ok(),
        revision,
        &WebhookEndpointWithSecret {
            endpoint: endpoint.into(),
            secret,
        },
    ))
}

/// Send a test ping to a webhook endpoint.
///
/// MANAGE_WEBHOOKS holders: a `webhook.ping` message is queued and sent at once, signed like
/// every message; the answer is the delivery with its first attempt (a failed one is retried on
/// the usual schedule). 409 `webhook_endpoint_disabled` for a disabled endpoint.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint")),
    responses((status = 200, body = WebhookDeliveryDto, description = "The ping and its first attempt"), AuthErrors, NotFound, Conflict))]
#[post("/webhooks/endpoints/{endpoint_id}/ping")]
pub(crate) async fn send_webhook_ping(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<WebhookDeliveryDto>, ApiError> {
    let id = path.into_inner();
    let ping = ctx
        .write(async |conn| deliveries::create_ping(conn, &ctx.actor, id, ctx.now).await)
        .await?;
    crate::reactions::webhooks::attempt(&ctx.state, ctx.actor.tenant_id, ping.id).await?;
    let (delivery, attempts) = ctx
        .write(async |conn| deliveries::get(conn, &ctx.actor, id, ping.id).await)
        .await?;
    Ok(web::Json(WebhookDeliveryDto::of(delivery, Some(attempts))))
}

/// List a webhook endpoint's deliveries.
///
/// MANAGE_WEBHOOKS holders: newest first, optionally of one status, a page at a time.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint"), DeliveryQuery),
    responses((status = 200, body = PageOf<WebhookDeliveryDto>, description = "The deliveries"), AuthErrors, InputErrors, NotFound))]
#[get("/webhooks/endpoints/{endpoint_id}/deliveries")]
pub(crate) async fn list_webhook_deliveries(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<DeliveryQuery>,
) -> Result<web::Json<PageOf<WebhookDeliveryDto>>, ApiError> {
    let id = path.into_inner();
    let q = query.into_inner();
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let found = ctx
        .write(async |conn| deliveries::list(conn, &ctx.actor, id, q.status, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(found, |d| {
        WebhookDeliveryDto::of(d, None)
    })))
}

/// Get a webhook delivery with its attempts.
///
/// MANAGE_WEBHOOKS holders: the delivery and every attempt (status code, latency, the first
/// kilobyte of the answer, or why none came). 404 `webhook_delivery_not_found`.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint"),
        ("delivery_id" = Uuid, Path, description = "The delivery")),
    responses((status = 200, body = WebhookDeliveryDto, description = "The delivery"), AuthErrors, NotFound))]
#[get("/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}")]
pub(crate) async fn get_webhook_delivery(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<WebhookDeliveryDto>, ApiError> {
    let (endpoint, delivery) = path.into_inner();
    let (found, attempts) = ctx
        .write(async |conn| deliveries::get(conn, &ctx.actor, endpoint, delivery).await)
        .await?;
    Ok(web::Json(WebhookDeliveryDto::of(found, Some(attempts))))
}

/// Replay a webhook delivery.
///
/// MANAGE_WEBHOOKS holders: the delivery (whatever its status) is sent again at once with the
/// same `webhook-id` and a fresh retry schedule; its earlier attempts stay in the log. 409
/// `webhook_endpoint_disabled` for a disabled endpoint.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint"),
        ("delivery_id" = Uuid, Path, description = "The delivery")),
    responses((status = 200, body = WebhookDeliveryDto, description = "The delivery with its new attempt"), AuthErrors, NotFound, Conflict))]
#[post("/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay")]
pub(crate) async fn replay_webhook_delivery(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<WebhookDeliveryDto>, ApiError> {
    let (endpoint, delivery) = path.into_inner();
    ctx.write(async |conn| deliveries::replay(conn, &ctx.actor, endpoint, delivery, ctx.now).await)
        .await?;
    crate::reactions::webhooks::attempt(&ctx.state, ctx.actor.tenant_id, delivery).await?;
    let (found, attempts) = ctx
        .write(async |conn| deliveries::get(conn, &ctx.actor, endpoint, delivery).await)
        .await?;
    Ok(web::Json(WebhookDeliveryDto::of(found, Some(attempts))))
}

/// Replay a webhook endpoint's failed deliveries of a time window.
///
/// MANAGE_WEBHOOKS holders: every `FAILED` delivery created in `[since, until)` (a window of at
/// most 7 days: 422 `validation_failed` with `invalid_window` otherwise), oldest first and at
/// most 1000, becomes `PENDING` again with a fresh schedule; the worker sends them within a
/// minute. 409 `webhook_endpoint_disabled` for a disabled endpoint.
#[utoipa::path(tag = "webhooks",
    params(("endpoint_id" = Uuid, Path, description = "The endpoint")),
    request_body = ReplayFailed,
    responses((status = 200, body = ReplayedDto, description = "Queued again"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/webhooks/endpoints/{endpoint_id}/replay-failed")]
pub(crate) async fn replay_failed_webhook_deliveries(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<ReplayFailed>,
) -> Result<web::Json<ReplayedDto>, ApiError> {
    let endpoint = path.into_inner();
    let b = body.into_inner();
    let replayed = ctx
        .write(async |conn| {
            deliveries::replay_failed(conn, &ctx.actor, endpoint, b.since, b.until, ctx.now).await
        })
        .await?;
    Ok(web::Json(ReplayedDto { replayed }))
}
