//! Reading an event stream (`GET /v1/stream`) a frame at a time: each frame is one chunk of the
//! response body.

use std::pin::Pin;

use actix_web::body::MessageBody;

/// The next frame of an open event stream; panics when none comes within 10 s.
pub async fn frame<B: MessageBody>(body: &mut Pin<Box<B>>) -> String {
    let chunk = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        std::future::poll_fn(|cx| body.as_mut().poll_next(cx)),
    )
    .await
    .expect("a frame within 10 s")
    .expect("the stream is still open");
    let Ok(bytes) = chunk else {
        panic!("the stream failed");
    };
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// The frame a stream opens with: continuing after `after`.
pub fn ready(after: i64) -> String {
    format!("retry: 3000\nevent: ready\ndata: {{\"after\":{after}}}\n\n")
}

/// A frame's `id`, if it has one.
pub fn id_of(frame: &str) -> Option<i64> {
    frame
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .and_then(|id| id.parse().ok())
}
