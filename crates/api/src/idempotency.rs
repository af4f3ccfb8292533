//! The `Idempotency-Key` request header, required on POSTs that create or spend: the domain
//! stores the first successful response per tenant, user and key (`guild_db::idempotency`) and
//! replays it for a repeat with the same body; a repeat with another body is 422
//! `idempotency_key_reused`. A replayed response carries `Idempotent-Replayed: true`.

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, dev::Payload};

use crate::error::ApiError;

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// The header a replayed response carries.
pub const REPLAYED: &str = "idempotent-replayed";

/// A client-made key, 1 to 255 visible ASCII characters (a UUID is a good choice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(pub String);

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(HEADER) else {
            return std::future::ready(Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
            )
            .detail("send an Idempotency-Key header (e.g. a UUID) with this request")));
        };
        let key = value.to_str().unwrap_or_default().trim();
        let valid =
            !key.is_empty() && key.len() <= 255 && key.bytes().all(|b| b.is_ascii_graphic());
        std::future::ready(if valid {
            Ok(Self(key.to_owned()))
        } else {
            Err(
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_idempotency_key")
                    .detail("Idempotency-Key must be 1 to 255 visible ASCII characters"),
            )
        })
    }
}
