//! Gamification: the XP ledger, members' balances and ranks, leaderboards and the reward shop.
//!
//! - [`ledger`]: awards (from domain events, idempotent per source entity), manual awards and
//!   deductions, a member's balance and their ledger explained.
//! - [`settings`]: per-tenant XP amounts, rank thresholds and the leaderboard opt-out switch.
//! - [`leaderboard`]: all time (by `lifetime_xp`), this month and this week (summed from the
//!   ledger), with the caller's own position and opted-out members shown anonymously.
//! - [`rewards`]: the reward catalog and redemptions (spend or hold, approve, reject, cancel).
//!
//! **Balances equal the ledger.** Every change to `user_xp_balances` happens in the transaction
//! that appends its `xp_transactions` row, through one atomic `UPDATE` (or upsert) of the balance
//! row, so `total_xp = Σ amount` and `lifetime_xp = Σ earned` (AWARD rows and positive MANUAL
//! rows) hold at every commit. Redemptions lock the reward row, then the balance row, always in
//! that order. The ledger's kinds are documented in the migration
//! `2026-11-26-400000_create_gamification`: an approved held redemption is a `SPEND` row of
//! amount 0, since its XP left `total_xp` when it was held.
//!
//! Owns the tables `xp_transactions`, `user_xp_balances`, `xp_period_totals`, `rewards`,
//! `reward_redemptions` and `gamification_settings` (the ownership map is in
//! `docs/ARCHITECTURE.md`).
//!
//! **Dependencies.** Only `guild-kernel` and `guild-db`: the events it reacts to are decoded by
//! the api layer, which calls [`ledger`] with their facts, and the titles of modules, quizzes and
//! certificates its ledger shows are passed in by the caller ([`ledger::transactions`]).

/// Lets diesel read a `TEXT` column of a closed set straight into its `string_enum!` (a value
/// outside the set, which the column's CHECK rules out, is a deserialization error).
macro_rules! text_column {
    ($($name:ty),+) => {$(
        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                Ok(text.parse()?)
            }
        }
    )+};
}
pub(crate) use text_column;

pub mod demo;
pub mod error;
pub mod events;
pub mod leaderboard;
pub mod ledger;
pub mod rewards;
pub mod settings;
mod standings;

#[cfg(test)]
mod tests;

pub use error::GamificationError;

use diesel_async::AsyncPgConnection;
use guild_kernel::Actor;
use uuid::Uuid;

pub(crate) async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: &str,
    entity_type: &str,
    id: Uuid,
    metadata: serde_json::Value,
) -> Result<(), GamificationError> {
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
