//! Optimistic concurrency over HTTP: editable resources carry an `ETag` (their revision), and
//! writes must send it back in `If-Match` — 428 without it, 412 when it is stale.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload};

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
