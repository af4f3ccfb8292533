//! Writing the audit log, shared by every domain: one row per mutation, in the mutation's own
//! transaction, so a change and its record commit or vanish together. Reading it belongs to the
//! tenancy crate.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::Actor;
use uuid::Uuid;

use crate::DbError;
use crate::schema::audit_log;

/// Writes one audit row for `actor`'s request: who (and whether impersonating or through an API
/// key), what, on which entity, with which details and request id.
pub async fn record(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    entity_id: Option<String>,
    metadata: serde_json::Value,
) -> Result<(), DbError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::tenant_id.eq(actor.tenant_id.into_uuid()),
            audit_log::id.eq(Uuid::now_v7()),
            audit_log::actor_id.eq(Some(actor.user_id.into_uuid())),
            audit_log::impersonated_by.eq(actor.impersonating.then(|| actor.user_id.into_uuid())),
            audit_log::api_key_id.eq(actor.api_key.as_ref().map(|k| k.key_id)),
            audit_log::action.eq(action),
            audit_log::entity_type.eq(entity_type),
            audit_log::entity_id.eq(entity_id),
            audit_log::metadata.eq(metadata),
            audit_log::request_id.eq(actor.request_id.as_deref()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes one row per tenant in `tenants` for a change `user` made to their own account (no
/// request actor: the user acts outside any tenant).
pub async fn record_for_user_in(
    conn: &mut AsyncPgConnection,
    tenants: &[Uuid],
    user: Uuid,
    action: &str,
) -> Result<(), DbError> {
    let rows: Vec<_> = tenants
        .iter()
        .map(|tenant| {
            (
                audit_log::tenant_id.eq(*tenant),
                audit_log::id.eq(Uuid::now_v7()),
                audit_log::actor_id.eq(Some(user)),
                audit_log::action.eq(action),
                audit_log::entity_type.eq("user"),
                audit_log::entity_id.eq(Some(user.to_string())),
            )
        })
        .collect();
    if !rows.is_empty() {
        diesel::insert_into(audit_log::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Removes the `email` and `name` details from the tenant's audit rows about `entity_id` (an
/// erased member): the rows stay, without personal data.
pub async fn scrub_personal_details(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    entity_id: &str,
) -> Result<(), DbError> {
    diesel::update(audit_log::table)
        .filter(audit_log::tenant_id.eq(tenant))
        .filter(audit_log::entity_id.eq(entity_id))
        .set(
            audit_log::metadata.eq(diesel::dsl::sql::<diesel::sql_types::Jsonb>(
                "metadata - 'email' - 'name'",
            )),
        )
        .execute(conn)
        .await?;
    Ok(())
}
