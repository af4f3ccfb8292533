//! Deliveries of messages to endpoints, their attempts, and the retry schedule.
//!
//! A delivery is one message to one endpoint; its id is the message's `webhook-id`, the same on
//! every attempt and replay, so a receiver deduplicates by it. It is `PENDING` with a
//! `next_attempt_at` until an attempt gets a 2xx (`SUCCEEDED`) or the last attempt of
//! [`RETRY_DELAYS`] fails (`FAILED`). Every attempt is recorded: the status code, the first
//! kilobyte of the answer or why none came, and how long it took. A failed delivery counts
//! towards disabling its endpoint (`consecutive_dead`); a success resets the count.
//!
//! Sending is not done here (no network in a domain crate): [`prepare`] gives the api layer the
//! URL, the signed headers and the body, and [`record_attempt`] takes what happened.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{webhook_attempts as a, webhook_deliveries as d, webhook_endpoints as e};
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, Page, PageRequest, TenantId};
use serde::Serialize;
use uuid::Uuid;

use crate::endpoints::{self, require};
use crate::{WebhookError, catalog, signing};

/// The wait after each failed attempt: the first retry 5 s after the first attempt, the last
/// about three days after it. A delivery has `RETRY_DELAYS.len() + 1` attempts.
pub const RETRY_DELAYS: &[Duration] = &[
    Duration::seconds(5),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(5),
    Duration::hours(10),
    Duration::hours(10),
    Duration::hours(14),
    Duration::hours(14),
    Duration::hours(14),
];

/// How long a claimed delivery is left alone before another worker may attempt it (a worker
/// that died mid-attempt leaves it due again after this).
pub const LEASE: Duration = Duration::minutes(2);

guild_kernel::string_enum!(
    /// Where a delivery is.
    DeliveryStatus {
        /// Waiting for its next attempt.
        Pending => "PENDING",
        /// An attempt got a 2xx.
        Succeeded => "SUCCEEDED",
        /// Every attempt failed.
        Failed => "FAILED",
    }
);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = d)]
struct DeliveryRow {
    id: Uuid,
    endpoint_id: Uuid,
    event_type: String,
    source_event_id: Option<Uuid>,
    payload: serde_json::Value,
    status: String,
    attempt_count: i32,
    next_attempt_at: Option<DateTime<Utc>>,
    last_attempt_at: Option<DateTime<Utc>>,
    last_status_code: Option<i32>,
    created_at: DateTime<Utc>,
}

/// A message to an endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Id: the `webhook-id` of every attempt.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The catalog's event type.
    pub event_type: String,
    /// The outbox event it was made from (none for a ping).
    pub source_event_id: Option<Uuid>,
    /// The envelope's `data`.
    pub payload: serde_json::Value,
    /// Where it is.
    pub status: DeliveryStatus,
    /// Attempts made.
    pub attempt_count: i32,
    /// When the next attempt is due (`PENDING` only).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The last attempt's status code, when it got an answer.
    pub last_status_code: Option<i32>,
    /// Created (the envelope's `timestamp`).
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Self {
        Self {
            id: r.id,
            endpoint_id: r.endpoint_id,
            event_type: r.event_type,
            source_event_id: r.source_event_id,
            payload: r.payload,
            status: r.status.parse().unwrap_or(DeliveryStatus::Pending),
            attempt_count: r.attempt_count,
            next_attempt_at: r.next_attempt_at,
            last_attempt_at: r.last_attempt_at,
            last_status_code: r.last_status_code,
            created_at: r.created_at,
        }
    }
}

/// One attempt of a delivery.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct Attempt {
    /// Id.
    pub id: Uuid,
    /// The delivery.
    pub delivery_id: Uuid,
    /// When it was made.
    pub attempted_at: DateTime<Utc>,
    /// The answer's status, when one came.
    pub status_code: Option<i32>,
    /// How long it took.
    pub latency_ms: i32,
    /// The first kilobyte of the answer's body.
    pub response_excerpt: String,
    /// Why no usable answer came (refused by the guard, timed out, unreachable).
    pub error: Option<String>,
    /// It got a 2xx.
    pub succeeded: bool,
}

/// Deliveries in a row that ran out of attempts (each about three days of failures) after which
/// the worker disables their endpoint.
pub const DISABLE_AFTER_FAILED: i32 = 5;

/// An endpoint was disabled for failing: its tenant's admins are told (WEBHOOK_DISABLED).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndpointDisabled {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// Its URL.
    pub url: String,
    /// Failed deliveries in a row.
    pub failed_deliveries: i32,
}

