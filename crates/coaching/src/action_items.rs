//! Action plans: a coachee's items, each with an owner, an optional due date and a status
//! OPEN → IN_PROGRESS → DONE | CANCELLED (OPEN may close directly; a closed item changes no more,
//! 409 `action_item_closed`).
//!
//! Owns `coaching_action_items`.
//!
//! - A coach of the coachee creates items (never on their own plan, 403 `cannot_coach_self`);
//!   the owner is the coachee or the coach. Whoever sees the coachee's coaching reads the plan
//!   (404 `coachee_not_found` / `action_item_not_found` otherwise). The coaches change an item;
//!   its owner moves its status.
//! - An item may name a published module or learning path ("complete module X"): creating it
//!   enrols the coachee (`guild_progress::enrolment`, as `PUT /v1/modules/{id}/enrolment` would
//!   for them; an item the coachee cannot see is 422; a closed catalog leaves an assigned module
//!   as it is), and the coachee's completion closes it (`complete_for`, called by the api layer's
//!   reaction to `learning.module_completed` and `progress.path_completed`: DONE with
//!   `closed_by_completion`, once).
//! - A new item for someone other than its creator publishes [`ItemAssigned`]; the overdue scan
//!   ([`mark_overdue`]) returns each open item past its due date once per item and due date.
//! - At most [`MAX_OPEN_ITEMS`] open items per coachee (409 `action_item_limit_reached`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::coaching_action_items as a;
use guild_kernel::{Actor, DomainEvent, FieldError, Page, PageRequest, TenantId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::CoachingError;
use crate::input::{after_time, text, time_cursor};
use crate::relationships::{self, Relation};

/// The most open items of one coachee.
pub const MAX_OPEN_ITEMS: i64 = 100;
/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 5_000;

guild_kernel::string_enum!(
    /// Where an action item is.
    ItemStatus {
        /// To do.
        Open => "OPEN",
        /// Started.
        InProgress => "IN_PROGRESS",
        /// Done.
        Done => "DONE",
        /// Dropped.
        Cancelled => "CANCELLED",
    }
);

impl ItemStatus {
    fn closed(self) -> bool {
        matches!(self, Self::Done | Self::Cancelled)
    }
}

/// What completing an item means, when it names learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Learning {
    /// Complete this module.
    Module(Uuid),
    /// Complete this learning path.
    Path(Uuid),
}

/// A new item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemInput {
    /// One line.
    pub title: String,
    /// Plain text.
    pub description: String,
    /// When it is due.
    pub due_date: Option<NaiveDate>,
    /// Who owns it: the coachee (default) or the coach.
    pub owner_id: Option<Uuid>,
    /// The learning that completes it.
    pub learning: Option<Learning>,
    /// The session it came out of (of the same coachee).
    pub session_id: Option<Uuid>,
}

/// A change to an item: the fields given replace the item's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemChanges {
    /// One line (coaches).
    pub title: Option<String>,
    /// Plain text (coaches).
    pub description: Option<String>,
    /// The due date; `Some(None)` removes it (coaches).
    pub due_date: Option<Option<NaiveDate>>,
    /// The next status (coaches and the owner).
    pub status: Option<ItemStatus>,
}

/// An action item.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = a)]
pub struct ActionItem {
    /// Id.
    pub id: Uuid,
    /// Whose plan.
    pub coachee_id: Uuid,
    /// Who owns it.
    pub owner_id: Uuid,
    /// Who created it.
    pub created_by: Uuid,
    /// The session it came out of.
    pub session_id: Option<Uuid>,
    /// One line.
    pub title: String,
    /// Plain text.
    pub description: String,
    /// When it is due.
    pub due_date: Option<NaiveDate>,
    /// Status.
    #[diesel(deserialize_as = String)]
    pub status: ItemStatus,
    /// The module that completes it.
    pub module_id: Option<Uuid>,
    /// The path that completes it.
    pub path_id: Option<Uuid>,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Closed by the coachee's completion of its module or path.
    pub closed_by_completion: bool,
    /// The ETag.
    pub revision: i32,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A new item for someone other than its creator: the api layer tells them
/// (ACTION_ITEM_ASSIGNED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemAssigned {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The item.
    pub item_id: Uuid,
    /// Its owner, who is told.
    pub owner_id: Uuid,
    /// Its title.
    pub title: String,
}

