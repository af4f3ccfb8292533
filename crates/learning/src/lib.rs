//! Learning content: modules of ordered sections, categories, tags, prerequisites, mentors,
//! assignment to groups with deadlines, versions, pins, the media library, and the catalog each
//! member sees.
//!
//! Owns the tables `modules`, `sections`, `section_attachments`, `module_categories`, `tags`,
//! `module_tags`, `module_mentors`, `module_prerequisites`, `module_groups`,
//! `assignment_cycles`, `module_changelog`, `user_module_access`,
//! `user_pinned_modules`, `company_pinned_modules` and `media_assets` (the ownership map is in
//! `docs/ARCHITECTURE.md`). [`access`] holds who may see, edit and steward a module and who
//! earns from it, the rules the crates above (assessment, progress) ask rather than copy.
//! Progress, completions, certificates and compliance are `guild-progress`'s.
//!
//! Every function takes an [`Actor`] and checks MANAGE_ALL_MODULES / MANAGE_OWN_MODULES (own =
//! created by the actor or mentored by them) before touching anything — except who learns a
//! module and who grades it (group assignments, mentors), which need MANAGE_ALL_MODULES; every
//! mutation writes an audit row in its transaction. Section HTML is sanitized on write ([`html`]).

pub mod access;
pub mod assigned;
pub mod audience;
pub mod categories;
pub mod demo;
pub mod error;
pub mod html;
pub mod media;
pub mod modules;
pub mod sections;
pub mod versions;

pub use error::LearningError;

use diesel_async::AsyncPgConnection;
use guild_kernel::{Actor, Cursor, PageRequest};
use uuid::Uuid;

/// The decoded keyset cursor of a list ordered by (sort key, id): `"{key}|{id}"`, the id last
/// (a key may itself hold `|`). `None` on the first page.
pub fn keyset(page: &PageRequest) -> Result<Option<(String, Uuid)>, LearningError> {
    let Some(Cursor(text)) = page.cursor().map_err(|_| LearningError::bad_cursor())? else {
        return Ok(None);
    };
    let (key, id) = text
        .rsplit_once('|')
        .ok_or_else(LearningError::bad_cursor)?;
    let id = id.parse().map_err(|_| LearningError::bad_cursor())?;
    Ok(Some((key.to_owned(), id)))
}

/// The cursor text of a row for [`keyset`].
pub fn keyset_key(key: impl std::fmt::Display, id: Uuid) -> String {
    format!("{key}|{id}")
}

/// A timestamp of a keyset cursor, exact to the microsecond.
pub fn cursor_time(key: &str) -> Result<chrono::DateTime<chrono::Utc>, LearningError> {
    chrono::DateTime::parse_from_rfc3339(key)
        .map(|t| t.to_utc())
        .map_err(|_| LearningError::bad_cursor())
}

/// The cursor form of a timestamp, for [`cursor_time`].
pub fn time_key(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    #[sql_name = "lower"]
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Records an audit row of a learning entity in the transaction (`guild_db::audit::record`).
pub async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    id: Uuid,
    metadata: serde_json::Value,
) -> Result<(), LearningError> {
    Ok(guild_db::audit::record(
        conn,
        actor,
        action,
        entity_type,
        Some(id.to_string()),
        metadata,
    )
    .await?)
}