impl guild_kernel::DomainEvent for EndpointDisabled {
    const KIND: &'static str = "webhooks.endpoint_disabled";
}

/// The job that attempts every due delivery of every tenant (scheduled each minute).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct DeliverDue {}

impl guild_db::jobs::Job for DeliverDue {
    const KIND: &'static str = "webhooks.deliver_due";
}

/// What an attempt got.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The answer's status, when one came.
    pub status_code: Option<u16>,
    /// The first kilobyte of the answer.
    pub excerpt: String,
    /// Why no answer came.
    pub error: Option<String>,
    /// How long it took.
    pub latency_ms: i32,
}

impl Outcome {
    /// A 2xx answer.
    pub fn succeeded(&self) -> bool {
        self.status_code.is_some_and(|s| (200..300).contains(&s))
    }
}

/// A message ready to send: where, its signed headers and its body.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The delivery.
    pub delivery_id: Uuid,
    /// The endpoint's URL.
    pub url: String,
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    pub headers: Vec<(String, String)>,
    /// The envelope, `{type, timestamp, data}`, as JSON.
    pub body: Vec<u8>,
}

/// The envelope of a delivery.
pub fn envelope(delivery: &Delivery) -> serde_json::Value {
    serde_json::json!({
        "type": delivery.event_type,
        "timestamp": delivery.created_at,
        "data": delivery.payload,
    })
}

