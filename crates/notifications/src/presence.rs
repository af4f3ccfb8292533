//! Who may see presence, and who is shown: the tenant's switch ([`Settings`], on unless an admin
//! turned it off) and each member's choice to hide ([`set_hidden`]). Who is online is not kept
//! here but in the kernel's `Presence` port (Redis or process memory); [`online_members`] turns
//! its sightings into the list members see: active members only, hidden ones left out, by name.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

use diesel::sql_types::{Array, BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use guild_db::schema::{presence_preferences as pp, presence_settings as ps};
use guild_kernel::ports::Online;
use guild_kernel::{Actor, Keyset, Page, PageRequest, TenantId, TenantRole, UserId};
use uuid::Uuid;

use crate::NotificationsError;

/// The one sort of the online list: by name.
pub const SORT: &str = "name";

/// The tenant's presence switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Whether members see who is online (`GET /v1/presence`); on by default.
    pub enabled: bool,
}

/// An online member as the list shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineMember {
    /// The member.
    pub user: UserId,
    /// Their name.
    pub name: String,
    /// Online since.
    pub since: DateTime<Utc>,
}

/// The tenant's presence switch (any member may read it).
pub async fn settings(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
) -> Result<Settings, NotificationsError> {
    let enabled: Option<bool> = ps::table
        .find(tenant.into_uuid())
        .select(ps::enabled)
        .first(&mut conn)
        .await
        .optional()?;
    Ok(Settings {
        enabled: enabled.unwrap_or(true),
    })
}

/// Turns presence on or off for the tenant: ADMIN and above, never an API key (as the tenant's
/// other settings); audited.
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<Settings, NotificationsError> {
    if actor.role.rank() > TenantRole::Admin.rank() || actor.api_key.is_some() {
        return Err(NotificationsError::Forbidden);
    }
    diesel::insert_into(ps::table)
        .values((
            ps::tenant_id.eq(actor.tenant_id.into_uuid()),
            ps::enabled.eq(enabled),
            ps::updated_at.eq(now),
        ))
        .on_conflict(ps::tenant_id)
        .do_update()
        .set((ps::enabled.eq(enabled), ps::updated_at.eq(now)))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "PRESENCE_SETTINGS_UPDATED",
        "tenant",
        Some(actor.tenant_id.to_string()),
        serde_json::json!({ "enabled": enabled }),
    )
    .await?;
    Ok(Settings { enabled })
}

/// Whether the actor hides their presence.
pub async fn hidden(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
) -> Result<bool, NotificationsError> {
    Ok(pp::table
        .find((actor.tenant_id.into_uuid(), actor.user_id.into_uuid()))
        .select(pp::hidden)
        .first::<bool>(&mut conn)
        .await
        .optional()?
        .unwrap_or(false))
}

/// Hides the actor's presence from the online list, or shows it again; answers the choice.
/// Only a member of the tenant has a choice there (`not_a_member` for the platform owner acting
/// in a tenant they do not belong to).
pub async fn set_hidden(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    hidden: bool,
    now: DateTime<Utc>,
) -> Result<bool, NotificationsError> {
    if actor.impersonating {
        return Err(NotificationsError::NotAMember);
    }
    diesel::insert_into(pp::table)
        .values((
            pp::tenant_id.eq(actor.tenant_id.into_uuid()),
            pp::user_id.eq(actor.user_id.into_uuid()),
            pp::hidden.eq(hidden),
            pp::updated_at.eq(now),
        ))
        .on_conflict((pp::tenant_id, pp::user_id))
        .do_update()
        .set((pp::hidden.eq(hidden), pp::updated_at.eq(now)))
        .execute(conn)
        .await?;
    Ok(hidden)
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The members of `online` (sightings of the actor's tenant) that the list shows, by name, a page
/// at a time: active members who do not hide. 403 `presence_disabled` when the tenant turned
/// presence off. Two statements whatever the page: the switch and the page.
pub async fn online_members(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    online: &[Online],
    page: &PageRequest,
) -> Result<Page<OnlineMember>, NotificationsError> {
    let bad = || NotificationsError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    let after = page.keyset(SORT).map_err(|_| bad())?;
    let limit = page.limit();
    let ids: Vec<Uuid> = online.iter().map(|o| o.user.into_uuid()).collect();
    let (after_name, after_id) = after.map_or((None, None), |k| (Some(k.key), Some(k.id)));
    let (switch, rows) = futures_util::future::try_join(
        settings(conn, actor.tenant_id),
        guild_db::sql(
            "SELECT u.id, u.name FROM memberships m \
             JOIN users u ON u.id = m.user_id \
             LEFT JOIN presence_preferences p \
               ON p.tenant_id = m.tenant_id AND p.user_id = m.user_id \
             WHERE m.tenant_id = $1 AND m.user_id = ANY($2) AND m.status = 'ACTIVE' \
               AND NOT coalesce(p.hidden, false) \
               AND ($3::text IS NULL OR (u.name, u.id) > ($3, $4)) \
             ORDER BY u.name, u.id LIMIT $5",
        )
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(ids)
        .bind::<Nullable<Text>, _>(after_name)
        .bind::<Nullable<SqlUuid>, _>(after_id)
        .bind::<BigInt, _>(i64::from(limit) + 1)
        .load::<Row>(&mut conn)
        .map_err(NotificationsError::from),
    )
    .await?;
    if !switch.enabled {
        return Err(NotificationsError::PresenceDisabled);
    }
    let since: HashMap<Uuid, DateTime<Utc>> = online
        .iter()
        .map(|o| (o.user.into_uuid(), o.since))
        .collect();
    let members = rows
        .into_iter()
        .filter_map(|row| {
            Some(OnlineMember {
                user: UserId(row.id),
                since: *since.get(&row.id)?,
                name: row.name,
            })
        })
        .collect();
    Ok(Page::from_overfetch(members, limit, |m: &OnlineMember| {
        Keyset {
            sort: SORT.to_owned(),
            key: m.name.clone(),
            id: m.user.into_uuid(),
        }
        .raw()
    }))
}