impl DomainEvent for ItemAssigned {
    const KIND: &'static str = "coaching.action_item_assigned";
}

fn not_found() -> CoachingError {
    CoachingError::NotFound("action_item_not_found")
}

/// Creates an item on `coachee`'s plan (a coach of theirs) and, when it names a module or path,
/// enrols the coachee in it. Audited.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
    input: &ItemInput,
    now: DateTime<Utc>,
) -> Result<ActionItem, CoachingError> {
    relationships::coached(conn, actor, coachee).await?;
    let tenant = actor.tenant_id.into_uuid();
    let mut errors = Vec::new();
    let title = match text("title", &input.title, MAX_TITLE, false) {
        Ok(t) => Some(t),
        Err(CoachingError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let description = match text("description", &input.description, MAX_DESCRIPTION, true) {
        Ok(t) => Some(t),
        Err(CoachingError::Invalid(e)) => {
            errors.extend(e);
            None
        }
        Err(e) => return Err(e),
    };
    let owner = input.owner_id.unwrap_or(coachee);
    if owner != coachee && owner != actor.user_id.into_uuid() {
        errors.push(FieldError::new(
            "owner_id",
            "unknown",
            "the owner is the coachee or you",
        ));
    }
    if let Some(session) = input.session_id {
        let of_coachee: i64 = guild_db::schema::coaching_sessions::table
            .filter(guild_db::schema::coaching_sessions::tenant_id.eq(tenant))
            .filter(guild_db::schema::coaching_sessions::id.eq(session))
            .filter(guild_db::schema::coaching_sessions::coachee_id.eq(coachee))
            .count()
            .get_result(conn)
            .await?;
        if of_coachee == 0 {
            errors.push(FieldError::new(
                "session_id",
                "unknown",
                "not a session of this coachee",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(CoachingError::Invalid(errors));
    }
    crate::sessions::lock_coachee(conn, tenant, coachee).await?;
    let open: i64 = a::table
        .filter(a::tenant_id.eq(tenant))
        .filter(a::coachee_id.eq(coachee))
        .filter(a::status.eq_any([ItemStatus::Open.as_str(), ItemStatus::InProgress.as_str()]))
        .count()
        .get_result(conn)
        .await?;
    if open >= MAX_OPEN_ITEMS {
        return Err(CoachingError::LimitReached("action_item_limit_reached"));
    }
    if let Some(learning) = input.learning {
        enrol(conn, actor.tenant_id, coachee, learning, now).await?;
    }
    let (module, path) = match input.learning {
        Some(Learning::Module(m)) => (Some(m), None),
        Some(Learning::Path(p)) => (None, Some(p)),
        None => (None, None),
    };
    let id = Uuid::now_v7();
    let title = title.unwrap_or_default();
    let item = diesel::insert_into(a::table)
        .values((
            a::tenant_id.eq(tenant),
            a::id.eq(id),
            a::coachee_id.eq(coachee),
            a::owner_id.eq(owner),
            a::created_by.eq(actor.user_id.into_uuid()),
            a::session_id.eq(input.session_id),
            a::title.eq(&title),
            a::description.eq(description.unwrap_or_default()),
            a::due_date.eq(input.due_date),
            a::module_id.eq(module),
            a::path_id.eq(path),
            a::created_at.eq(now),
            a::updated_at.eq(now),
        ))
        .returning(ActionItem::as_returning())
        .get_result(conn)
        .await?;
    if owner != actor.user_id.into_uuid() {
        guild_db::outbox::publish(
            conn,
            Some(actor.tenant_id),
            &ItemAssigned {
                tenant_id: tenant,
                item_id: id,
                owner_id: owner,
                title,
            },
        )
        .await?;
    }
    guild_db::audit::record(
        conn,
        actor,
        "action_item.created",
        "action_item",
        Some(id.to_string()),
        serde_json::json!({ "coachee_id": coachee, "module_id": module, "path_id": path }),
    )
    .await?;
    Ok(item)
}

/// Enrols the coachee in `learning` as they would enrol themselves: as the actor their own
/// requests get (role, grants and subtree, `guild_tenancy::actor::load_actor`), so what they may
/// see decides. A module or path they cannot see is 422, and so is a coachee who is not active;
/// a closed catalog is no obstacle when they see it (it is assigned to them).
async fn enrol(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    coachee: Uuid,
    learning: Learning,
    now: DateTime<Utc>,
) -> Result<(), CoachingError> {
    use guild_progress::enrolment::{self, Target};
    let member = guild_tenancy::actor::load_actor(conn, guild_kernel::UserId(coachee), tenant)
        .await
        .map_err(|e| match e {
            guild_tenancy::TenancyError::Db(db) => CoachingError::from(db),
            _ => CoachingError::invalid("coachee_id", "inactive", "the coachee is not active"),
        })?;
    let (target, field) = match learning {
        Learning::Module(m) => (Target::Module(m), "module_id"),
        Learning::Path(p) => (Target::Path(p), "path_id"),
    };
    match enrolment::enrol(conn, &member, target, now).await {
        Ok(_) | Err(guild_progress::paths::PathError::CatalogClosed) => Ok(()),
        Err(e) if guild_kernel::ErrorCode::status(&e) == 404 => Err(CoachingError::invalid(
            field,
            "unknown",
            "the coachee cannot see it",
        )),
        Err(guild_progress::paths::PathError::InvalidTransition(why)) => {
            Err(CoachingError::invalid(field, "not_published", why))
        }
        Err(guild_progress::paths::PathError::EnrolmentLimitReached) => {
            Err(CoachingError::LimitReached("enrolment_limit_reached"))
        }
        Err(e) => Err(CoachingError::Learning(Box::new(e))),
    }
}

/// Loads an item whose coachee's coaching the actor sees (404 otherwise), with the relation.
async fn visible(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<(ActionItem, Relation), CoachingError> {
    let query = a::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(ActionItem::as_select());
    let item = if lock {
        query.for_update().first(conn).await
    } else {
        query.first(conn).await
    }
    .optional()?
    .ok_or_else(not_found)?;
    match relationships::relation(conn, actor, item.coachee_id).await {
        Ok(rel) if rel.sees() => Ok((item, rel)),
        Ok(_) | Err(CoachingError::NotFound(_)) => Err(not_found()),
        Err(e) => Err(e),
    }
}

/// An item the actor may see.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<ActionItem, CoachingError> {
    Ok(visible(conn, actor, id, false).await?.0)
}

/// `coachee`'s plan, latest first (for those who see their coaching).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    coachee: Uuid,
    page: &PageRequest,
) -> Result<Page<ActionItem>, CoachingError> {
    relationships::seen(conn, actor, coachee).await?;
    let mut query = a::table
        .filter(a::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(a::coachee_id.eq(coachee))
        .into_boxed();
    if let Some((at, id)) = after_time(page)? {
        query = query.filter(
            a::created_at
                .lt(at)
                .or(a::created_at.eq(at).and(a::id.lt(id))),
        );
    }
    let rows = query
        .order((a::created_at.desc(), a::id.desc()))
        .limit(i64::from(page.limit()) + 1)
        .select(ActionItem::as_select())
        .load(conn)
        .await?;
    Ok(Page::from_overfetch(rows, page.limit(), |x| {
        time_cursor(x.created_at, x.id)
    }))
}

/// Changes an item (`expected` being the revision read): the coachee's coaches change anything,
/// its owner only its status. Audited.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    changes: &ItemChanges,
    now: DateTime<Utc>,
) -> Result<ActionItem, CoachingError> {
    let (item, rel) = visible(conn, actor, id, true).await?;
    let owner = item.owner_id == actor.user_id.into_uuid();
    let coach = rel == Relation::Coach;
    let only_status =
        changes.title.is_none() && changes.description.is_none() && changes.due_date.is_none();
    if !(coach || (owner && only_status)) {
        return Err(CoachingError::Forbidden);
    }
    if item.revision != expected {
        return Err(CoachingError::StaleRevision {
            expected,
            current: item.revision,
        });
    }
    if item.status.closed() {
        return Err(CoachingError::ItemClosed);
    }
    let mut errors = Vec::new();
    let title = match &changes.title {
        Some(t) => match text("title", t, MAX_TITLE, false) {
            Ok(t) => t,
            Err(CoachingError::Invalid(e)) => {
                errors.extend(e);
                String::new()
            }
            Err(e) => return Err(e),
        },
        None => item.title.clone(),
    };
    let description = match &changes.description {
        Some(t) => match text("description", t, MAX_DESCRIPTION, true) {
            Ok(t) => t,
            Err(CoachingError::Invalid(e)) => {
                errors.extend(e);
                String::new()
            }
            Err(e) => return Err(e),
        },
        None => item.description.clone(),
    };
    let status = changes.status.unwrap_or(item.status);
    if status == ItemStatus::Open && item.status == ItemStatus::InProgress {
        errors.push(FieldError::new(
            "status",
            "transition",
            "an item in progress does not go back to OPEN",
        ));
    }
    if !errors.is_empty() {
        return Err(CoachingError::Invalid(errors));
    }
    let due = changes.due_date.unwrap_or(item.due_date);
    let closed_at = status.closed().then_some(now);
    let updated = diesel::update(a::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            a::title.eq(&title),
            a::description.eq(&description),
            a::due_date.eq(due),
            a::status.eq(status.as_str()),
            a::closed_at.eq(closed_at),
            a::revision.eq(item.revision + 1),
            a::updated_at.eq(now),
        ))
        .returning(ActionItem::as_returning())
        .get_result(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "action_item.updated",
        "action_item",
        Some(id.to_string()),
        serde_json::json!({ "status": status.as_str(), "revision": item.revision + 1 }),
    )
    .await?;
    Ok(updated)
}

/// Closes (DONE, `closed_by_completion`) the open items of `coachee` that name `learning`,
/// which they just completed; returns the items closed (none the second time).
pub async fn complete_for(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    coachee: Uuid,
    learning: Learning,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, CoachingError> {
    let open = a::table
        .filter(a::tenant_id.eq(tenant.into_uuid()))
        .filter(a::coachee_id.eq(coachee))
        .filter(a::status.eq_any([ItemStatus::Open.as_str(), ItemStatus::InProgress.as_str()]));
    let set = (
        a::status.eq(ItemStatus::Done.as_str()),
        a::closed_at.eq(Some(now)),
        a::closed_by_completion.eq(true),
        a::revision.eq(a::revision + 1),
        a::updated_at.eq(now),
    );
    Ok(match learning {
        Learning::Module(m) => {
            diesel::update(open.filter(a::module_id.eq(m)))
                .set(set)
                .returning(a::id)
                .get_results(conn)
                .await?
        }
        Learning::Path(p) => {
            diesel::update(open.filter(a::path_id.eq(p)))
                .set(set)
                .returning(a::id)
                .get_results(conn)
                .await?
        }
    })
}

/// An overdue item to tell its owner about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    /// The item.
    pub id: Uuid,
    /// Its owner.
    pub owner_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its due date.
    pub due_date: NaiveDate,
}

/// Marks the tenant's open items due before `today` not yet told for that due date, and returns
/// them: each item once per due date (a new due date may be told again), however many scans run.
pub async fn mark_overdue(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    today: NaiveDate,
) -> Result<Vec<Overdue>, CoachingError> {
    let rows: Vec<(Uuid, Uuid, String, Option<NaiveDate>)> = diesel::update(
        a::table
            .filter(a::tenant_id.eq(tenant.into_uuid()))
            .filter(a::status.eq_any([ItemStatus::Open.as_str(), ItemStatus::InProgress.as_str()]))
            .filter(a::due_date.lt(today))
            .filter(
                a::overdue_notified_for
                    .is_null()
                    .or(a::overdue_notified_for.ne(a::due_date)),
            ),
    )
    .set(a::overdue_notified_for.eq(a::due_date))
    .returning((a::id, a::owner_id, a::title, a::due_date))
    .get_results(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, owner_id, title, due)| {
            due.map(|due_date| Overdue {
                id,
                owner_id,
                title,
                due_date,
            })
        })
        .collect())
}

/// What an item's notification says: its title and due date (`None` when it was deleted).
pub async fn notice(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<ActionItem>, CoachingError> {
    Ok(a::table
        .find((tenant.into_uuid(), id))
        .select(ActionItem::as_select())
        .first(conn)
        .await
        .optional()?)
}
