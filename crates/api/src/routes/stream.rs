//! The member's event stream: `GET /v1/stream`, Server-Sent Events.
//!
//! The stream opens with a `ready` event (`{"after": n}`: the id it continues after). Then each
//! event has an `id` (its number in the member's stream), an `event` type and JSON `data`.
//! A client that reconnects with `Last-Event-ID` receives every event after that id, in order,
//! exactly once, while it is kept (`GUILD_STREAM_RETENTION`); after that it receives a `reset`
//! event and refetches what it shows. Comments (`: keep-alive`) every 15 seconds keep proxies
//! from closing an idle stream.
//!
//! A browser's `EventSource` cannot send an `Authorization` header: it first gets a ticket
//! (`POST /v1/stream/tickets`, 30 seconds, single use, stored hashed) and opens
//! `/v1/stream?ticket=…`. A request with an `Authorization` header is admitted by it, and its
//! `ticket` is not read.
//!
//! When the instance starts shutting down (`AppState::stopping`), every open stream ends at once:
//! the client reconnects after the `retry` delay and resumes after its last id, elsewhere.
//!
//! On the server, a stream subscribes to its member's channel on the kernel's `PubSub` before it
//! reads what it missed from PostgreSQL, so nothing falls between the two; an event published
//! out of order or lost (a lagging subscriber, another instance's failed publish) is read back
//! from PostgreSQL by its number.
//!
//! A member holds at most `GUILD_STREAMS_PER_MEMBER` streams at once (a slot in the kernel's
//! `Presence`, across instances with Redis; the next one is 429 `stream_limit_reached`). While
//! open, a stream keeps its slot and its member online (refreshed every third of the presence
//! TTL, at most every 30 s) and pings the member's usage session every minute, never per frame.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{
    FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, get, post, web,
};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use futures_util::stream;
use guild_kernel::ports::{Delivery, Presence, RateDecision, Subscription};
use guild_kernel::{TenantId, UserId};
use guild_notifications::NotificationsError;
use guild_notifications::stream::{self as member_stream, Resume, StreamEvent};
use guild_notifications::{sessions, tickets};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::{IntoParams, IntoResponses, ToSchema};
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::error::{ApiError, Problem};
use crate::routes::common::AuthErrors;
use crate::routes::segment;
use crate::state::AppState;

/// Registers `/v1/stream`.
pub(crate) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(
        segment("/stream")
            .service(open_my_stream)
            .service(create_stream_ticket),
    );
}

/// How often an idle stream sends a comment.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// How often an open stream pings its member's usage session.
const SESSION_PING: Duration = Duration::from_secs(60);

/// How often an open stream refreshes its slot and its member's presence: three times per TTL,
/// at most every 30 s.
fn refresh_every(ttl: Duration) -> Duration {
    (ttl / 3).clamp(Duration::from_secs(1), Duration::from_secs(30))
}

/// Publishes `event` to the instances holding the member's stream; called once the transaction
/// that wrote it has committed. A failed publish is logged: streams read the event back from
/// PostgreSQL when they notice the gap, and a reconnecting client resumes past it.
pub(crate) async fn publish(state: &AppState, tenant: TenantId, user: UserId, event: &StreamEvent) {
    let Ok(message) = serde_json::to_string(event) else {
        return;
    };
    if let Err(e) = state
        .pubsub
        .publish(&member_stream::channel(tenant, user), &message)
        .await
    {
        tracing::warn!(error = %e, "could not publish a stream event");
    }
}

/// A stream ticket: `GET /v1/stream?ticket=…` opens your stream once with it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct StreamTicketDto {
    /// The ticket: use it once, before `expires_at`.
    #[schema(min_length = 80, max_length = 80)]
    ticket: String,
    /// When it stops working (30 seconds after it was made).
    expires_at: DateTime<Utc>,
}

