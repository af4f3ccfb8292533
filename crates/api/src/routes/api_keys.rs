//! API keys for integrators.

use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::{PageRequest, Permission};
use guild_tenancy::api_keys::{self, ApiKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::segment;

/// Registers `/v1/api-keys`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/api-keys")
            .service(create_api_key)
            .service(list_api_keys)
            .service(revoke_api_key),
    );
}

/// An API key (never its secret, except once at creation).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ApiKeyDto {
    id: Uuid,
    name: String,
    /// Requests with the key act as this admin, limited to `permissions`.
    created_by: Uuid,
    permissions: Vec<Permission>,
    /// The key may also do what its creator does as a member for themselves.
    act_as_member: bool,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name,
            created_by: k.created_by,
            // The column holds only permissions (they were parsed when the key was created).
            permissions: k
                .permissions
                .iter()
                .filter_map(|p| p.parse().ok())
                .collect(),
            act_as_member: k.act_as_member,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
        }
    }
}

/// A key to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "HR system sync",
    "permissions": ["MANAGE_USERS", "VIEW_ANALYTICS"],
    "act_as_member": false
}))]
pub(crate) struct CreateApiKey {
    /// What the key is for, 1 to 100 characters.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// What the key may do; only permissions you hold tenant-wide (a repeat counts once).
    #[schema(value_type = Vec<Permission>)]
    permissions: BTreeSet<Permission>,
    /// Also let the key do what you do as a member for yourself, which no permission grants:
    /// learn (complete sections, take quizzes, submit assignments), spend your XP, grade as a
    /// module mentor, read your dashboard and change your own settings. Off by default: a key
    /// without it does only what `permissions` allow, and every other operation answers 403
    /// `api_key_not_permitted`.
    #[serde(default)]
    act_as_member: bool,
}

/// The new key, with its secret.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedApiKey {
    key: ApiKeyDto,
    /// Send as `Authorization: Bearer …`. Shown only now; it cannot be recovered.
    secret: String,
}

/// Create an API key.
///
/// For ADMIN and above: a key limited to permissions you hold tenant-wide (403 `forbidden`
/// otherwise). The secret is in this response only. Takes no `Idempotency-Key`: a stored
/// response would keep the secret; a retried request makes another key, which an admin can
/// revoke.
#[utoipa::path(
    tag = "api-keys",
    request_body = CreateApiKey,
    responses((status = 201, body = CreatedApiKey, description = "Created; the secret is shown once"), AuthErrors, InputErrors)
)]
#[post("/api-keys")]
pub(crate) async fn create_api_key(
    ctx: Ctx<Permitted>,
    body: ValidJson<CreateApiKey>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let (key, secret) = ctx
        .write(async |conn| {
            api_keys::create(conn, &ctx.actor, &b.name, &b.permissions, b.act_as_member).await
        })
        .await?;
    Ok(HttpResponse::Created().json(CreatedApiKey {
        key: key.into(),
        secret,
    }))
}

/// List the tenant's API keys.
///
/// For ADMIN and above: every key, revoked ones included, newest first, a page at a time.
#[utoipa::path(tag = "api-keys", params(PageParams),
    responses((status = 200, body = PageOf<ApiKeyDto>, description = "The keys"), AuthErrors, InputErrors))]
#[get("/api-keys")]
pub(crate) async fn list_api_keys(
    ctx: Ctx<Permitted>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<ApiKeyDto>>, ApiError> {
    let page = PageRequest::from(&query.into_inner());
    let keys = ctx
        .write(async |conn| api_keys::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(keys, ApiKeyDto::from)))
}

/// Revoke an API key.
///
/// For ADMIN and above: the key stops working at once. 404 `api_key_not_found`.
#[utoipa::path(
    tag = "api-keys",
    params(("key_id" = Uuid, Path, description = "The key")),
    responses((status = 200, body = ApiKeyDto, description = "Revoked"), AuthErrors, NotFound)
)]
#[post("/api-keys/{key_id}/revoke")]
pub(crate) async fn revoke_api_key(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<ApiKeyDto>, ApiError> {
    let id = path.into_inner();
    let key = ctx
        .write(async |conn| api_keys::revoke(conn, &ctx.actor, id, ctx.now).await)
        .await?;
    Ok(web::Json(key.into()))
}
