//! SCIM 2.0 (RFC 7644) at `/scim/v2`, outside `/v1`: an identity provider provisions the
//! tenant's members (Users) and groups (Groups), finds them with filters a page at a time, and
//! reads the discovery documents (ServiceProviderConfig, ResourceTypes, Schemas).
//!
//! Only an API key holding PROVISION_SCIM is accepted ([`crate::auth::scim_actor`]); it acts as
//! its creator limited to MANAGE_USERS and MANAGE_GROUPS. Bodies are read as JSON whether sent
//! as `application/scim+json` or `application/json`; answers are `application/scim+json`, and so
//! are errors, as SCIM `Error` resources (the problem middleware leaves them alone). The flows
//! are `guild_scim::service`'s, each in one tenant transaction.
//!
//! These routes are not in the OpenAPI document: their contract is RFC 7643/7644 and the
//! service's own discovery documents, and their errors are SCIM's, not problem+json (see
//! docs/API-DESIGN.md).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use diesel_async::AsyncPgConnection;
use guild_db::tx::TxFn;
use guild_kernel::Actor;
use guild_scim::{ScimError, discovery, patch, resource, service};
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// SCIM's media type.
pub const SCIM_JSON: &str = "application/scim+json";

/// Where the service lives.
pub const PREFIX: &str = "/scim/v2";

/// The largest body a SCIM request may send.
const MAX_BODY: usize = 1024 * 1024;

/// A SCIM error as a response.
#[derive(Debug)]
pub(crate) struct Failure(ScimError);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: Into<ScimError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.into())
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
            .body(self.0.to_json().to_string())
    }
}

fn from_api(e: &ApiError) -> Failure {
    let status = e.status_code().as_u16();
    let detail = if status >= 500 {
        "the server failed; try again".to_owned()
    } else {
        e.to_string()
    };
    Failure(ScimError::status(status, detail))
}

type Reply = Result<HttpResponse, Failure>;

fn json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)))
        .body(body.to_string())
}

/// Registers `/scim/v2`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PREFIX)
            .app_data(web::PayloadConfig::new(MAX_BODY))
            .route(
                "/ServiceProviderConfig",
                web::get().to(get_service_provider_config),
            )
            .route("/ResourceTypes", web::get().to(list_resource_types))
            .route("/ResourceTypes/{id}", web::get().to(get_resource_type))
            .route("/Schemas", web::get().to(list_schemas))
            .route("/Schemas/{id}", web::get().to(get_schema))
            .route("/Users", web::get().to(list_users))
            .route("/Users", web::post().to(create_user))
            .route("/Users/{id}", web::get().to(get_user))
            .route("/Users/{id}", web::put().to(replace_user))
            .route("/Users/{id}", web::patch().to(patch_user))
            .route("/Users/{id}", web::delete().to(delete_user))
            .route("/Groups", web::get().to(list_groups))
            .route("/Groups", web::post().to(create_group))
            .route("/Groups/{id}", web::get().to(get_group))
            .route("/Groups/{id}", web::put().to(replace_group))
            .route("/Groups/{id}", web::patch().to(patch_group))
            .route("/Groups/{id}", web::delete().to(delete_group))
            .default_service(web::to(unknown)),
    );
}

/// Who acts, the state, and the service's absolute URL.
struct Scim {
    actor: Actor,
    state: web::Data<AppState>,
    base: String,
}

impl Scim {
    async fn admit(req: &HttpRequest) -> Result<Self, Failure> {
        let state = req
            .app_data::<web::Data<AppState>>()
            .cloned()
            .ok_or_else(|| Failure(ScimError::status(500, "the server failed; try again")))?;
        let actor = crate::auth::scim_actor(&state, req)
            .await
            .map_err(|e| from_api(&e))?;
        let base = format!("{}{PREFIX}", state.public_url.trim_end_matches('/'));
        Ok(Self { actor, state, base })
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.state.clock.now()
    }

