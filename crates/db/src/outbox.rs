//! The transactional outbox: how a domain write tells the rest of Guild what happened.
//!
//! [`publish`] inserts the event with the caller's connection, so it commits or rolls back with the
//! domain write it describes: a rolled-back write never produces an event, and a committed one
//! always does. The [`Worker`](crate::worker::Worker) delivers it afterwards.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{DomainEvent, EventId, TenantId};
use uuid::Uuid;

use crate::DbError;
use crate::schema::outbox_events;

#[derive(Insertable)]
#[diesel(table_name = outbox_events)]
struct NewEvent<'a> {
    id: Uuid,
    tenant_id: Option<Uuid>,
    kind: &'a str,
    payload: serde_json::Value,
}

/// Appends `event` to the outbox inside the caller's transaction.
pub async fn publish<E: DomainEvent>(
    conn: &mut AsyncPgConnection,
    tenant: Option<TenantId>,
    event: &E,
) -> Result<EventId, DbError> {
    let id = EventId::new();
    let payload = serde_json::to_value(event)
        .map_err(|e| DbError::Other(diesel::result::Error::SerializationError(Box::new(e))))?;
    diesel::insert_into(outbox_events::table)
        .values(NewEvent {
            id: id.into_uuid(),
            tenant_id: tenant.map(TenantId::into_uuid),
            kind: E::KIND,
            payload,
        })
        .execute(conn)
        .await?;
    Ok(id)
}

/// An event as handed to a handler.
#[derive(Debug, Clone)]
pub struct Event {
    /// The outbox row's id: handlers use it (or the payload's own ids) to stay idempotent.
    pub id: EventId,
    /// The tenant the event belongs to, if any.
    pub tenant_id: Option<TenantId>,
    /// The event's kind, e.g. `learning.module_completed`.
    pub kind: String,
    /// The serialized event.
    pub payload: serde_json::Value,
    /// 1 on the first delivery, more on retries (and after a worker crash).
    pub attempt: i32,
}

/// An outbox row, for inspection and tests.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox_events)]
pub struct OutboxRow {
    /// Id.
    pub id: Uuid,
    /// Tenant, if any.
    pub tenant_id: Option<Uuid>,
    /// Event kind.
    pub kind: String,
    /// `PENDING`, `RUNNING`, `DONE` or `DEAD`.
    pub status: String,
    /// Deliveries tried so far.
    pub attempts: i32,
    /// The last handler error.
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it was delivered or given up on.
    pub finished_at: Option<DateTime<Utc>>,
}

/// Reads one outbox row.
pub async fn find(conn: &mut AsyncPgConnection, id: EventId) -> Result<OutboxRow, DbError> {
    outbox_events::table
        .find(id.into_uuid())
        .select(OutboxRow::as_select())
        .first(conn)
        .await
        .map_err(DbError::from)
}
