//! Deleting a module, which reaches into progress: a module members completed is refused unless
//! forced, and a forced deletion revokes its certificates (kept, never deleted) before the
//! module goes. Learning locks and deletes the module; this counts the completions and revokes
//! the certificates in between, in the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::module_completions;
use guild_kernel::{Actor, Permission, Target, authorize};
use guild_learning::LearningError;
use uuid::Uuid;

/// Deletes a module and everything in it, unless members completed it: then it is refused
/// (`module_has_completions`, archive it instead) unless `force` is set by a holder of
/// MANAGE_ALL_MODULES on the module. A forced deletion revokes the module's certificates at `now`
/// and keeps them (certificates are never deleted); completions, progress, quizzes and
/// assignments of the module go with it.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
    force: bool,
    now: DateTime<Utc>,
) -> Result<(), LearningError> {
    let row = guild_learning::modules::lock_for_delete(conn, actor, id, expected).await?;
    let completions: i64 = module_completions::table
        .filter(module_completions::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(module_completions::module_id.eq(id))
        .count()
        .get_result(conn)
        .await?;
    let mut revoked = 0;
    if completions > 0 {
        if !force {
            return Err(LearningError::ModuleHasCompletions { completions });
        }
        authorize(actor, Permission::ManageAllModules, Target::Module(id))?;
        revoked = crate::certificates::revoke_all_of_module(
            conn,
            actor,
            id,
            "The module was deleted",
            now,
        )
        .await?;
    }
    guild_learning::modules::delete_locked(conn, actor, &row, completions, revoked).await
}
