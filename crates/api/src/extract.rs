//! Request extractors that fail with problems, never with a framework-shaped error.
//!
//! [`ValidJson`] is how every handler takes a JSON body: it checks the media type (415), the size
//! (413), the syntax (400 `malformed_json`), the shape against the DTO — unknown fields included,
//! since write DTOs use `deny_unknown_fields` (422 with the JSON path of each bad field) — and the
//! DTO's `validator` rules (422 with every failing field).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, ProblemField};

/// The largest JSON body accepted, from `GUILD_JSON_LIMIT_BYTES`.
#[derive(Debug, Clone, Copy)]
pub struct JsonLimit(pub usize);

/// A JSON body, deserialized and validated.
#[derive(Debug)]
pub struct ValidJson<T>(pub T);

impl<T> ValidJson<T> {
    /// The inner value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for ValidJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<JsonLimit>().map_or(1 << 20, |l| l.0);
        let media_type_ok = is_json(req);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            if !media_type_ok {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                )
                .detail("send the body as application/json"));
            }
            if declared_len.is_some_and(|len| len > limit) {
                return Err(too_large(limit));
            }
            let mut body = web::BytesMut::new();
            while let Some(chunk) = payload.next().await {
                let chunk = chunk.map_err(|e| {
                    ApiError::new(StatusCode::BAD_REQUEST, "bad_request").detail(e.to_string())
                })?;
                if body.len() + chunk.len() > limit {
                    return Err(too_large(limit));
                }
                body.extend_from_slice(&chunk);
            }
            crate::idempotency::record_body(&req, &body);
            let value = parse::<T>(&body)?;
            value
                .validate()
                .map_err(|e| ApiError::validation(field_errors(&e)))?;
            Ok(Self(value))
        })
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(Ok(content_type)) = req.headers().get(header::CONTENT_TYPE).map(|v| v.to_str()) else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        .detail(format!("the body is larger than {limit} bytes"))
}

/// Deserializes with the path of the failing field: syntax errors are 400, shape errors 422.
///
/// Two things JSON allows and the server cannot take are settled here, for every body: a number
/// with a zero fraction where an integer is expected (`5.0`, an integer by JSON Schema) is read as
/// that integer, and a string holding U+0000 (which PostgreSQL text cannot store) is 422
/// `invalid_character` instead of a database error. A body that is an array is 422
/// `invalid_type`: every body is an object.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if let Some(field) = nul_in(body) {
        return Err(ApiError::validation(vec![ProblemField {
            field,
            code: "invalid_character".into(),
            message: "must not contain the NUL character (U+0000)".into(),
        }]));
    }
    // Every request body is a JSON object; serde would also read a struct from an array of its
    // fields in order (`[null, null]`), which no schema allows.
    if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
        && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok()
    {
        return Err(ApiError::validation(vec![ProblemField {
            field: String::new(),
            code: "invalid_type".into(),
            message: "invalid type: sequence, expected a JSON object".into(),
        }]));
    }
    match parse_exact::<T>(body) {
        Err(err) if err.integral_float => {
            let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(body) else {
                return Err(err.error);
            };
            integral_floats_to_integers(&mut value);
            serde_path_to_error::deserialize::<_, T>(value).map_err(|_| err.error)
        }
        result => result.map_err(|err| err.error),
    }
}

/// The path of the first string (or key) holding U+0000, if the body escapes one.
fn nul_in(body: &[u8]) -> Option<String> {
    fn find(value: &serde_json::Value, path: &str) -> Option<String> {
        match value {
            serde_json::Value::String(s) => s.contains('\0').then(|| path.to_owned()),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| find(v, &format!("{path}[{i}]"))),
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let at = join_path(path, k);
                if k.contains('\0') {
                    Some(at)
                } else {
                    find(v, &at)
                }
            }),
            _ => None,
        }
    }
    if !body.windows(6).any(|w| w.eq_ignore_ascii_case(b"\\u0000")) {
        return None;
    }
    let value = serde_json::from_slice::<serde_json::Value>(body).ok()?;
    find(&value, "")
}

