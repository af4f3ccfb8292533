//! `Idempotency-Key`: one mechanism for every POST that creates a resource or moves XP, stock or
//! attempts (see `docs/API-DESIGN.md`).
//!
//! A handler takes an [`Idempotency`] and runs its write through [`once`]. With a key,
//! the write's transaction first claims the key (`guild_db::idempotency::claim`, a
//! transaction-scoped advisory lock per tenant, user and key, so a concurrent repeat waits and
//! then replays), and stores the response in the same transaction as the write it describes:
//! - a repeat with the same key and the same request (method, path and the SHA-256 of the body)
//!   gets the stored status and body again, with `Idempotent-Replayed: true`;
//! - a repeat with the same key and another request is 422 `idempotency_key_reused`;
//! - a failed request stores nothing, so its retry is evaluated again.
//!
//! Without a key the write simply runs, except on the operations where a retry would spend twice
//! (a redemption, an XP adjustment, a quiz attempt's submission, an assignment submission): those
//! call [`Idempotency::require`] and answer 400 `idempotency_key_required` without one.

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload};
use diesel_async::AsyncPgConnection;
use guild_db::idempotency::{self as store, Claim};
use guild_db::tx::TxFn;
use guild_kernel::ErrorCode;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::ctx::Ctx;
use crate::error::ApiError;

/// The header's name.
pub const HEADER: &str = "idempotency-key";

/// The header a replayed response carries.
pub const REPLAYED: &str = "idempotent-replayed";

/// The `Idempotency-Key` request header, as documented on an operation that takes it.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct IdempotencyHeader {
    /// A key you make (a UUID is a good choice), 1 to 255 visible ASCII characters, reused only
    /// to retry this same request: the retry gets the first response again, with
    /// `Idempotent-Replayed: true`; the same key with another request is 422
    /// `idempotency_key_reused`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    idempotency_key: Option<String>,
}

/// The same header where it is required (operations that spend).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[expect(dead_code, reason = "documentation only")]
pub(crate) struct RequiredIdempotencyHeader {
    /// A key you make (a UUID is a good choice), 1 to 255 visible ASCII characters, reused only
    /// to retry this same request: the retry gets the first response again, with
    /// `Idempotent-Replayed: true`; the same key with another request is 422
    /// `idempotency_key_reused`. Without it the request is 400 `idempotency_key_required`.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    idempotency_key: String,
}

/// The SHA-256 of the request's JSON body, recorded by [`crate::extract::ValidJson`] when the
/// request carries an `Idempotency-Key`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyDigest(pub(crate) [u8; 32]);

/// The request's `Idempotency-Key`, if any, and what identifies the request.
#[derive(Debug)]
pub struct Idempotency {
    key: Option<String>,
    req: HttpRequest,
}

impl FromRequest for Idempotency {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = match req.headers().get(HEADER) {
            None => None,
            Some(value) => {
                let key = value.to_str().unwrap_or_default().trim();
                let valid = !key.is_empty()
                    && key.len() <= 255
                    && key.bytes().all(|b| b.is_ascii_graphic());
                if !valid {
                    return std::future::ready(Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_idempotency_key",
                    )
                    .detail("Idempotency-Key must be 1 to 255 visible ASCII characters")));
                }
                Some(key.to_owned())
            }
        };
        std::future::ready(Ok(Self {
            key,
            req: req.clone(),
        }))
    }
}

/// What the transaction did with the key.
enum Outcome {
    Fresh(StatusCode, serde_json::Value),
    Replay(u16, serde_json::Value),
    Reused,
}

/// An idempotent write's answer: its status and JSON body, first given or replayed.
#[derive(Debug)]
pub(crate) struct Answered {
    /// The status (the stored one on a replay).
    pub(crate) status: StatusCode,
    /// The body.
    pub(crate) body: serde_json::Value,
    /// Whether it was replayed from an earlier request with the same key.
    pub(crate) replayed: bool,
}

impl Answered {
    /// A response builder with the status and, on a replay, `Idempotent-Replayed: true`; the
    /// caller adds headers of its own and the body.
    pub(crate) fn builder(&self) -> actix_web::HttpResponseBuilder {
        let mut builder = HttpResponse::build(self.status);
        if self.replayed {
            builder.insert_header((REPLAYED, "true"));
        }
        builder
    }
}

