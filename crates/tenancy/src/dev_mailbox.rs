//! The development mailbox (`dev_mailbox`): a copy of every email sent in development without an
//! SMTP server, so sign-in and reset links can be read there. Production never writes it (bodies
//! carry single-use links), and a daily job deletes what is older than a week.
//!
//! Not tenant data: the table has no tenant, and the worker writes it as the connecting role.

use diesel::sql_types::{Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::DbError;

/// Keeps a copy of an email.
pub async fn record(
    conn: &mut AsyncPgConnection,
    to: &str,
    subject: &str,
    text: &str,
) -> Result<(), DbError> {
    guild_db::sql(
        "INSERT INTO dev_mailbox (id, to_address, subject, text_body) VALUES ($1, $2, $3, $4)",
    )
    .bind::<SqlUuid, _>(uuid::Uuid::now_v7())
    .bind::<Text, _>(to.to_owned())
    .bind::<Text, _>(subject.to_owned())
    .bind::<Text, _>(text.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes the messages older than `days` days; returns how many.
pub async fn prune(conn: &mut AsyncPgConnection, days: i32) -> Result<usize, DbError> {
    Ok(guild_db::sql(
        "DELETE FROM dev_mailbox WHERE created_at < now() - make_interval(days => $1)",
    )
    .bind::<Integer, _>(days)
    .execute(conn)
    .await?)
}
