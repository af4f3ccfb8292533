//! Cross-cutting request handling: request ids, access logs, metrics and problem rendering.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpRequest, HttpResponse, web};
use tracing::Instrument;

use crate::error::{ApiError, PROBLEM_JSON, Problem, code_for_status};
use crate::state::AppState;

/// The request id header, accepted from clients (or a proxy) and always echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the current request, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// A client-supplied id is kept if it is short and plain; otherwise a UUIDv7 is generated.
fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned)
}

/// Outermost: assigns the request id, opens the request's tracing span, logs one line per request
/// and records its metrics.
///
/// The route pattern (`/v1/modules/{id}`) is read once routing has happened, from the resource
/// the router matched: asking for it before the call would match the path against every route a
/// second time. The access line and the error lines carry it; every line logged in the request's
/// span carries the request id and method.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&req);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let span = tracing::info_span!("request", request_id = %id, %method);
    let state = req.app_data::<web::Data<AppState>>().cloned();

    let mut res = next.call(req).instrument(span.clone()).await?;

    let status = res.status();
    let elapsed = started.elapsed();
    let route = route_of(res.request());
    if let Some(state) = state {
        state
            .metrics
            .observe_request(method.as_str(), &route, status.as_u16(), elapsed);
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    let request = res.request().clone();
    crate::client::write_headers(&request, res.headers_mut());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            route,
            path = res.request().path(),
            "request finished"
        );
    });
    Ok(res)
}

/// The pattern of the route that served `req` (or `unmatched`), once routing has happened.
fn route_of(req: &HttpRequest) -> String {
    req.match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// A SCIM response (`/scim/v2`) states its errors as SCIM `Error` resources (RFC 7644 §3.12),
/// which its clients read; it is left as it is.
fn is_scim(headers: &actix_web::http::header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(crate::routes::scim::SCIM_JSON))
}

/// Renders every error response (status >= 400) as a problem with the request id, whatever
/// produced it: an [`ApiError`], a framework error, or a bare status.
pub async fn problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    // Handlers' and extractors' errors arrive as responses carrying the error; an `Err` would only
    // come from an inner middleware, and is rendered by its own `error_response` (a problem too).
    let res = next.call(req).await?.map_into_boxed_body();
    let status = res.status();
    if status.as_u16() < 400 || is_scim(res.response().headers()) {
        return Ok(res);
    }

    let mut problem = match res.response().error() {
        Some(err) => match err.as_error::<ApiError>() {
            Some(api) => {
                if let Some(cause) = api.log_cause() {
                    let route = route_of(res.request());
                    tracing::error!(code = api.code(), error = cause, route, "request failed");
                }
                api.problem()
            }
            None => {
                let mut problem = Problem::new(status, code_for_status(status));
                if status.is_server_error() {
                    let route = route_of(res.request());
                    tracing::error!(error = %err, route, "request failed");
                } else {
                    problem.detail = Some(err.to_string());
                }
                problem
            }
        },
        None => Problem::new(status, code_for_status(status)),
    };
    let (req, response) = res.into_parts();
    problem.request_id = req.extensions().get::<RequestId>().map(|id| id.0.clone());

    let mut rendered = HttpResponse::build(status);
    for (name, value) in response.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.append_header((name.clone(), value.clone()));
        }
    }
    let body = serde_json::to_string(&problem).unwrap_or_default();
    let rendered = rendered
        .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
        .body(body);
    Ok(ServiceResponse::new(req, rendered))
}
