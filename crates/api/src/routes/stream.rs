//! The member's event stream: `GET /v1/stream`, Server-Sent Events.
//!
//! The stream opens with a `ready` event (`{"after": n}`: the id it continues after). Then each
//! event has an `id` (its number in the member's stream), an `event` type and JSON `data`.
//! A client that reconnects with `Last-Event-ID` receives every event after that id, in order,
//! exactly once, while it is kept (`GUILD_STREAM_RETENTION`); after that it receives a `reset`
//! event and refetches what it shows. Comments (`: keep-alive`) every 15 seconds keep proxies
//! from closing an idle stream.
//!
//! When the instance starts shutting down (`AppState::stopping`), every open stream ends at once:
//! the client reconnects after the `retry` delay and resumes after its last id, elsewhere.
//!
//! On the server, a stream subscribes to its member's channel on the kernel's `PubSub` before it
//! reads what it missed from PostgreSQL, so nothing falls between the two; an event published
//! out of order or lost (a lagging subscriber, another instance's failed publish) is read back
//! from PostgreSQL by its number.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, web};
use futures_util::stream;
use guild_kernel::ports::{Delivery, Subscription};
use guild_kernel::{TenantId, UserId};
use guild_notifications::NotificationsError;
use guild_notifications::stream::{self as member_stream, Resume, StreamEvent};
use std::collections::VecDeque;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::error::ApiError;
use crate::routes::common::AuthErrors;
use crate::routes::segment;
use crate::state::AppState;

/// Registers `/v1/stream`.
pub(crate) fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig<'_>) {
    cfg.service(segment("/stream").service(open_my_stream));
}

/// How often an idle stream sends a comment.
const HEARTBEAT: Duration = Duration::from_secs(15);

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

/// Open your event stream.
///
/// Any member: a `text/event-stream` of what is pushed to you in the current tenant, starting
/// after `Last-Event-ID` when given (every event after it, in order), else with what happens from
/// now on. Event types: `ready` first (data: `{"after": n}`, the id the stream continues after;
/// no `id` of its own), `notification` (data: a `NotificationDto`) and `reset` (data:
/// `{"head": n}`: events you missed are no longer kept — refetch, then continue from `n`). The
/// server ends the stream when it shuts down: reconnect with `Last-Event-ID` to resume.
#[utoipa::path(tag = "notifications",
    params(("Last-Event-ID" = Option<String>, Header, description = "The `id` of the last event received, to resume after it")),
    responses(
        (status = 200, content_type = "text/event-stream", body = StreamFrame,
         description = "Server-Sent Events: `id`, `event` (`notification` or `reset`) and JSON `data` per event; `: keep-alive` comments every 15 s"),
        AuthErrors))]
#[get("/stream")]
pub(crate) async fn open_my_stream(ctx: Ctx, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let (tenant, user) = (ctx.actor.tenant_id, ctx.actor.user_id);
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
    let open = Open {
        state: ctx.state.into_inner(),
        tenant,
        user,
        last,
        pending,
        subscription,
        heartbeat: tokio::time::interval_at(tokio::time::Instant::now() + HEARTBEAT, HEARTBEAT),
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
    /// JSON: `{"after": n}` (ready), a `NotificationDto` (notification), `{"head": n}` (reset).
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
                        } else if self.read_back().await.is_err() {
                            return None;
                        }
                    }
                    Delivery::Lagged => {
                        if self.read_back().await.is_err() {
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
