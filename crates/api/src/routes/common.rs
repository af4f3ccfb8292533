//! Pieces shared by the handlers: documented error responses, pagination query parameters.

use guild_kernel::PageRequest;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, IntoResponses, ToSchema};

use crate::error::Problem;

/// The 403 codes of every authenticated operation, for an operation that documents its own 403
/// on top of them: `concat!("Not allowed: ", forbidden_codes!(), "; …")`.
macro_rules! forbidden_codes {
    () => {
        "`forbidden`, `role_not_assignable`, `not_a_member`, `membership_inactive`, `tenant_archived`, `no_active_tenant`, `api_key_not_permitted` (an API key without `act_as_member` on an operation no permission decides)"
    };
}
pub(crate) use forbidden_codes;

/// 401 and 403, on every authenticated operation.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum AuthErrors {
    /// Missing, malformed, expired or revoked credentials.
    #[response(
        status = 401,
        description = "Not signed in: `unauthenticated`, `invalid_token`, `session_ended` (a token minted before the account's password changed)",
        content_type = "application/problem+json"
    )]
    Unauthenticated(Problem),
    /// Signed in, but not allowed.
    #[response(
        status = 403,
        description = concat!("Not allowed: ", forbidden_codes!()),
        content_type = "application/problem+json"
    )]
    Forbidden(Problem),
}

/// 400 and 422, on every operation that takes a body or query.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum InputErrors {
    /// The body is not JSON.
    #[response(
        status = 400,
        description = "`malformed_json`",
        content_type = "application/problem+json"
    )]
    Malformed(Problem),
    /// A field is missing, unknown, of the wrong type or breaks a rule; see `errors[]`.
    #[response(
        status = 422,
        description = "`validation_failed`",
        content_type = "application/problem+json"
    )]
    Invalid(Problem),
}

/// 404.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum NotFound {
    /// No such thing in your tenant (another tenant's is also 404).
    #[response(
        status = 404,
        description = "Not found in your tenant",
        content_type = "application/problem+json"
    )]
    NotFound(Problem),
}

/// 409.
#[derive(IntoResponses)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) enum Conflict {
    /// The change conflicts with existing data.
    #[response(
        status = 409,
        description = "Conflict",
        content_type = "application/problem+json"
    )]
    Conflict(Problem),
}

/// `?limit=&cursor=`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageParams {
    /// Page size: 1 to 200, 50 when left out; any other value is 422 `invalid_query`.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "page_limit")]
    pub(crate) limit: Option<u32>,
    /// The `next_cursor` of the previous page, as it was given (a cursor Guild did not make is
    /// 422 `invalid_cursor`).
    #[param(max_length = 1024)]
    pub(crate) cursor: Option<String>,
}

/// Reads `limit` and refuses a value outside 1 to [`MAX_LIMIT`](guild_kernel::page::MAX_LIMIT),
/// as `PageParams` documents it. A query struct with its own `limit` uses it too:
/// `#[serde(default, deserialize_with = "crate::routes::common::page_limit")]` with
/// `#[param(minimum = 1, maximum = 200, default = 50)]`.
pub(crate) fn page_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let limit = Option::<u32>::deserialize(d)?;
    match limit {
        Some(n) if !(1..=guild_kernel::page::MAX_LIMIT).contains(&n) => {
            Err(serde::de::Error::custom(format!(
                "limit must be 1 to {}, got {n}",
                guild_kernel::page::MAX_LIMIT
            )))
        }
        other => Ok(other),
    }
}

impl From<&PageParams> for PageRequest {
    fn from(p: &PageParams) -> Self {
        Self {
            limit: p.limit,
            cursor: p.cursor.clone(),
        }
    }
}

/// A page of results.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PageOf<T: ToSchema> {
    /// The rows.
    pub(crate) data: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub(crate) next_cursor: Option<String>,
}

impl<T: ToSchema> PageOf<T> {
    pub(crate) fn map<U>(page: guild_kernel::Page<U>, f: impl FnMut(U) -> T) -> Self {
        Self {
            data: page.data.into_iter().map(f).collect(),
            next_cursor: page.next_cursor,
        }
    }
}

/// For optional fields of updates: tells "left out" (keep, `None`) from `null` (clear,
/// `Some(None)`). Use with `#[serde(default, with = "double_option")]`.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
