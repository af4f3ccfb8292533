//! Hand-written SQL whose prepared statement is cached per connection.
//!
//! `diesel::sql_query` marks its statement unsafe to cache, so every execution parses and plans
//! it again (for the dashboard's queries that was most of the database's time per request).
//! [`sql`] builds the same query but lets the connection keep the prepared statement, keyed by
//! the SQL text and bind types, so PostgreSQL can reuse the plan.
//!
//! **Only for fixed SQL text**: the cache holds one statement per distinct text for the life of
//! the connection, so text built from values (an inline list, a name) must keep using
//! `diesel::sql_query`. Text assembled from a fixed set of fragments is fine.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, BoxedSqlQuery, Query, QueryFragment, QueryId, SqlQuery};
use diesel::result::QueryResult;
use diesel::serialize::ToSql;
use diesel::sql_types::{HasSqlType, Untyped};

/// A raw SQL query whose prepared statement the connection may cache.
#[must_use = "a query does nothing until it is run"]
pub struct Cached<'a>(BoxedSqlQuery<'a, Pg, SqlQuery>);

impl std::fmt::Debug for Cached<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cached").finish_non_exhaustive()
    }
}

/// Starts a cached raw SQL query; bind values with [`Cached::bind`] as with `sql_query`.
pub fn sql<'a>(query: impl Into<String>) -> Cached<'a> {
    Cached(diesel::sql_query(query).into_boxed())
}

impl<'a> Cached<'a> {
    /// Binds `value` as the next parameter, of SQL type `ST`.
    pub fn bind<ST, V>(self, value: V) -> Self
    where
        Pg: HasSqlType<ST>,
        V: ToSql<ST, Pg> + Send + 'a,
        ST: Send + 'a,
    {
        Cached(self.0.bind::<ST, V>(value))
    }
}

impl QueryFragment<Pg> for Cached<'_> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl QueryId for Cached<'_> {
    type QueryId = ();
    // No static id: the statement cache keys on the SQL text and bind types instead.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Cached<'_> {
    type SqlType = Untyped;
}

/// Takes a transaction-scoped advisory lock named `key` (hashed to 64 bits): writes that must
/// check a rule over several rows before they change one (a tree without cycles, at least one
/// owner) serialize on it, so two of them never both pass a check the other breaks. Released at
/// commit or rollback.
pub async fn lock_xact(
    conn: &mut diesel_async::AsyncPgConnection,
    key: &str,
) -> Result<(), diesel::result::Error> {
    use diesel_async::RunQueryDsl;
    sql("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<diesel::sql_types::Text, _>(key)
        .execute(conn)
        .await
        .map(drop)
}
