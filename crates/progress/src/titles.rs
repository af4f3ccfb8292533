//! The titles of the things members earn XP from that progress can read: modules, quizzes,
//! learning paths and certificates (named by their module). Gamification's ledger shows them without reading
//! tables of the crates above it.

use diesel::QueryableByName;
use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::DbError;
use guild_kernel::TenantId;
use uuid::Uuid;

#[derive(QueryableByName)]
struct TitleRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
}

/// `(id, title)` for each of `ids` that is a module, a quiz, a learning path or a certificate of the tenant (a
/// certificate by its module's title); other ids are left out.
pub async fn of(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    ids: &[Uuid],
) -> Result<Vec<(Uuid, String)>, DbError> {
    let rows: Vec<TitleRow> = guild_db::sql(
        "SELECT id, title FROM modules WHERE tenant_id = $1 AND id = ANY($2) \
         UNION ALL SELECT id, title FROM quizzes WHERE tenant_id = $1 AND id = ANY($2) \
         UNION ALL SELECT id, title FROM learning_paths WHERE tenant_id = $1 AND id = ANY($2) \
         UNION ALL SELECT c.id, m.title FROM certificates c \
           JOIN modules m ON m.tenant_id = c.tenant_id AND m.id = c.module_id \
           WHERE c.tenant_id = $1 AND c.id = ANY($2)",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.title)).collect())
}