    /// Runs `f` in one transaction scoped to the actor's tenant.
    async fn tx<T, F>(&self, f: F) -> Result<T, Failure>
    where
        for<'r> F: AsyncFnOnce(&'r mut AsyncPgConnection) -> Result<T, ScimError>
            + TxFn<&'r mut AsyncPgConnection, Result<T, ScimError>, Fut: Send>
            + Send,
        T: Send,
    {
        let mut conn = guild_db::connect(&self.state.db)
            .await
            .map_err(|e| from_api(&ApiError::from(e)))?;
        Ok(guild_db::tenant_transaction(&mut conn, self.actor.tenant_id, f).await?)
    }
}

fn body(bytes: &web::Bytes) -> Result<Value, Failure> {
    serde_json::from_slice(bytes)
        .map_err(|_| Failure(ScimError::syntax("the body is not valid JSON")))
}

fn id(raw: &str, what: &str) -> Result<Uuid, Failure> {
    Uuid::parse_str(raw).map_err(|_| Failure(ScimError::not_found(what)))
}

fn paging(query: &HashMap<String, String>) -> Result<service::Paging, Failure> {
    let number = |key: &str| -> Result<Option<i64>, Failure> {
        query
            .get(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| Failure(ScimError::value(format!("{key} must be an integer"))))
            })
            .transpose()
    };
    Ok(service::Paging::new(
        number("startIndex")?,
        number("count")?,
    ))
}

fn query(req: &HttpRequest) -> Result<HashMap<String, String>, Failure> {
    web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| Failure(ScimError::syntax("the query string cannot be read")))
}

async fn unknown(req: HttpRequest) -> Reply {
    Err(Failure(ScimError::not_found(&format!(
        "{} {}",
        req.method(),
        req.path()
    ))))
}

async fn get_service_provider_config(req: HttpRequest) -> Reply {
    let scim = Scim::admit(&req).await?;
    Ok(json(
        StatusCode::OK,
        &discovery::service_provider_config(&scim.base),
    ))
}

async fn list_resource_types(req: HttpRequest) -> Reply {
    let scim = Scim::admit(&req).await?;
    let all = discovery::resource_types(&scim.base);
    Ok(json(
        StatusCode::OK,
        &resource::list(all.len() as i64, 1, &all),
    ))
}

async fn get_resource_type(req: HttpRequest, path: web::Path<String>) -> Reply {
    let scim = Scim::admit(&req).await?;
    discovery::resource_types(&scim.base)
        .into_iter()
        .find(|t| t["id"] == path.as_str())
        .map(|t| json(StatusCode::OK, &t))
        .ok_or_else(|| Failure(ScimError::not_found("ResourceType")))
}

async fn list_schemas(req: HttpRequest) -> Reply {
    let scim = Scim::admit(&req).await?;
    let all = discovery::schemas(&scim.base);
    Ok(json(
        StatusCode::OK,
        &resource::list(all.len() as i64, 1, &all),
    ))
}

async fn get_schema(req: HttpRequest, path: web::Path<String>) -> Reply {
    let scim = Scim::admit(&req).await?;
    discovery::schemas(&scim.base)
        .into_iter()
        .find(|s| s["id"] == path.as_str())
        .map(|s| json(StatusCode::OK, &s))
        .ok_or_else(|| Failure(ScimError::not_found("Schema")))
}

async fn list_users(req: HttpRequest) -> Reply {
    let scim = Scim::admit(&req).await?;
    let query = query(&req)?;
    let paging = paging(&query)?;
    let filter = query.get("filter").cloned();
    let found = scim
        .tx(async |conn| service::list_users(conn, &scim.actor, filter.as_deref(), paging).await)
        .await?;
    let users: Vec<Value> = found
        .items
        .iter()
        .map(|u| resource::user(u, &scim.base))
        .collect();
    Ok(json(
        StatusCode::OK,
        &resource::list(found.total, paging.start_index, &users),
    ))
}

async fn create_user(req: HttpRequest, bytes: web::Bytes) -> Reply {
    let scim = Scim::admit(&req).await?;
    let input = resource::user_input(&body(&bytes)?)?;
    let now = scim.now();
    let caps = scim.state.invite_caps;
    let user = scim
        .tx(async |conn| service::create_user(conn, &scim.actor, &caps, &input, now).await)
        .await?;
    let body = resource::user(&user, &scim.base);
    let mut reply = json(StatusCode::CREATED, &body);
    if let Ok(location) = HeaderValue::from_str(&format!("{}/Users/{}", scim.base, user.user_id)) {
        reply.headers_mut().insert(header::LOCATION, location);
    }
    Ok(reply)
}

