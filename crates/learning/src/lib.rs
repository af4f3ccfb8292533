//! Learning content: modules of ordered sections, categories, tags, prerequisites, mentors,
//! assignment to groups with deadlines, and the catalog each member sees.
//!
//! Every function takes an [`Actor`] and checks MANAGE_ALL_MODULES / MANAGE_OWN_MODULES (own =
//! created by the actor or mentored by them) before touching anything — except who learns a
//! module and who grades it (group assignments, mentors), which need MANAGE_ALL_MODULES; every
//! mutation writes an audit row in its transaction. Section HTML is sanitized on write ([`html`]).

pub mod categories;
pub mod certificates;
pub mod compliance;
pub mod error;
pub mod html;
pub mod media;
pub mod modules;
pub mod overrides;
pub mod progress;
pub mod sections;
pub mod versions;

#[cfg(test)]
mod tests;

pub use error::LearningError;

use diesel_async::AsyncPgConnection;
use guild_kernel::Actor;
use uuid::Uuid;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    #[sql_name = "lower"]
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

pub(crate) async fn audit(
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
