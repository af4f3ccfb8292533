//! Reading the member's event stream (`GET /v1/stream`) frame by frame from a service built over
//! an app's state (the [`crate::TestApp`] collects whole bodies, and a stream never ends).

use std::pin::Pin;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};

/// An open stream's body.
pub type StreamBody<B> = Pin<Box<B>>;

/// Opens `token`'s stream on `service` (after `last_event_id` when given) and checks it opened.
pub async fn open_stream<S, B>(
    service: &S,
    token: &str,
    last_event_id: Option<&str>,
) -> StreamBody<B>
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let mut req = actix_web::test::TestRequest::get()
        .uri("/v1/stream")
        .insert_header(("authorization", format!("Bearer {token}")));
    if let Some(last) = last_event_id {
        req = req.insert_header(("last-event-id", last.to_owned()));
    }
    let res = actix_web::test::call_service(service, req.to_request()).await;
    assert_eq!(res.status(), 200, "the stream did not open");
    Box::pin(res.into_body())
}

/// The next frame of an open stream (each frame is one chunk), or `None` if none comes within
/// `wait`. Panics if the stream ends or fails.
pub async fn frame_within<B: MessageBody>(
    body: &mut StreamBody<B>,
    wait: Duration,
) -> Option<String> {
    let chunk = tokio::time::timeout(wait, std::future::poll_fn(|cx| body.as_mut().poll_next(cx)))
        .await
        .ok()?
        .expect("the stream is still open");
    let Ok(bytes) = chunk else {
        panic!("the stream failed");
    };
    Some(String::from_utf8(bytes.to_vec()).expect("utf-8"))
}

/// The next frame of an open stream, within 10 s.
pub async fn next_frame<B: MessageBody>(body: &mut StreamBody<B>) -> String {
    frame_within(body, Duration::from_secs(10))
        .await
        .expect("a frame within 10 s")
}

/// The next frame that carries an event `id` (skipping keep-alives), within 10 s: its id.
pub async fn next_event_id<B: MessageBody>(body: &mut StreamBody<B>) -> i64 {
    loop {
        if let Some(id) = frame_id(&next_frame(body).await) {
            return id;
        }
    }
}

/// The frame a stream opens with when it continues after `after`.
pub fn ready_frame(after: i64) -> String {
    format!("retry: 3000\nevent: ready\ndata: {{\"after\":{after}}}\n\n")
}

/// A frame's `id`, if it has one.
pub fn frame_id(frame: &str) -> Option<i64> {
    frame
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .and_then(|id| id.parse().ok())
}