fn integral_floats_to_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| n.is_f64() && f.fract() == 0.0)
                && f.abs() < 9.0e15
            {
                #[expect(clippy::cast_possible_truncation, reason = "integral and in range")]
                let i = f as i64;
                *n = serde_json::Number::from(i);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        serde_json::Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

struct ParseError {
    error: ApiError,
    /// A float where an integer was expected: worth a second try with integral floats read as
    /// integers.
    integral_float: bool,
}

fn parse_exact<T: DeserializeOwned>(body: &[u8]) -> Result<T, ParseError> {
    let plain = |error: ApiError| ParseError {
        error,
        integral_float: false,
    };
    let malformed = |err: &serde_json::Error| {
        let detail = if body.iter().all(u8::is_ascii_whitespace) {
            "the body is empty; send a JSON document".to_owned()
        } else {
            format!("the body is not valid JSON: {err}")
        };
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json").detail(detail)
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|err| {
        let inner = err.inner();
        if !inner.is_data() {
            return plain(malformed(inner));
        }
        // A shape error can surface before a syntax error later in the body; syntax wins.
        if let Err(syntax) = serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            return plain(malformed(&syntax));
        }
        let message = inner.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        let path = err.path().to_string();
        // serde_path_to_error points at the object holding a missing field, but at the unknown
        // field itself.
        let (field, code) = if let Some(name) = between(&message, "missing field `", "`") {
            (join_path(&path, name), "required")
        } else if between(&message, "unknown field `", "`").is_some() {
            (path, "unknown_field")
        } else if message.starts_with("invalid type") {
            (path, "invalid_type")
        } else {
            (path, "invalid_value")
        };
        let field = if field == "." { String::new() } else { field };
        let integral_float = message.starts_with("invalid type: floating point");
        ParseError {
            error: ApiError::validation(vec![ProblemField {
                field,
                code: code.to_owned(),
                message,
            }]),
            integral_float,
        }
    })?;
    de.end().map_err(|e| plain(malformed(&e)))?;
    Ok(value)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.split_once(start)?.1;
    Some(rest.split_once(end)?.0)
}

fn join_path(path: &str, name: &str) -> String {
    match path {
        "" | "." => name.to_owned(),
        parent => format!("{parent}.{name}"),
    }
}

/// Flattens `validator`'s nested errors into `field` paths such as `sections[2].title`.
pub fn field_errors(errors: &ValidationErrors) -> Vec<ProblemField> {
    let mut out = Vec::new();
    collect(errors, "", &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

fn collect(errors: &ValidationErrors, prefix: &str, out: &mut Vec<ProblemField>) {
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            field.to_string()
        } else {
            format!("{prefix}.{field}")
        };
        match kind {
            ValidationErrorsKind::Field(list) => out.extend(list.iter().map(|e| ProblemField {
                field: path.clone(),
                code: e.code.to_string(),
                message: e.message.as_ref().map_or_else(
                    || format!("failed the {} rule", e.code),
                    ToString::to_string,
                ),
            })),
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (index, inner) in items {
                    collect(inner, &format!("{path}[{index}]"), out);
                }
            }
        }
    }
}

/// The `validator` rule of every user-supplied link a client renders (cover and reward images):
/// an `https://` URL, as [`guild_kernel::links`] defines it. Use it as
/// `#[validate(custom(function = "crate::extract::https_link"))]`.
pub fn https_link(value: &str) -> Result<(), validator::ValidationError> {
    guild_kernel::check_link(value).map_err(|_| {
        let mut err = validator::ValidationError::new(guild_kernel::links::LINK_CODE);
        err.message = Some(guild_kernel::links::LINK_MESSAGE.into());
        err
    })
}