/// Get a stream ticket.
///
/// Any member: a ticket that opens your event stream once, within 30 seconds, without an
/// `Authorization` header (`GET /v1/stream?ticket=…`), for browsers, whose `EventSource` cannot
/// send one. It acts as you in the current tenant and stops working when used, when it expires,
/// or when your password changes. At most 30 a minute (429 `rate_limited`); 403 `not_a_member`
/// for the platform owner acting in a tenant they do not belong to.
#[utoipa::path(tag = "notifications",
    responses((status = 201, body = StreamTicketDto, description = "A ticket, shown once"), AuthErrors))]
#[post("/stream/tickets")]
pub(crate) async fn create_stream_ticket(
    ctx: Ctx,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let key = format!(
        "stream-ticket:{}:{}",
        ctx.actor.tenant_id, ctx.actor.user_id
    );
    let decision = ctx
        .state
        .limiter
        .hit(&key, ctx.state.limits.stream_tickets)
        .await
        .map_err(|e| crate::client::unavailable(&e))?;
    if !decision.allowed {
        req.extensions_mut().insert(decision);
        return Err(crate::client::limited(decision));
    }
    let now = ctx.now;
    let minted = ctx
        .write(async |conn| tickets::mint(conn, &ctx.actor, now).await)
        .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(StreamTicketDto {
            ticket: minted.ticket,
            expires_at: minted.expires_at,
        }))
}

/// How a browser authenticates a stream.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StreamQuery {
    /// A ticket from `POST /v1/stream/tickets`, when the request has no `Authorization` header
    /// (ignored when it has one).
    #[param(min_length = 80, max_length = 80)]
    ticket: Option<String>,
}

/// The stream's own 429.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum TooManyStreams {
    /// Every stream slot of yours is in use.
    #[response(
        status = 429,
        description = "`stream_limit_reached`: you already hold `GUILD_STREAMS_PER_MEMBER` open streams (close one; a stream whose client vanished frees its slot within the presence TTL); or `rate_limited`",
        content_type = "application/problem+json"
    )]
    TooMany(Problem),
}

/// Who opens a stream: the bearer of the `Authorization` header, as [`Ctx`] admits them, or,
/// without that header, the member the `ticket` query parameter stands for.
pub(crate) struct Opener(Ctx);

impl FromRequest for Opener {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ticket = if req.headers().contains_key(header::AUTHORIZATION) {
            None
        } else {
            web::Query::<StreamQuery>::from_query(req.query_string())
                .ok()
                .and_then(|q| q.into_inner().ticket)
        };
        let Some(ticket) = ticket else {
            let ctx = Ctx::from_request(req, payload);
            return Box::pin(async move { ctx.await.map(Opener) });
        };
        let (state, req) = (req.app_data::<web::Data<AppState>>().cloned(), req.clone());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal("no app state"))?;
            let actor = crate::auth::ticket_actor(&state, &req, &ticket).await?;
            Ok(Opener(Ctx::new(state, actor)))
        })
    }
}

/// A member's claim on one of their stream slots; released when dropped (the stream ended, or
/// failed before it began).
struct Slot {
    presence: Arc<dyn Presence>,
    tenant: TenantId,
    user: UserId,
    stream: Uuid,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (presence, tenant, user, stream) = (
            Arc::clone(&self.presence),
            self.tenant,
            self.user,
            self.stream,
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { presence.close_stream(tenant, user, stream).await });
        }
    }
}