impl Idempotency {
    /// Fails with 400 `idempotency_key_required` unless the request carries a key.
    pub fn require(&self) -> Result<&str, ApiError> {
        self.key.as_deref().ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "idempotency_key_required")
                .detail("send an Idempotency-Key header (e.g. a UUID) with this request")
        })
    }

    /// The key, if the request carries one.
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// The method, the path and the body's digest: what a repeat must match.
    fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        hash.update(self.req.method().as_str());
        hash.update(b" ");
        hash.update(self.req.path());
        hash.update(b"\n");
        if let Some(BodyDigest(digest)) = self.req.extensions().get::<BodyDigest>() {
            hash.update(digest);
        }
        hex::encode(hash.finalize())
    }

    /// Runs `f` in one transaction scoped to the actor's tenant and answers its result as JSON
    /// with the status `status` decides; with a key, claims it first and stores the answer with
    /// the write (see the module docs).
    async fn answer<A, D, E, F, S>(
        &self,
        ctx: &Ctx<A>,
        status: S,
        f: F,
    ) -> Result<HttpResponse, ApiError>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<D, E>
            + TxFn<&'r mut AsyncPgConnection, Result<D, E>, Fut: Send>
            + Send,
        D: Serialize + Send,
        E: From<guild_db::DbError> + ErrorCode + Send,
        S: Success<D>,
    {
        let Some(key) = self.key.as_deref() else {
            let value = ctx.write(f).await?;
            return Ok(HttpResponse::build(status.of(&value)).json(value));
        };
        let answered = self.keyed(ctx, key, status, f).await?;
        Ok(answered.builder().json(answered.body))
    }

    /// [`answer`](Self::answer) with a key: claims it, then runs `f` and stores its answer, or
    /// replays the stored one.
    async fn keyed<A, D, E, F, S>(
        &self,
        ctx: &Ctx<A>,
        key: &str,
        status: S,
        f: F,
    ) -> Result<Answered, ApiError>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<D, E>
            + TxFn<&'r mut AsyncPgConnection, Result<D, E>, Fut: Send>
            + Send,
        D: Serialize + Send,
        E: From<guild_db::DbError> + ErrorCode + Send,
        S: Success<D>,
    {
        let status = move |value: &D| status.of(value);
        let fingerprint = self.fingerprint();
        let (tenant, user) = (ctx.actor.tenant_id, ctx.actor.user_id);
        let outcome = ctx
            .write(async |conn| {
                match store::claim(conn, tenant, user, key, &fingerprint).await? {
                    Claim::Replay { status, body } => return Ok(Outcome::Replay(status, body)),
                    Claim::Reused => return Ok(Outcome::Reused),
                    Claim::New => {}
                }
                let value = f(conn).await?;
                let code = status(&value);
                let body = store::body(&value).map_err(E::from)?;
                store::store(conn, tenant, user, key, &fingerprint, code.as_u16(), &body).await?;
                Ok::<_, E>(Outcome::Fresh(code, body))
            })
            .await?;
        match outcome {
            Outcome::Fresh(status, body) => Ok(Answered {
                status,
                body,
                replayed: false,
            }),
            Outcome::Replay(stored, body) => Ok(Answered {
                status: StatusCode::from_u16(stored).unwrap_or(StatusCode::OK),
                body,
                replayed: true,
            }),
            Outcome::Reused => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_key_reused",
            )
            .detail("this Idempotency-Key was used for a different request")),
        }
    }
}

/// The success status of an idempotent write: a [`StatusCode`], or a function of the result for
/// a write whose status depends on it (e.g. 201 for a new resource, 200 for an existing one; a
/// replay answers the stored one).
pub(crate) trait Success<D>: Send {
    /// The status to answer `value` with.
    fn of(self, value: &D) -> StatusCode;
}

impl<D> Success<D> for StatusCode {
    fn of(self, _: &D) -> StatusCode {
        self
    }
}

impl<D, F: FnOnce(&D) -> StatusCode + Send> Success<D> for F {
    fn of(self, value: &D) -> StatusCode {
        self(value)
    }
}

/// Runs the idempotent write `f` for `ctx`'s actor under the request's `key` and answers its
/// result as JSON with `status` (see the module docs): the one way an idempotent operation
/// writes. An operation that requires a key calls [`Idempotency::require`] first.
pub(crate) async fn once<A, D, E, F, S>(
    ctx: &Ctx<A>,
    key: &Idempotency,
    status: S,
    f: F,
) -> Result<HttpResponse, ApiError>
where
    for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<D, E>
        + TxFn<&'r mut AsyncPgConnection, Result<D, E>, Fut: Send>
        + Send,
    D: Serialize + Send,
    E: From<guild_db::DbError> + ErrorCode + Send,
    S: Success<D>,
{
    key.answer(ctx, status, f).await
}

/// [`once`] for a caller that builds the response itself (adding headers of its own, such as the
/// `Location` of an accepted job): answers the status and the JSON body, first given or replayed.
pub(crate) async fn once_answered<A, D, E, F, S>(
    ctx: &Ctx<A>,
    key: &Idempotency,
    status: S,
    f: F,
) -> Result<Answered, ApiError>
where
    for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<D, E>
        + TxFn<&'r mut AsyncPgConnection, Result<D, E>, Fut: Send>
        + Send,
    D: Serialize + Send,
    E: From<guild_db::DbError> + ErrorCode + Send,
    S: Success<D>,
{
    match key.key.as_deref() {
        Some(k) => key.keyed(ctx, k, status, f).await,
        None => {
            let value = ctx.write(f).await?;
            Ok(Answered {
                status: status.of(&value),
                body: serde_json::to_value(&value).map_err(ApiError::internal)?,
                replayed: false,
            })
        }
    }
}

/// Records the body's digest for [`Idempotency`] when the request carries a key.
pub(crate) fn record_body(req: &HttpRequest, body: &[u8]) {
    if req.headers().contains_key(HEADER) {
        req.extensions_mut()
            .insert(BodyDigest(Sha256::digest(body).into()));
    }
}
