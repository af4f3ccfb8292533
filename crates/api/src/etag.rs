//! Optimistic concurrency over HTTP: editable resources carry an `ETag` (their revision), and
//! writes must send it back in `If-Match` — 428 without it, 412 when it is stale.
//!
//! A handler answers an editable resource as [`Tagged`] (its DTO is [`Revised`]), or, for an
//! idempotent create, passes the reply of `idempotency::once` through [`tag_by_body`].

use actix_web::body::BoxBody;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder, dev::Payload};

use crate::error::ApiError;

/// The `ETag` of a revision.
pub fn etag(revision: i32) -> String {
    format!("\"{revision}\"")
}

/// A JSON response with the resource's `ETag`.
pub fn with_etag<T: serde::Serialize>(
    mut response: actix_web::HttpResponseBuilder,
    revision: i32,
    body: &T,
) -> HttpResponse {
    response
        .insert_header((
            header::ETAG,
            HeaderValue::from_str(&etag(revision)).unwrap_or(HeaderValue::from_static("\"0\"")),
        ))
        .json(body)
}

/// A DTO of an editable resource: what its `ETag` names.
pub(crate) trait Revised {
    /// The resource's revision.
    fn revision(&self) -> i32;
}

/// A 200 JSON answer of an editable resource, with its `ETag`.
#[derive(Debug)]
pub(crate) struct Tagged<T>(pub(crate) T);

impl<T: serde::Serialize + Revised> Responder for Tagged<T> {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse {
        self.into()
    }
}

impl<T: serde::Serialize + Revised> From<Tagged<T>> for HttpResponse {
    fn from(Tagged(body): Tagged<T>) -> Self {
        with_etag(HttpResponse::Ok(), body.revision(), &body)
    }
}

/// Adds the `ETag` of the `revision` in a JSON answer of `idempotency::once` (a replayed one
/// too, whose body is the stored one).
pub(crate) async fn tag_by_body(reply: HttpResponse) -> HttpResponse {
    #[derive(serde::Deserialize)]
    struct Revision {
        revision: i32,
    }
    let (head, body) = reply.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let revision = serde_json::from_slice::<Revision>(&bytes).ok();
    let mut reply = head.set_body(bytes).map_into_boxed_body();
    if let Some(Revision { revision }) = revision
        && let Ok(value) = HeaderValue::from_str(&etag(revision))
    {
        reply.headers_mut().insert(header::ETAG, value);
    }
    reply
}

/// The revision named by `If-Match`.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub i32);

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let value = req
            .headers()
            .get(header::IF_MATCH)
            .and_then(|v| v.to_str().ok());
        std::future::ready(match value {
            None => Err(
                ApiError::new(StatusCode::PRECONDITION_REQUIRED, "precondition_required")
                    .detail("send the ETag you read as If-Match"),
            ),
            Some(v) => v
                .trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<i32>()
                .map(IfMatch)
                .map_err(|_| {
                    ApiError::new(StatusCode::PRECONDITION_FAILED, "precondition_failed")
                        .detail("If-Match does not name a version of this resource")
                }),
        })
    }
}