/// Open your event stream.
///
/// Any member: a `text/event-stream` of what is pushed to you in the current tenant, starting
/// after `Last-Event-ID` when given (every event after it, in order), else with what happens from
/// now on. Event types: `ready` first (data: `{"after": n}`, the id the stream continues after;
/// no `id` of its own), `notification` (data: a `NotificationDto`), `job` (data: a `JobDto`: a
/// job you started began, progressed or ended), `chat.message_created`, `chat.message_updated`,
/// `chat.message_deleted` (data: a `ChatMessageDto`, in a chat room you joined and may read),
/// `chat.read_marker` (data: a `ChatReadMarkerDto`: you read a room elsewhere) and `reset`
/// (data: `{"head": n}`: events you missed are no longer kept — refetch, then continue from `n`).
///
/// Authenticate with the `Authorization` header, or, from a browser's `EventSource`, with a
/// `ticket` from `POST /v1/stream/tickets` (401 `invalid_stream_ticket` when it is malformed,
/// used, expired or of another tenant; after 30 such failures from one address in a minute, 429
/// `rate_limited`). You hold at most `GUILD_STREAMS_PER_MEMBER` (5) streams
/// at once: the next is 429 `stream_limit_reached`. While the stream is open you are online
/// (`GET /v1/presence`) and your usage session goes on (`GET /v1/me/sessions`).
/// The server ends the stream when it shuts down: reconnect with `Last-Event-ID` to resume.
#[utoipa::path(tag = "notifications",
    params(
        ("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received, to resume after it"),
        StreamQuery),
    security(("bearer" = []), ("stream_ticket" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", body = StreamFrame,
         description = "Server-Sent Events: `id`, `event` (`notification`, `job`, `chat.message_created`, `chat.message_updated`, `chat.message_deleted`, `chat.read_marker` or `reset`) and JSON `data` per event; `: keep-alive` comments every 15 s"),
        AuthErrors, TooManyStreams))]
#[get("/stream")]
pub(crate) async fn open_my_stream(
    Opener(ctx): Opener,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (tenant, user) = (ctx.actor.tenant_id, ctx.actor.user_id);
    let cap = ctx.state.streams_per_member;
    let stream_id = Uuid::now_v7();
    let claimed = ctx
        .state
        .presence
        .open_stream(tenant, user, stream_id, cap, ctx.now)
        .await;
    if !claimed {
        let decision = RateDecision {
            allowed: false,
            limit: cap,
            remaining: 0,
            reset_after: HEARTBEAT,
        };
        // The response's `RateLimit-*` headers are this limit's, not the tenant's.
        req.extensions_mut().insert(decision);
        return Err(crate::client::limited_as(
            "stream_limit_reached",
            &format!("you already hold {cap} open streams; close one first"),
            decision,
        ));
    }
    let slot = Slot {
        presence: Arc::clone(&ctx.state.presence),
        tenant,
        user,
        stream: stream_id,
    };
    let pings = !ctx.actor.impersonating;
    if pings {
        let now = ctx.now;
        if let Err(e) = ctx
            .write(async |conn| sessions::ping(conn, tenant, user, now).await)
            .await
        {
            tracing::warn!(error = %e.code(), "could not record the stream's usage session");
        }
    }
    // Subscribed first: what is published while the backlog is read is not missed.
    let subscription = ctx
        .state
        .pubsub
        .subscribe(&member_stream::channel(tenant, user));
    let resume_after = req
        .headers()
        .get("last-event-id")
        .map(|v| v.to_str().ok().and_then(|s| s.trim().parse::<i64>().ok()));
    let mut pending = VecDeque::new();
    let last = match resume_after {
        // No id: from now on.
        None => {
            let head = ctx
                .read(async |conn| member_stream::head(conn, tenant, user).await)
                .await?;
            pending.push_back(ready_frame(head));
            head
        }
        // An id that is not a number cannot be resumed from.
        Some(None) => {
            let head = ctx
                .read(async |conn| member_stream::head(conn, tenant, user).await)
                .await?;
            pending.push_back(ready_frame(head));
            pending.push_back(reset_frame(head));
            head
        }
        Some(Some(after)) => {
            pending.push_back(ready_frame(after));
            catch_up(&ctx.state, tenant, user, after, &mut pending).await?
        }
    };
    let every = refresh_every(ctx.state.presence_ttl);
    let open = Open {
        state: ctx.state.into_inner(),
        tenant,
        user,
        last,
        pending,
        subscription,
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT),
        refresh: tokio::time::interval_at(tokio::time::Instant::now() + every, every),
        pings,
        pinged: Instant::now(),
        slot,
    };
    let body = stream::unfold(open, |mut open| async move {
        let frame = open.next_frame().await?;
        Some((Ok::<_, std::convert::Infallible>(frame), open))
    });
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .insert_header(("x-accel-buffering", HeaderValue::from_static("no")))
        .streaming(body))
}

