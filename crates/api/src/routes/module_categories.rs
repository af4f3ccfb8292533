//! `/v1/module-categories`: the tenant's module categories, in their order.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_learning::categories::{self, Category};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::segment;

/// Registers `/v1/module-categories`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/module-categories")
            .service(list_categories)
            .service(create_category)
            .service(update_category)
            .service(delete_category),
    );
}

/// A category.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CategoryDto {
    id: Uuid,
    name: String,
    /// Position in lists (ascending).
    sort_order: i32,
    created_at: DateTime<Utc>,
}

impl From<Category> for CategoryDto {
    fn from(c: Category) -> Self {
        Self {
            id: c.id,
            name: c.name,
            sort_order: c.sort_order,
            created_at: c.created_at,
        }
    }
}

/// A new category.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Safety", "sort_order": 10 }))]
pub(crate) struct CreateCategoryBody {
    /// 1 to 100 characters, not blank (trimmed), unique in the tenant.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: String,
    /// Position in lists (ascending; default 0).
    sort_order: Option<i32>,
}

/// Changes to a category: fields left out are kept.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "name": "Health and safety" }))]
pub(crate) struct UpdateCategoryBody {
    /// 1 to 100 characters, not blank (trimmed), unique in the tenant.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    name: Option<String>,
    /// Position in lists (ascending).
    sort_order: Option<i32>,
}

/// List module categories, in order.
///
/// Anyone signed in; by `sort_order`, then name, a page at a time.
#[utoipa::path(
    tag = "modules",
    params(PageParams),
    responses((status = 200, body = PageOf<CategoryDto>, description = "A page of categories"), AuthErrors, InputErrors)
)]
#[get("/module-categories")]
pub(crate) async fn list_categories(
    ctx: Ctx,
    page: web::Query<PageParams>,
) -> Result<web::Json<PageOf<CategoryDto>>, ApiError> {
    let page = PageRequest::from(&page.into_inner());
    let list = ctx
        .write(async |conn| categories::list(conn, &ctx.actor, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(list, CategoryDto::from)))
}

/// Create a category.
///
/// Needs MANAGE_ALL_MODULES. A name already used in the tenant is 409 `category_name_taken`. With
/// an `Idempotency-Key`, a retry creates nothing more and answers the first response again.
#[utoipa::path(
    tag = "modules",
    params(IdempotencyHeader),
    request_body = CreateCategoryBody,
    responses((status = 201, body = CategoryDto, description = "Created"), AuthErrors, InputErrors, Conflict)
)]
#[post("/module-categories")]
pub(crate) async fn create_category(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<CreateCategoryBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        categories::create(conn, &ctx.actor, &b.name, b.sort_order.unwrap_or(0))
            .await
            .map(CategoryDto::from)
    })
    .await
}

/// Update (rename or move) a category.
///
/// Needs MANAGE_ALL_MODULES. A name already used in the tenant is 409 `category_name_taken`.
#[utoipa::path(
    tag = "modules",
    params(("category_id" = Uuid, Path, description = "The category")),
    request_body = UpdateCategoryBody,
    responses((status = 200, body = CategoryDto, description = "Updated"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[patch("/module-categories/{category_id}")]
pub(crate) async fn update_category(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<UpdateCategoryBody>,
) -> Result<web::Json<CategoryDto>, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let category = ctx
        .write(async |conn| {
            categories::update(conn, &ctx.actor, id, b.name.as_deref(), b.sort_order).await
        })
        .await?;
    Ok(web::Json(category.into()))
}

/// Delete a category.
///
/// Needs MANAGE_ALL_MODULES; its modules become uncategorized.
#[utoipa::path(
    tag = "modules",
    params(("category_id" = Uuid, Path, description = "The category")),
    responses((status = 204, description = "Deleted"), AuthErrors, NotFound)
)]
#[delete("/module-categories/{category_id}")]
pub(crate) async fn delete_category(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    ctx.write(async |conn| categories::delete(conn, &ctx.actor, id).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