/// The `validator` rule of a text field whose schema has `pattern = "\\S"`: at least one
/// character that is not white space. White space is what a JSON Schema validator's `\s` may
/// mean: Unicode `White_Space` and the separators U+001C–U+001F. Use it as
/// `#[validate(custom(function = "crate::extract::has_text"))]`.
pub fn has_text(value: &str) -> Result<(), validator::ValidationError> {
    if value
        .chars()
        .any(|c| !c.is_whitespace() && !('\u{1c}'..='\u{1f}').contains(&c))
    {
        return Ok(());
    }
    let mut err = validator::ValidationError::new("blank");
    err.message = Some("must hold a character other than white space".into());
    Err(err)
}

/// Configures the framework's own extractors (`Path`, `Query`) to fail with problems too.
pub fn configure_extractors(cfg: &mut web::ServiceConfig, json_limit: usize) {
    cfg.app_data(JsonLimit(json_limit))
        .app_data(web::PayloadConfig::new(json_limit))
        .app_data(web::PathConfig::default().error_handler(|err, req| {
            crate::app::wrong_method_for(req)
                .unwrap_or_else(|| {
                    ApiError::new(StatusCode::NOT_FOUND, "invalid_path_parameter")
                        .detail(err.to_string())
                })
                .into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|err, _| {
            ApiError::validation(vec![ProblemField {
                field: String::new(),
                code: "invalid_query".into(),
                message: err.to_string(),
            }])
            .into()
        }));
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Input {
        #[validate(length(min = 1, max = 5, message = "must be 1 to 5 characters"))]
        title: String,
        #[validate(nested)]
        #[serde(default)]
        items: Vec<Item>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Item {
        #[validate(range(min = 1))]
        qty: u32,
    }

    fn fields(body: &str) -> Vec<(String, String)> {
        let err = parse::<Input>(body.as_bytes())
            .and_then(|v| {
                v.validate()
                    .map_err(|e| ApiError::validation(field_errors(&e)))
            })
            .unwrap_err();
        err.problem()
            .errors
            .into_iter()
            .map(|f| (f.field, f.code))
            .collect()
    }

    #[test]
    fn integral_floats_are_integers_and_nul_is_refused() {
        let input = parse::<Input>(br#"{"title": "a", "items": [{"qty": 5.0}]}"#).unwrap();
        assert_eq!(input.items[0].qty, 5);
        assert_eq!(
            fields(r#"{"title": "a", "items": [{"qty": 5.5}]}"#),
            [("items[0].qty".into(), "invalid_type".into())]
        );
        assert_eq!(
            fields(r#"{"title": "a\u0000b"}"#),
            [("title".into(), "invalid_character".into())]
        );
        // An escaped backslash before `u0000` is text, not NUL.
        assert_eq!(
            parse::<Input>(br#"{"title": "\\u0000"}"#).unwrap().title,
            "\\u0000"
        );
    }

    #[test]
    fn shape_errors_name_the_field() {
        assert_eq!(fields(r#"{}"#), [("title".into(), "required".into())]);
        assert_eq!(
            fields(r#"{"title": 3}"#),
            [("title".into(), "invalid_type".into())]
        );
        assert_eq!(
            fields(r#"{"title": "a", "tenant_id": "x"}"#),
            [("tenant_id".into(), "unknown_field".into())]
        );
        assert_eq!(
            fields(r#"{"title": "a", "items": [{"qty": 1}, {"qty": "2"}]}"#),
            [("items[1].qty".into(), "invalid_type".into())]
        );
    }

    #[test]
    fn validation_errors_are_flattened_with_paths() {
        assert_eq!(
            fields(r#"{"title": "toolong", "items": [{"qty": 1}, {"qty": 0}]}"#),
            [
                ("items[1].qty".into(), "range".into()),
                ("title".into(), "length".into())
            ]
        );
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for body in ["{", "", "[1,]", "{} trailing"] {
            let err = parse::<Input>(body.as_bytes()).unwrap_err();
            assert_eq!(err.code(), "malformed_json", "{body:?}");
        }
    }
}