/// One event of the stream, as an SSE parser hands it over.
#[derive(Debug, utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "documents the wire format; frames are written by hand"
)]
pub(crate) struct StreamFrame {
    /// The event's number in your stream (absent on `ready`): send it back as `Last-Event-ID`.
    id: Option<String>,
    /// The event type.
    event: StreamFrameKind,
    /// JSON: `{"after": n}` (ready), a `NotificationDto` (notification), a `JobDto` (job), a
    /// `ChatMessageDto` (chat.message_*), a `ChatReadMarkerDto` (chat.read_marker),
    /// `{"head": n}` (reset).
    data: String,
    /// The reconnection delay in milliseconds (on `ready`).
    retry: Option<u32>,
}

guild_kernel::string_enum!(
    /// The event types of the stream.
    StreamFrameKind {
        /// The stream is open; `data` says after which id it continues.
        Ready => "ready",
        /// A notification was delivered to you.
        Notification => "notification",
        /// A job you started began, progressed or ended.
        Job => "job",
        /// A message was sent to a chat room you joined.
        ChatMessageCreated => "chat.message_created",
        /// A message of a chat room you joined was edited or confirmed as an answer.
        ChatMessageUpdated => "chat.message_updated",
        /// A message of a chat room you joined was deleted (its tombstone).
        ChatMessageDeleted => "chat.message_deleted",
        /// You moved your read marker in a room (on another connection).
        ChatReadMarker => "chat.read_marker",
        /// Events you missed are no longer kept: refetch, then continue after `data.head`.
        Reset => "reset",
    }
);

/// An open stream's state.
struct Open {
    state: std::sync::Arc<AppState>,
    tenant: TenantId,
    user: UserId,
    /// The id of the last event sent.
    last: i64,
    /// Frames ready to send.
    pending: VecDeque<web::Bytes>,
    subscription: Box<dyn Subscription>,
    heartbeat: tokio::time::Interval,
    /// Keeps the slot and the member's presence.
    refresh: tokio::time::Interval,
    /// Whether the stream pings its member's usage session (not the platform owner's).
    pings: bool,
    /// When it last did.
    pinged: Instant,
    slot: Slot,
}

impl Open {
    /// The next frame to send; `None` ends the stream.
    async fn next_frame(&mut self) -> Option<web::Bytes> {
        loop {
            if let Some(frame) = self.pending.pop_front() {
                return Some(frame);
            }
            tokio::select! {
                delivery = self.subscription.next() => match delivery? {
                    Delivery::Message(message) => {
                        let Ok(event) = serde_json::from_str::<StreamEvent>(&message) else {
                            continue;
                        };
                        if event.seq <= self.last {
                            continue;
                        }
                        if event.seq == self.last + 1 {
                            self.last = event.seq;
                            self.pending.push_back(event_frame(&event));
                        } else if Box::pin(self.read_back()).await.is_err() {
                            return None;
                        }
                    }
                    Delivery::Lagged => {
                        if Box::pin(self.read_back()).await.is_err() {
                            return None;
                        }
                    }
                },
                _ = self.heartbeat.tick() => {
                    return Some(web::Bytes::from_static(b": keep-alive\n\n"));
                }
                // The instance is shutting down: end the stream so the server need not wait for
                // it; the client reconnects (to another instance) and resumes after its last id.
                () = self.state.stopping.cancelled() => return None,
                _ = self.refresh.tick() => Box::pin(self.keep_up()).await,
            }
        }
    }

