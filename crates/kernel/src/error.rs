//! Stable error codes.
//!
//! Every domain error enum implements [`ErrorCode`]; only the API crate turns it into an HTTP
//! response, so domains never depend on actix. A code is snake_case and is never renamed once
//! shipped: clients branch on it.

use serde::Serialize;

/// An error that knows its stable machine-readable code and its HTTP status.
pub trait ErrorCode: std::error::Error + Send + Sync + 'static {
    /// The stable snake_case code, e.g. `module_not_found`.
    fn code(&self) -> &'static str;

    /// The HTTP status this error maps to (4xx for the client's mistakes, 5xx otherwise).
    fn status(&self) -> u16;

    /// Problems with individual input fields, rendered as `errors[]`.
    fn field_errors(&self) -> Vec<FieldError> {
        Vec::new()
    }
}

/// One problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Where the value sits in the request: a JSON path such as `sections[2].title`, or a query or
    /// path parameter name.
    pub field: String,
    /// A stable snake_case code, e.g. `length`, `required`, `invalid_type`.
    pub code: String,
    /// A human-readable explanation.
    pub message: String,
}

impl FieldError {
    /// Builds a field error.
    pub fn new(
        field: impl Into<String>,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        }
    }
}
