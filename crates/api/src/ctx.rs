//! [`Ctx`]: what a tenant-scoped handler works with — the actor, the app state and the request's
//! `now` — and the ways to reach the tenant's data: [`Ctx::read`] (a read-only transaction,
//! pipelined), [`Ctx::read_staged`] (the same in two stages, the second depending on the first's
//! answer) and [`Ctx::write`].
//!
//! The actor follows the rules of [`Auth`] and [`Authorized`]: `Ctx` (`Ctx<Member>`) refuses an
//! API key without `act_as_member`, `Ctx<Permitted>` admits every key for routes whose domain
//! function decides access by permissions alone (see [`crate::auth`]).

use std::future::{Ready, ready};
use std::marker::PhantomData;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use futures_util::future::{Either, LocalBoxFuture};
use guild_db::tx::TxFn;
use guild_kernel::{Actor, ErrorCode};

use crate::auth::{Auth, Authorized};
use crate::error::ApiError;
use crate::state::AppState;

/// The actor was admitted as [`Auth`] admits it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member;

/// The actor was admitted as [`Authorized`] admits it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Permitted;

/// How a [`Ctx`] admits its actor.
pub(crate) trait Admission: Sized + 'static {
    /// The extractor that admits the actor.
    type Extractor: FromRequest<
            Error = ApiError,
            Future = Either<
                Ready<Result<Self::Extractor, ApiError>>,
                LocalBoxFuture<'static, Result<Self::Extractor, ApiError>>,
            >,
        >;

    /// The admitted actor.
    fn actor(extracted: Self::Extractor) -> Actor;
}

impl Admission for Member {
    type Extractor = Auth;

    fn actor(Auth(actor): Auth) -> Actor {
        actor
    }
}

impl Admission for Permitted {
    type Extractor = Authorized;

    fn actor(Authorized(actor): Authorized) -> Actor {
        actor
    }
}

/// The request's context: who acts, the app state, and the request's `now`.
#[derive(Debug)]
pub(crate) struct Ctx<A = Member> {
    /// Who acts.
    pub(crate) actor: Actor,
    /// The app state.
    pub(crate) state: web::Data<AppState>,
    /// The request's time, from the app's clock (a manual clock in tests that move time).
    pub(crate) now: DateTime<Utc>,
    admitted: PhantomData<A>,
}

impl<A> Ctx<A> {
    /// The context of an actor admitted some other way than `A`'s extractor (a stream ticket).
    pub(crate) fn new(state: web::Data<AppState>, actor: Actor) -> Self {
        let now = state.clock.now();
        Self {
            actor,
            state,
            now,
            admitted: PhantomData,
        }
    }

    /// Runs the read-only `f` in one transaction scoped to the actor's tenant, sent as one
    /// pipeline with its `BEGIN` and `COMMIT` (see [`guild_db::tenant_read`]).
    pub(crate) async fn read<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        for<'r> F: AsyncFnOnce(&'r AsyncPgConnection) -> Result<T, E>
            + TxFn<&'r AsyncPgConnection, Result<T, E>, Fut: Send>
            + Send,
        E: From<guild_db::DbError> + ErrorCode + Send,
        T: Send,
    {
        let mut conn = guild_db::connect(&self.state.db).await?;
        Ok(guild_db::tenant_read(&mut conn, self.actor.tenant_id, f).await?)
    }

    /// Runs the read-only `f`, whose last stage depends on an earlier one's answer, in one
    /// transaction scoped to the actor's tenant: `BEGIN` goes with its first statements and
    /// `COMMIT` with its last stage's (see [`guild_db::tenant_read_staged`]).
    pub(crate) async fn read_staged<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        for<'r> F: AsyncFnOnce(guild_db::ReadStages<'r>) -> Result<T, E>
            + TxFn<guild_db::ReadStages<'r>, Result<T, E>, Fut: Send>
            + Send,
        E: From<guild_db::DbError> + ErrorCode + Send,
        T: Send,
    {
        let mut conn = guild_db::connect(&self.state.db).await?;
        Ok(guild_db::tenant_read_staged(&mut conn, self.actor.tenant_id, f).await?)
    }

    /// Runs `f` in one transaction scoped to the actor's tenant.
    pub(crate) async fn write<T, E, F>(&self, f: F) -> Result<T, ApiError>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<T, E>
            + TxFn<&'r mut AsyncPgConnection, Result<T, E>, Fut: Send>
            + Send,
        E: From<guild_db::DbError> + ErrorCode + Send,
        T: Send,
    {
        let mut conn = guild_db::connect(&self.state.db).await?;
        Ok(guild_db::tenant_transaction(&mut conn, self.actor.tenant_id, f).await?)
    }
}

impl<A: Admission> FromRequest for Ctx<A> {
    type Error = ApiError;
    type Future =
        Either<Ready<Result<Self, ApiError>>, LocalBoxFuture<'static, Result<Self, ApiError>>>;

    /// An actor admitted without leaving the call (a cached one) makes the context without a
    /// future to allocate, as [`Auth`] does.
    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
            return Either::Left(ready(Err(ApiError::internal("no app state"))));
        };
        match A::Extractor::from_request(req, payload) {
            Either::Left(done) => Either::Left(ready(
                done.into_inner().map(|e| Self::new(state, A::actor(e))),
            )),
            Either::Right(pending) => Either::Right(Box::pin(async move {
                pending.await.map(|e| Self::new(state, A::actor(e)))
            })),
        }
    }
}

/// What a handler no tenant scopes works with (sign-up, sign-in, emailed links, public pages,
/// the platform's own routes): the app state, the request's `now` from the app's clock, and the
/// client's key for per-address rate limits. A route that also needs the signed-in account takes
/// [`crate::auth::CurrentUser`] beside it.
#[derive(Debug)]
pub(crate) struct Public {
    /// The app state.
    pub(crate) state: web::Data<AppState>,
    /// The request's time.
    pub(crate) now: DateTime<Utc>,
    /// The client's address as the trusted proxies report it (see [`crate::client::client_key`]).
    client: String,
}

impl Public {
    /// A connection outside any tenant (the tenant-less tables; the domain function opens a
    /// tenant's transaction itself when it learns which).
    pub(crate) async fn conn(&self) -> Result<guild_db::PooledConn, ApiError> {
        Ok(guild_db::connect(&self.state.db).await?)
    }

    /// Counts a hit of this client against `rule` under `scope` (`signup`, `token:reset`, …);
    /// over it, 429 with the limit headers; fails closed when the limiter cannot answer.
    pub(crate) async fn limit_client(
        &self,
        scope: &str,
        rule: guild_kernel::ports::RateRule,
    ) -> Result<(), ApiError> {
        crate::routes::auth::rate_limit(&self.state, &format!("{scope}:ip:{}", self.client), rule)
            .await
    }
}

impl FromRequest for Public {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<AppState>>() {
            Some(state) => Ok(Self {
                now: state.clock.now(),
                client: crate::client::client_key(req, state),
                state: state.clone(),
            }),
            None => Err(ApiError::internal("no app state")),
        })
    }
}
