//! "Continue where you left off": the last section a member opened in each module.
//!
//! Owns `last_sections`, one row per member and module. It is written where a member works on a
//! section — opening it (`GET /v1/modules/{id}/sections/{section_id}`, [`open_section`]),
//! completing it ([`crate::completion::complete_section`]) and reporting video progress on it
//! ([`crate::video::report`]) — and never by reading the module itself. A write never moves the
//! time back: an older opening recorded late changes nothing. The dashboard reads it
//! ([`crate::dashboard`]), with the video's resume position when the section is a video.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, SectionId, TenantId, UserId};
use guild_learning::LearningError;
use guild_learning::sections::Section;
use uuid::Uuid;

/// Records that `user` opened `section` of `module` at `now`.
pub async fn record(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    section: Uuid,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    guild_db::sql(
        "INSERT INTO last_sections (tenant_id, user_id, module_id, section_id, opened_at) \
         VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (tenant_id, user_id, module_id) DO UPDATE \
         SET section_id = EXCLUDED.section_id, opened_at = EXCLUDED.opened_at \
         WHERE last_sections.opened_at <= EXCLUDED.opened_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<SqlUuid, _>(module)
    .bind::<SqlUuid, _>(section)
    .bind::<Timestamptz, _>(now)
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Opens a section of a module the actor may see (`guild_learning::sections::get`) and records
/// it as the last one they opened in the module.
pub async fn open_section(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    section: SectionId,
    now: DateTime<Utc>,
) -> Result<Section, LearningError> {
    let found = guild_learning::sections::get(conn, actor, module, section).await?;
    record(
        conn,
        actor.tenant_id,
        actor.user_id,
        module,
        section.into_uuid(),
        now,
    )
    .await?;
    Ok(found)
}
