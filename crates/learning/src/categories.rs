//! Module categories, ordered by `sort_order`: anyone may list them; MANAGE_ALL_MODULES edits.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::module_categories;
use guild_kernel::{Actor, Page, PageRequest, Permission, Target, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::LearningError;

/// A category.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = module_categories)]
pub struct Category {
    /// Id.
    pub id: Uuid,
    /// Name, unique in the tenant.
    pub name: String,
    /// Position in lists (ascending).
    pub sort_order: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
}

fn name_taken(e: diesel::result::Error) -> LearningError {
    match guild_db::DbError::from(e) {
        guild_db::DbError::UniqueViolation { .. } => LearningError::CategoryNameTaken,
        other => LearningError::Db(other),
    }
}

/// The categories, in order (`sort_order`, then name), a page at a time.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<Category>, LearningError> {
    let limit = page.limit();
    let mut query = module_categories::table
        .filter(module_categories::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(Category::as_select())
        .order((module_categories::sort_order, module_categories::name))
        .limit(i64::from(limit) + 1)
        .into_boxed();
    // The cursor is `{sort_order}|{name}`: names are unique in a tenant.
    if let Some(cursor) = page.cursor().map_err(|_| LearningError::bad_cursor())? {
        let (order, name) = cursor
            .0
            .split_once('|')
            .ok_or_else(LearningError::bad_cursor)?;
        let order: i32 = order.parse().map_err(|_| LearningError::bad_cursor())?;
        query = query.filter(
            module_categories::sort_order
                .gt(order)
                .or(module_categories::sort_order
                    .eq(order)
                    .and(module_categories::name.gt(name.to_owned()))),
        );
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |c: &Category| {
        format!("{}|{}", c.sort_order, c.name)
    }))
}

/// Creates a category.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    name: &str,
    sort_order: i32,
) -> Result<Category, LearningError> {
    authorize(actor, Permission::ManageAllModules, Target::Tenant)?;
    let id = Uuid::now_v7();
    let row = diesel::insert_into(module_categories::table)
        .values((
            module_categories::tenant_id.eq(actor.tenant_id.into_uuid()),
            module_categories::id.eq(id),
            module_categories::name.eq(name.trim()),
            module_categories::sort_order.eq(sort_order),
        ))
        .returning(Category::as_returning())
        .get_result(conn)
        .await
        .map_err(name_taken)?;
    crate::audit(
        conn,
        actor,
        "CATEGORY_CREATED",
        "category",
        id,
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(row)
}

/// Renames or moves a category.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    name: Option<&str>,
    sort_order: Option<i32>,
) -> Result<Category, LearningError> {
    authorize(actor, Permission::ManageAllModules, Target::Tenant)?;
    let row = diesel::update(module_categories::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            name.map(|n| module_categories::name.eq(n.trim().to_owned())),
            sort_order.map(|o| module_categories::sort_order.eq(o)),
            module_categories::created_at.eq(module_categories::created_at),
        ))
        .returning(Category::as_returning())
        .get_result(conn)
        .await
        .optional()
        .map_err(name_taken)?
        .ok_or(LearningError::CategoryNotFound)?;
    crate::audit(
        conn,
        actor,
        "CATEGORY_UPDATED",
        "category",
        id,
        serde_json::json!({ "name": name, "sort_order": sort_order }),
    )
    .await?;
    Ok(row)
}

/// Deletes a category; its modules become uncategorized.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(), LearningError> {
    authorize(actor, Permission::ManageAllModules, Target::Tenant)?;
    let deleted = diesel::delete(module_categories::table.find((actor.tenant_id.into_uuid(), id)))
        .execute(conn)
        .await?;
    if deleted == 0 {
        return Err(LearningError::CategoryNotFound);
    }
    crate::audit(
        conn,
        actor,
        "CATEGORY_DELETED",
        "category",
        id,
        serde_json::json!({}),
    )
    .await
}