    /// Keeps the stream's slot and its member online, and pings the usage session when a minute
    /// passed since the last ping.
    async fn keep_up(&mut self) {
        let now = self.state.clock.now();
        let (tenant, user) = (self.tenant, self.user);
        self.state
            .presence
            .refresh_stream(tenant, user, self.slot.stream, now)
            .await;
        if self.pings && self.pinged.elapsed() >= SESSION_PING {
            self.pinged = Instant::now();
            let pinged = in_member_tenant(&self.state, tenant, async |conn| {
                sessions::ping(conn, tenant, user, now).await
            })
            .await;
            if let Err(e) = pinged {
                tracing::warn!(error = %e.code(), "could not record the stream's usage session");
            }
        }
    }

    /// Reads what followed the last event sent from PostgreSQL.
    async fn read_back(&mut self) -> Result<(), ApiError> {
        self.last = catch_up(
            &self.state,
            self.tenant,
            self.user,
            self.last,
            &mut self.pending,
        )
        .await?;
        Ok(())
    }
}

/// Queues every event after `after` (or a reset); answers the id the stream is now at.
async fn catch_up(
    state: &AppState,
    tenant: TenantId,
    user: UserId,
    after: i64,
    pending: &mut VecDeque<web::Bytes>,
) -> Result<i64, ApiError> {
    let mut last = after;
    loop {
        let resume = in_member_tenant(state, tenant, async |conn| {
            member_stream::since(conn, tenant, user, last).await
        })
        .await?;
        match resume {
            Resume::Reset { head } => {
                pending.push_back(reset_frame(head));
                return Ok(head);
            }
            Resume::Events { events, more } => {
                for event in &events {
                    pending.push_back(event_frame(event));
                    last = event.seq;
                }
                if !more {
                    return Ok(last);
                }
            }
        }
    }
}

/// A read in `tenant`'s transaction, outside a request (the stream outlives its request).
async fn in_member_tenant<T, F>(state: &AppState, tenant: TenantId, f: F) -> Result<T, ApiError>
where
    for<'r> F: AsyncFnOnce(&'r mut guild_db::AsyncPgConnection) -> Result<T, NotificationsError>
        + guild_db::tx::TxFn<
            &'r mut guild_db::AsyncPgConnection,
            Result<T, NotificationsError>,
            Fut: Send,
        > + Send,
    T: Send,
{
    let mut conn = guild_db::connect(&state.db).await?;
    Ok(guild_db::tenant_transaction(&mut conn, tenant, f).await?)
}

fn event_frame(event: &StreamEvent) -> web::Bytes {
    web::Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        event.seq, event.kind, event.payload
    ))
}

/// The first frame: the client's reconnection delay, and a `ready` event (without an `id`, so the
/// client's last id stays) telling after which id the stream continues.
fn ready_frame(after: i64) -> web::Bytes {
    web::Bytes::from(format!(
        "retry: 3000\nevent: ready\ndata: {{\"after\":{after}}}\n\n"
    ))
}

fn reset_frame(head: i64) -> web::Bytes {
    web::Bytes::from(format!(
        "id: {head}\nevent: reset\ndata: {{\"head\":{head}}}\n\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future_size<'a, F: Future>(_: fn(&'a mut Open) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every open stream keeps its state and its pending `next_frame` for as long as it is
    /// open: 10,000 idle streams hold 10,000 of each. Reading back from PostgreSQL and keeping
    /// the slot up are rare and their futures large (kilobytes: a connection and a transaction),
    /// so they are boxed when they run rather than inlined into what every stream holds.
    #[test]
    fn an_idle_stream_holds_a_small_state() {
        let state = std::mem::size_of::<Open>();
        let waiting = future_size(Open::next_frame);
        assert!(state <= 512, "an open stream's state is {state} bytes");
        assert!(
            waiting <= 512,
            "a stream waiting for its next frame holds {waiting} bytes"
        );
    }
}
