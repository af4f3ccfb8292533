//! An event's materials: files of the media library (slides, a handout, a recording) its
//! managers attach, and its registrants, hosts and managers download through short-lived signed
//! links.
//!
//! Owns `live_event_materials`. Adding one needs managing the event and being allowed to use
//! the file (a READY asset the manager may download, never a learner's submission file:
//! `guild_learning::media::downloadable`); at most [`MAX_PER_EVENT`]. The list and the downloads
//! are for the event's managers and hosts and the members holding a seat; anyone else who sees
//! the event gets 403, anyone who does not 404. Deleting the file from the library removes it
//! from the event.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    live_event_materials as m, live_event_registrations as r, media_assets as a,
};
use guild_kernel::{Actor, AssetId};
use uuid::Uuid;

use crate::LiveError;
use crate::events::{self, EventRow};
use crate::registrations::RegistrationStatus;

/// The most materials one event holds.
pub const MAX_PER_EVENT: i64 = 20;

/// One of an event's materials.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct Material {
    /// The media library's asset.
    pub asset_id: Uuid,
    /// Its title.
    pub title: String,
    /// Its file name.
    pub file_name: String,
    /// Its content type.
    pub content_type: String,
    /// Its size.
    pub size_bytes: i64,
    /// When it was added to the event.
    pub added_at: DateTime<Utc>,
}

/// What a download needs: where the bytes are and how to name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The blob's key.
    pub blob_key: String,
    /// The file name.
    pub file_name: String,
    /// The content type.
    pub content_type: String,
}

/// Whether the actor reads the event's materials: its managers and hosts, and members holding
/// a seat.
async fn may_read(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &EventRow,
) -> Result<bool, LiveError> {
    if events::may_host(conn, actor, row).await? {
        return Ok(true);
    }
    let status: Option<String> = r::table
        .filter(r::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(r::event_id.eq(row.id))
        .filter(r::user_id.eq(actor.user_id.into_uuid()))
        .select(r::status)
        .first(conn)
        .await
        .optional()?;
    Ok(
        actor.acts_as_member()
            && status.as_deref() == Some(RegistrationStatus::Registered.as_str()),
    )
}

/// The event's materials, in the order they were added.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
) -> Result<Vec<Material>, LiveError> {
    let row = events::visible(conn, actor, event, false).await?;
    if !may_read(conn, actor, &row).await? {
        return Err(LiveError::Forbidden);
    }
    load(conn, actor, event).await
}

async fn load(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
) -> Result<Vec<Material>, LiveError> {
    Ok(m::table
        .inner_join(a::table.on(a::tenant_id.eq(m::tenant_id).and(a::id.eq(m::asset_id))))
        .filter(m::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(m::event_id.eq(event))
        .order((m::created_at, m::asset_id))
        .select((
            m::asset_id,
            a::title,
            a::file_name,
            a::content_type,
            a::size_bytes,
            m::created_at,
        ))
        .load(conn)
        .await?)
}

/// Adds the asset to the event's materials (idempotent); returns them all. Managers only; 404
/// `asset_not_found` for a file the actor may not use, 409 `asset_not_ready` for one still
/// processing, 409 `material_limit_reached` past [`MAX_PER_EVENT`].
pub async fn add(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    asset: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Material>, LiveError> {
    events::managed(conn, actor, event, true).await?;
    guild_learning::media::downloadable(conn, actor, AssetId(asset)).await?;
    let held: i64 = m::table
        .filter(m::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(m::event_id.eq(event))
        .filter(m::asset_id.ne(asset))
        .count()
        .get_result(conn)
        .await?;
    if held >= MAX_PER_EVENT {
        return Err(LiveError::MaterialLimitReached);
    }
    diesel::insert_into(m::table)
        .values((
            m::tenant_id.eq(actor.tenant_id.into_uuid()),
            m::event_id.eq(event),
            m::asset_id.eq(asset),
            m::added_by.eq(actor.user_id.into_uuid()),
            m::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    load(conn, actor, event).await
}

/// Removes the asset from the event's materials (the file stays in the library). Managers only;
/// 404 `material_not_found` when it is not one of them.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    asset: Uuid,
) -> Result<(), LiveError> {
    events::managed(conn, actor, event, true).await?;
    let deleted = diesel::delete(m::table.find((actor.tenant_id.into_uuid(), event, asset)))
        .execute(conn)
        .await?;
    if deleted == 0 {
        return Err(LiveError::NotFound("material_not_found"));
    }
    Ok(())
}

/// A material to download, for those who read the materials; 404 `material_not_found` when the
/// asset is not one of the event's.
pub async fn download(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    event: Uuid,
    asset: Uuid,
) -> Result<Download, LiveError> {
    let row = events::visible(conn, actor, event, false).await?;
    if !may_read(conn, actor, &row).await? {
        return Err(LiveError::Forbidden);
    }
    let found: Option<(String, String, String, String)> = m::table
        .inner_join(a::table.on(a::tenant_id.eq(m::tenant_id).and(a::id.eq(m::asset_id))))
        .filter(m::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(m::event_id.eq(event))
        .filter(m::asset_id.eq(asset))
        .select((a::blob_key, a::file_name, a::content_type, a::status))
        .first(conn)
        .await
        .optional()?;
    let (blob_key, file_name, content_type, status) =
        found.ok_or(LiveError::NotFound("material_not_found"))?;
    if status != "READY" {
        return Err(LiveError::NotFound("material_not_found"));
    }
    Ok(Download {
        blob_key,
        file_name,
        content_type,
    })
}