async fn get_user(req: HttpRequest, path: web::Path<String>) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "User")?;
    let user = scim
        .tx(async |conn| service::get_user(conn, &scim.actor, id).await)
        .await?;
    Ok(json(StatusCode::OK, &resource::user(&user, &scim.base)))
}

async fn replace_user(req: HttpRequest, path: web::Path<String>, bytes: web::Bytes) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "User")?;
    let input = resource::user_input(&body(&bytes)?)?;
    let now = scim.now();
    let user = scim
        .tx(async |conn| service::replace_user(conn, &scim.actor, id, &input, now).await)
        .await?;
    Ok(json(StatusCode::OK, &resource::user(&user, &scim.base)))
}

async fn patch_user(req: HttpRequest, path: web::Path<String>, bytes: web::Bytes) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "User")?;
    let changes = patch::user_changes(&body(&bytes)?)?;
    let now = scim.now();
    let user = scim
        .tx(async |conn| service::patch_user(conn, &scim.actor, id, &changes, now).await)
        .await?;
    Ok(json(StatusCode::OK, &resource::user(&user, &scim.base)))
}

async fn delete_user(req: HttpRequest, path: web::Path<String>) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "User")?;
    let now = scim.now();
    scim.tx(async |conn| service::delete_user(conn, &scim.actor, id, now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list_groups(req: HttpRequest) -> Reply {
    let scim = Scim::admit(&req).await?;
    let query = query(&req)?;
    let paging = paging(&query)?;
    let filter = query.get("filter").cloned();
    let found = scim
        .tx(async |conn| service::list_groups(conn, &scim.actor, filter.as_deref(), paging).await)
        .await?;
    let groups: Vec<Value> = found
        .items
        .iter()
        .map(|g| resource::group(g, &scim.base))
        .collect();
    Ok(json(
        StatusCode::OK,
        &resource::list(found.total, paging.start_index, &groups),
    ))
}

async fn create_group(req: HttpRequest, bytes: web::Bytes) -> Reply {
    let scim = Scim::admit(&req).await?;
    let input = resource::group_input(&body(&bytes)?)?;
    let now = scim.now();
    let group = scim
        .tx(async |conn| service::create_group(conn, &scim.actor, &input, now).await)
        .await?;
    let mut reply = json(StatusCode::CREATED, &resource::group(&group, &scim.base));
    if let Ok(location) = HeaderValue::from_str(&format!("{}/Groups/{}", scim.base, group.id)) {
        reply.headers_mut().insert(header::LOCATION, location);
    }
    Ok(reply)
}

async fn get_group(req: HttpRequest, path: web::Path<String>) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "Group")?;
    let group = scim
        .tx(async |conn| service::get_group(conn, &scim.actor, id).await)
        .await?;
    Ok(json(StatusCode::OK, &resource::group(&group, &scim.base)))
}

async fn replace_group(req: HttpRequest, path: web::Path<String>, bytes: web::Bytes) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "Group")?;
    let input = resource::group_input(&body(&bytes)?)?;
    let now = scim.now();
    let group = scim
        .tx(async |conn| service::replace_group(conn, &scim.actor, id, &input, now).await)
        .await?;
    Ok(json(StatusCode::OK, &resource::group(&group, &scim.base)))
}

async fn patch_group(req: HttpRequest, path: web::Path<String>, bytes: web::Bytes) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "Group")?;
    let changes = patch::group_changes(&body(&bytes)?)?;
    let now = scim.now();
    let group = scim
        .tx(async |conn| service::patch_group(conn, &scim.actor, id, &changes, now).await)
        .await?;
    Ok(json(StatusCode::OK, &resource::group(&group, &scim.base)))
}

async fn delete_group(req: HttpRequest, path: web::Path<String>) -> Reply {
    let scim = Scim::admit(&req).await?;
    let id = id(&path, "Group")?;
    scim.tx(async |conn| service::delete_group(conn, &scim.actor, id).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
