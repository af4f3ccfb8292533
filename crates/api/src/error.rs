//! Errors as RFC 9457 problem details (`application/problem+json`).
//!
//! Handlers return [`ApiError`], built from any domain error through its
//! [`ErrorCode`](guild_kernel::ErrorCode). The [`problems`](crate::middleware::problems) middleware
//! turns every error response, including the framework's own (unknown route, wrong method, body too
//! large…), into a [`Problem`] carrying the request id, so clients see one shape for every error.
//! 5xx problems never carry internal detail: that goes to the log.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use guild_kernel::{ErrorCode, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An error response as defined by RFC 9457, with Guild's `code`, `request_id` and `errors`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:guild:problem:validation_failed",
    "title": "Unprocessable Entity",
    "status": 422,
    "detail": "the request body has invalid fields",
    "code": "validation_failed",
    "request_id": "0193a1c4-6f1e-7a52-9e2b-5d3c1f0a9b7e",
    "errors": [{"field": "title", "code": "length", "message": "must be 1 to 200 characters"}]
}))]
pub struct Problem {
    /// A URI naming the problem type: `urn:guild:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// A human-readable explanation of this occurrence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The stable machine-readable code; clients branch on it. Never renamed once shipped.
    pub code: String,
    /// The request's id, as in the `X-Request-Id` response header; quote it when reporting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Problems with individual fields (422).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// Extra members specific to the problem type (e.g. `checks` on `not_ready`).
    #[serde(flatten, skip_serializing_if = "serde_json::Map::is_empty")]
    #[schema(ignore)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ProblemField {
    /// Where the value sits: a JSON path such as `sections[2].title`, or a parameter name.
    pub field: String,
    /// A stable snake_case code such as `required`, `invalid_type`, `unknown_field`, `length`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl From<FieldError> for ProblemField {
    fn from(e: FieldError) -> Self {
        Self {
            field: e.field,
            code: e.code,
            message: e.message,
        }
    }
}

/// An error a handler returns; rendered as a [`Problem`]. Boxed, so `Result<T, ApiError>` stays
/// small on the happy path.
#[derive(Debug)]
pub struct ApiError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    status: StatusCode,
    code: &'static str,
    detail: Option<String>,
    errors: Vec<ProblemField>,
    headers: Vec<(HeaderName, HeaderValue)>,
    extensions: serde_json::Map<String, serde_json::Value>,
    /// Logged for 5xx, never shown.
    source: Option<String>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0.status.as_u16(), self.0.code)?;
        if let Some(detail) = self.0.detail.as_ref().or(self.0.source.as_ref()) {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl ApiError {
    /// An error with a status and a code.
    pub fn new(status: StatusCode, code: &'static str) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            detail: None,
            errors: Vec::new(),
            headers: Vec::new(),
            extensions: serde_json::Map::new(),
            source: None,
        }))
    }

    /// Adds a human-readable detail (shown to clients for 4xx only).
    #[must_use]
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// Adds field errors.
    #[must_use]
    pub fn fields(mut self, errors: impl IntoIterator<Item = ProblemField>) -> Self {
        self.0.errors.extend(errors);
        self
    }

    /// Adds a response header (`Allow`, `Retry-After`…).
    #[must_use]
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// Adds an extension member to the problem body.
    #[must_use]
    pub fn extension(mut self, name: &str, value: serde_json::Value) -> Self {
        self.0.extensions.insert(name.to_owned(), value);
        self
    }

    /// 422 `validation_failed` with the given field errors.
    pub fn validation(errors: Vec<ProblemField>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
            .detail("the request has invalid fields")
            .fields(errors)
    }

    /// 500 `internal_error`; `cause` is logged, not shown.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut err = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
        err.0.source = Some(cause.to_string());
        err
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// What to log about this error, if it is the server's fault.
    pub fn log_cause(&self) -> Option<&str> {
        self.0.status.is_server_error().then(|| {
            self.0
                .source
                .as_deref()
                .or(self.0.detail.as_deref())
                .unwrap_or(self.0.code)
        })
    }

    /// The problem body, without the request id (the middleware adds it).
    pub fn problem(&self) -> Problem {
        let mut problem = Problem::new(self.0.status, self.0.code);
        if !self.0.status.is_server_error() {
            problem.detail.clone_from(&self.0.detail);
        }
        problem.errors.clone_from(&self.0.errors);
        problem.extensions.clone_from(&self.0.extensions);
        problem
    }
}

impl<E: ErrorCode> From<E> for ApiError {
    fn from(err: E) -> Self {
        let status =
            StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut api = Self::new(status, err.code())
            .fields(err.field_errors().into_iter().map(ProblemField::from));
        if status.is_server_error() {
            api.0.source = Some(err.to_string());
        } else {
            api.0.detail = Some(err.to_string());
        }
        api
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.0.status);
        for (name, value) in &self.0.headers {
            response.insert_header((name.clone(), value.clone()));
        }
        response
            .insert_header((header::CONTENT_TYPE, PROBLEM_JSON))
            .body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl Problem {
    /// A problem with the standard title for `status`.
    pub fn new(status: StatusCode, code: &str) -> Self {
        Self {
            type_: format!("urn:guild:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: None,
            code: code.to_owned(),
            request_id: None,
            errors: Vec::new(),
            extensions: serde_json::Map::new(),
        }
    }
}

/// The code for an error response that did not come from an [`ApiError`]: the framework's own
/// 404, 405, 413…, decided by status alone.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "route_not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        412 => "precondition_failed",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        428 => "precondition_required",
        429 => "rate_limited",
        431 => "headers_too_large",
        503 => "service_unavailable",
        504 => "gateway_timeout",
        s if s >= 500 => "internal_error",
        _ => "bad_request",
    }
}

#[cfg(test)]
mod tests {
    use guild_db::DbError;

    use super::*;

    #[test]
    fn client_errors_from_the_database_name_no_constraint() {
        for err in [
            DbError::UniqueViolation {
                constraint: "users_email_key".into(),
            },
            DbError::ForeignKeyViolation {
                constraint: "modules_tenant_id_category_id_fkey".into(),
            },
            DbError::CheckViolation {
                constraint: "groups_color_check".into(),
            },
        ] {
            let problem = ApiError::from(err).problem();
            assert!(problem.status >= 400 && problem.status < 500);
            let body = serde_json::to_string(&problem).unwrap_or_default();
            for leak in ["users_email_key", "_fkey", "_check"] {
                assert!(!body.contains(leak), "{leak} in {body}");
            }
        }
    }
}
