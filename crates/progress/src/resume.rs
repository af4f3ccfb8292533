//! "Continue where you left off": the last section a member opened in each module.
//!
//! Owns `last_sections`, one row per member and module. It is written where a member works on a
//! section — opening it (`GET /v1/modules/{id}/sections/{section_id}`, whose openings the API
//! notes and writes in batches with [`record_many`]), completing it
//! ([`crate::completion::complete_section`]) and reporting video progress on it
//! ([`crate::video::report`]) — and never by reading the module itself. A write never moves the
//! time back: an older opening recorded late changes nothing. The dashboard reads it
//! ([`crate::dashboard`]), with the video's resume position when the section is a video.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{ModuleId, SectionId, TenantId, UserId};
use guild_learning::LearningError;
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

/// A member's opening of a section, as [`record_many`] writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opening {
    /// Who opened it.
    pub user: UserId,
    /// The section's module.
    pub module: ModuleId,
    /// The section.
    pub section: SectionId,
    /// When.
    pub at: DateTime<Utc>,
}

/// Records many openings of `tenant` in one statement, at most one per member and module
/// (the caller keeps the latest of each), with [`record`]'s rule: none moves the time back.
/// Openings of members, modules or sections gone meanwhile are skipped rather than failing the
/// batch; answers how many rows were written.
pub async fn record_many(
    mut conn: &AsyncPgConnection,
    tenant: TenantId,
    openings: &[Opening],
) -> Result<usize, LearningError> {
    let mut sorted = openings.to_vec();
    // One order for every writer, so two instances writing overlapping batches cannot deadlock.
    sorted.sort_by_key(|o| (o.user.into_uuid(), o.module.into_uuid()));
    let users: Vec<Uuid> = sorted.iter().map(|o| o.user.into_uuid()).collect();
    let modules: Vec<Uuid> = sorted.iter().map(|o| o.module.into_uuid()).collect();
    let sections: Vec<Uuid> = sorted.iter().map(|o| o.section.into_uuid()).collect();
    let at: Vec<DateTime<Utc>> = sorted.iter().map(|o| o.at).collect();
    Ok(guild_db::sql(
        "INSERT INTO last_sections (tenant_id, user_id, module_id, section_id, opened_at) \
         SELECT $1, o.user_id, o.module_id, o.section_id, o.at \
         FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[]) \
              AS o(user_id, module_id, section_id, at) \
         WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = $1 AND m.user_id = o.user_id) \
           AND EXISTS (SELECT 1 FROM sections s WHERE s.tenant_id = $1 AND s.id = o.section_id \
                         AND s.module_id = o.module_id) \
         ORDER BY o.user_id, o.module_id \
         ON CONFLICT (tenant_id, user_id, module_id) DO UPDATE \
         SET section_id = EXCLUDED.section_id, opened_at = EXCLUDED.opened_at \
         WHERE last_sections.opened_at <= EXCLUDED.opened_at",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(users)
    .bind::<Array<SqlUuid>, _>(modules)
    .bind::<Array<SqlUuid>, _>(sections)
    .bind::<Array<Timestamptz>, _>(at)
    .execute(&mut conn)
    .await?)
}