/// Queues a test message (`webhook.ping`) to an enabled endpoint, due at `now`.
pub async fn create_ping(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    endpoint_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Delivery, WebhookError> {
    require(actor)?;
    let endpoint = endpoints::find(conn, actor.tenant_id, endpoint_id, false).await?;
    if !endpoint.enabled {
        return Err(WebhookError::EndpointDisabled);
    }
    let row = diesel::insert_into(d::table)
        .values((
            d::tenant_id.eq(actor.tenant_id.into_uuid()),
            d::id.eq(Uuid::now_v7()),
            d::endpoint_id.eq(endpoint_id),
            d::event_type.eq(catalog::PING),
            d::payload.eq(serde_json::json!({ "endpoint_id": endpoint_id })),
            // The request attempts it at once; the retry job leaves it alone meanwhile.
            d::next_attempt_at.eq(Some(now + LEASE)),
            d::created_at.eq(now),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(row.into())
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
}

/// One message to fan out: `data` as an `event_type` message, made from the domain event
/// `source_event_id`.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    /// The catalog type.
    pub event_type: &'a str,
    /// The outbox event it comes from: a delivery is unique per endpoint and source event.
    pub source_event_id: Uuid,
    /// The message's `data`.
    pub data: serde_json::Value,
}

/// Queues each of `messages` to every enabled endpoint of `tenant` subscribed to its type, once
/// per endpoint and source event (a redelivered event adds nothing), in two statements whatever
/// their number, in the messages' order; answers the new deliveries with the index of their
/// message, leased to the caller, which attempts them at once.
pub async fn fan_out(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    messages: &[Message<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<(usize, Uuid)>, WebhookError> {
    if messages.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<String> = messages.iter().map(|m| m.event_type.to_owned()).collect();
    let endpoints: Vec<(Uuid, Vec<String>)> = e::table
        .filter(e::tenant_id.eq(tenant.into_uuid()))
        .filter(e::enabled)
        .filter(e::event_types.overlaps_with(types))
        .select((e::id, e::event_types))
        .order(e::id)
        .load(conn)
        .await?;
    let mut ids = Vec::new();
    let mut endpoint_ids = Vec::new();
    let mut indexes = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        for (endpoint, subscribed) in &endpoints {
            if subscribed.iter().any(|t| t == message.event_type) {
                ids.push(Uuid::now_v7());
                endpoint_ids.push(*endpoint);
                indexes.push(i32::try_from(index).unwrap_or(i32::MAX));
            }
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let types: Vec<&str> = messages.iter().map(|m| m.event_type).collect();
    let sources: Vec<Uuid> = messages.iter().map(|m| m.source_event_id).collect();
    let data: Vec<&serde_json::Value> = messages.iter().map(|m| &m.data).collect();
    let created: Vec<Id> = guild_db::sql(
        "INSERT INTO webhook_deliveries \
             (tenant_id, id, endpoint_id, event_type, source_event_id, payload, next_attempt_at, created_at) \
         SELECT $1, x.id, x.endpoint_id, ($5::text[])[x.message + 1], ($6::uuid[])[x.message + 1], \
                ($7::jsonb[])[x.message + 1], $8, $9 \
           FROM unnest($2::uuid[], $3::uuid[], $4::integer[]) WITH ORDINALITY AS x (id, endpoint_id, message, n) \
          ORDER BY x.n \
         ON CONFLICT (tenant_id, endpoint_id, source_event_id) WHERE source_event_id IS NOT NULL \
         DO NOTHING RETURNING id",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.into_uuid())
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&endpoint_ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Integer>, _>(&indexes)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Text>, _>(&types)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(&sources)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Jsonb>, _>(&data)
    .bind::<diesel::sql_types::Timestamptz, _>(now + LEASE)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .load(conn)
    .await?;
    let made: std::collections::HashSet<Uuid> = created.into_iter().map(|c| c.id).collect();
    // In the messages' order, then the order the deliveries were made in.
    Ok(ids
        .into_iter()
        .zip(indexes)
        .filter(|(id, _)| made.contains(id))
        .map(|(id, index)| (usize::try_from(index).unwrap_or(usize::MAX), id))
        .collect())
}

/// Claims up to `limit` of the tenant's deliveries due at `now` to enabled endpoints, oldest due
/// first, leasing them for [`LEASE`] (rows another worker holds are skipped).
pub async fn claim_due(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Uuid>, WebhookError> {
    let ids: Vec<Id> = guild_db::sql(
        "UPDATE webhook_deliveries SET next_attempt_at = $3 \
          WHERE tenant_id = $1 AND id IN ( \
                SELECT d.id FROM webhook_deliveries d \
                  JOIN webhook_endpoints e ON e.tenant_id = d.tenant_id AND e.id = d.endpoint_id \
                 WHERE d.tenant_id = $1 AND d.status = 'PENDING' AND d.next_attempt_at <= $2 \
                   AND e.enabled \
                 ORDER BY d.next_attempt_at LIMIT $4 \
                   FOR UPDATE OF d SKIP LOCKED) \
          RETURNING id",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.into_uuid())
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<diesel::sql_types::Timestamptz, _>(now + LEASE)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(ids.into_iter().map(|r| r.id).collect())
}

async fn find(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    lock: bool,
) -> Result<Delivery, WebhookError> {
    let query = d::table
        .filter(d::tenant_id.eq(tenant.into_uuid()))
        .filter(d::id.eq(id))
        .select(DeliveryRow::as_select());
    let found = if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    found
        .map(Delivery::from)
        .ok_or(WebhookError::NotFound("webhook_delivery_not_found"))
}

/// The message of a `PENDING` delivery to an enabled endpoint, signed at `now` with every secret
/// that signs then; `None` when there is nothing to send (already done, endpoint disabled).
pub async fn prepare(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    tenant: TenantId,
    delivery_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Prepared>, WebhookError> {
    let delivery = find(conn, tenant, delivery_id, false).await?;
    if delivery.status != DeliveryStatus::Pending {
        return Ok(None);
    }
    let endpoint = endpoints::find(conn, tenant, delivery.endpoint_id, false).await?;
    if !endpoint.enabled {
        return Ok(None);
    }
    let secrets = endpoints::signing_secrets(conn, keys, tenant, endpoint.id, now).await?;
    let body = serde_json::to_vec(&envelope(&delivery)).unwrap_or_default();
    let headers = signing::headers(&secrets, &delivery.id.to_string(), now.timestamp(), &body)?;
    Ok(Some(Prepared {
        delivery_id,
        url: endpoint.url,
        headers,
        body,
    }))
}

/// Records an attempt of a `PENDING` delivery and moves it on: `SUCCEEDED` on a 2xx (the
/// endpoint's failure count back to 0), else its next attempt by [`RETRY_DELAYS`], or `FAILED`
/// after the last (the endpoint's failure count up by one; at [`DISABLE_AFTER_FAILED`] the
/// endpoint is disabled as `FAILING` and [`EndpointDisabled`] published, in this transaction). `None` when the delivery is no longer
/// pending (another worker recorded it first).
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    delivery_id: Uuid,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> Result<Option<(Delivery, Attempt)>, WebhookError> {
    let delivery = find(conn, tenant, delivery_id, true).await?;
    if delivery.status != DeliveryStatus::Pending {
        return Ok(None);
    }
    let t = tenant.into_uuid();
    let succeeded = outcome.succeeded();
    let attempt = diesel::insert_into(a::table)
        .values((
            a::tenant_id.eq(t),
            a::id.eq(Uuid::now_v7()),
            a::delivery_id.eq(delivery_id),
            a::attempted_at.eq(now),
            a::status_code.eq(outcome.status_code.map(i32::from)),
            a::latency_ms.eq(outcome.latency_ms.max(0)),
            a::response_excerpt.eq(excerpt(&outcome.excerpt)),
            a::error.eq(outcome
                .error
                .as_deref()
                .map(|e| e.chars().take(500).collect::<String>())),
            a::succeeded.eq(succeeded),
        ))
        .returning(Attempt::as_returning())
        .get_result(conn)
        .await?;
    let count = delivery.attempt_count + 1;
    let (status, next) = if succeeded {
        (DeliveryStatus::Succeeded, None)
    } else {
        match RETRY_DELAYS.get((count - 1) as usize) {
            Some(delay) => (DeliveryStatus::Pending, Some(now + *delay)),
            None => (DeliveryStatus::Failed, None),
        }
    };
    let row = diesel::update(d::table)
        .filter(d::tenant_id.eq(t))
        .filter(d::id.eq(delivery_id))
        .set((
            d::status.eq(status.as_str()),
            d::attempt_count.eq(count),
            d::next_attempt_at.eq(next),
            d::last_attempt_at.eq(Some(now)),
            d::last_status_code.eq(outcome.status_code.map(i32::from)),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await?;
    match status {
        DeliveryStatus::Succeeded => {
            diesel::update(e::table)
                .filter(e::tenant_id.eq(t))
                .filter(e::id.eq(delivery.endpoint_id))
                .filter(e::consecutive_dead.ne(0))
                .set(e::consecutive_dead.eq(0))
                .execute(conn)
                .await?;
        }
        DeliveryStatus::Failed => {
            let (dead, enabled, url, revision): (i32, bool, String, i32) = diesel::update(e::table)
                .filter(e::tenant_id.eq(t))
                .filter(e::id.eq(delivery.endpoint_id))
                .set(e::consecutive_dead.eq(e::consecutive_dead + 1))
                .returning((e::consecutive_dead, e::enabled, e::url, e::revision))
                .get_result(conn)
                .await?;
            if enabled && dead >= DISABLE_AFTER_FAILED {
                diesel::update(e::table)
                    .filter(e::tenant_id.eq(t))
                    .filter(e::id.eq(delivery.endpoint_id))
                    .set((
                        e::enabled.eq(false),
                        e::disabled_reason.eq(Some("FAILING")),
                        e::disabled_at.eq(Some(now)),
                        e::revision.eq(revision + 1),
                        e::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .await?;
                guild_db::outbox::publish(
                    conn,
                    Some(tenant),
                    &EndpointDisabled {
                        tenant_id: t,
                        endpoint_id: delivery.endpoint_id,
                        url,
                        failed_deliveries: dead,
                    },
                )
                .await?;
            }
        }
        DeliveryStatus::Pending => {}
    }
    Ok(Some((row.into(), attempt)))
}

/// At most 1 KiB of `text`, cut on a character boundary.
fn excerpt(text: &str) -> String {
    let mut end = text.len().min(1024);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// An endpoint's deliveries, newest first, optionally of one status.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    endpoint_id: Uuid,
    status: Option<DeliveryStatus>,
    page: &PageRequest,
) -> Result<Page<Delivery>, WebhookError> {
    require(actor)?;
    endpoints::find(conn, actor.tenant_id, endpoint_id, false).await?;
    let limit = page.limit();
    let mut query = d::table
        .filter(d::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(d::endpoint_id.eq(endpoint_id))
        .select(DeliveryRow::as_select())
        .order(d::id.desc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(d::status.eq(status.as_str()));
    }
    if let Some(before) = crate::cursor_uuid(page)? {
        query = query.filter(d::id.lt(before));
    }
    let rows: Vec<Delivery> = query
        .load::<DeliveryRow>(conn)
        .await?
        .into_iter()
        .map(Delivery::from)
        .collect();
    Ok(Page::from_overfetch(rows, limit, |x: &Delivery| {
        x.id.to_string()
    }))
}

/// One delivery of an endpoint with its attempts, oldest first.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    endpoint_id: Uuid,
    delivery_id: Uuid,
) -> Result<(Delivery, Vec<Attempt>), WebhookError> {
    require(actor)?;
    let delivery = find(conn, actor.tenant_id, delivery_id, false).await?;
    if delivery.endpoint_id != endpoint_id {
        return Err(WebhookError::NotFound("webhook_delivery_not_found"));
    }
    let attempts = a::table
        .filter(a::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(a::delivery_id.eq(delivery_id))
        .select(Attempt::as_select())
        .order(a::id.asc())
        .load(conn)
        .await?;
    Ok((delivery, attempts))
}

/// The longest window of [`replay_failed`].
pub const MAX_REPLAY_WINDOW: Duration = Duration::days(7);

/// The most deliveries one [`replay_failed`] sends again.
pub const MAX_REPLAYED: i64 = 1000;

/// Makes a delivery of an enabled endpoint `PENDING` again with a fresh schedule (its attempts
/// stay in the log, its `webhook-id` stays), leased to the caller, which attempts it at once.
pub async fn replay(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    endpoint_id: Uuid,
    delivery_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Delivery, WebhookError> {
    require(actor)?;
    let endpoint = endpoints::find(conn, actor.tenant_id, endpoint_id, false).await?;
    let delivery = find(conn, actor.tenant_id, delivery_id, true).await?;
    if delivery.endpoint_id != endpoint_id {
        return Err(WebhookError::NotFound("webhook_delivery_not_found"));
    }
    if !endpoint.enabled {
        return Err(WebhookError::EndpointDisabled);
    }
    let row = diesel::update(d::table)
        .filter(d::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(d::id.eq(delivery_id))
        .set((
            d::status.eq(DeliveryStatus::Pending.as_str()),
            d::attempt_count.eq(0),
            d::next_attempt_at.eq(Some(now + LEASE)),
        ))
        .returning(DeliveryRow::as_returning())
        .get_result(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "WEBHOOK_DELIVERY_REPLAYED",
        "webhook_delivery",
        Some(delivery_id.to_string()),
        serde_json::json!({ "endpoint_id": endpoint_id }),
    )
    .await?;
    Ok(row.into())
}

/// Makes the endpoint's `FAILED` deliveries created in `[since, until)` (a window of at most
/// [`MAX_REPLAY_WINDOW`]) `PENDING` again with a fresh schedule, due at once, oldest first and
/// at most [`MAX_REPLAYED`]; answers how many. The retry job sends them.
pub async fn replay_failed(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    endpoint_id: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<usize, WebhookError> {
    require(actor)?;
    if until <= since || until - since > MAX_REPLAY_WINDOW {
        return Err(WebhookError::invalid(
            "until",
            "invalid_window",
            "after `since`, at most 7 days later",
        ));
    }
    let endpoint = endpoints::find(conn, actor.tenant_id, endpoint_id, false).await?;
    if !endpoint.enabled {
        return Err(WebhookError::EndpointDisabled);
    }
    let ids: Vec<Id> = guild_db::sql(
        "UPDATE webhook_deliveries SET status = 'PENDING', attempt_count = 0, next_attempt_at = $5 \
          WHERE tenant_id = $1 AND id IN ( \
                SELECT id FROM webhook_deliveries \
                 WHERE tenant_id = $1 AND endpoint_id = $2 AND status = 'FAILED' \
                   AND created_at >= $3 AND created_at < $4 \
                 ORDER BY created_at, id LIMIT $6 FOR UPDATE) \
          RETURNING id",
    )
    .bind::<diesel::sql_types::Uuid, _>(actor.tenant_id.into_uuid())
    .bind::<diesel::sql_types::Uuid, _>(endpoint_id)
    .bind::<diesel::sql_types::Timestamptz, _>(since)
    .bind::<diesel::sql_types::Timestamptz, _>(until)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<diesel::sql_types::BigInt, _>(MAX_REPLAYED)
    .load(conn)
    .await?;
    guild_db::audit::record(
        conn,
        actor,
        "WEBHOOK_DELIVERIES_REPLAYED",
        "webhook_endpoint",
        Some(endpoint_id.to_string()),
        serde_json::json!({ "since": since, "until": until, "replayed": ids.len() }),
    )
    .await?;
    Ok(ids.len())
}

/// The active members who hear that an endpoint was disabled: ADMIN and above, and holders of an
/// unscoped MANAGE_WEBHOOKS grant.
pub async fn admins(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Vec<Uuid>, WebhookError> {
    let ids: Vec<Id> = guild_db::sql(
        "SELECT m.user_id AS id FROM memberships m \
          WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' \
            AND (m.role IN ('OWNER', 'SUPER_ADMIN', 'ADMIN') \
                 OR EXISTS (SELECT 1 FROM user_permissions p \
                             WHERE p.tenant_id = m.tenant_id AND p.user_id = m.user_id \
                               AND p.permission = 'MANAGE_WEBHOOKS' AND p.scope = '{}'::jsonb)) \
          ORDER BY m.user_id LIMIT 1000",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.into_uuid())
    .load(conn)
    .await?;
    Ok(ids.into_iter().map(|r| r.id).collect())
}
