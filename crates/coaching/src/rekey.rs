//! Re-sealing coaching's private data under the keyring's current key, for `guild rekey` after
//! a new key was put first in `GUILD_ENCRYPTION_KEYS`.
//!
//! Every sealed value names the key that sealed it, so a value sealed under an older key that is
//! still in the keyring keeps opening; this moves each one to the current key (opened for its own
//! row, sealed again for it), so the older key can then be dropped. It runs outside any tenant
//! (the connecting role, like the worker), in batches of [`BATCH`] rows, each batch its own
//! transaction; a value already under the current key is left alone, so running it again, or
//! after an interruption, finishes the work.

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{coaching_quick_notes as n, coaching_sessions as s};
use guild_kernel::sealed::Keyring;
use uuid::Uuid;

use crate::CoachingError;
use crate::sessions::open;

/// Rows re-sealed per transaction.
pub const BATCH: i64 = 500;

/// What [`rekey`] re-sealed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rekeyed {
    /// Sessions' private notes.
    pub private_notes: u64,
    /// Quick notes.
    pub quick_notes: u64,
}

/// Re-seals every coaching value not sealed under `keys`' current key.
pub async fn rekey(conn: &mut AsyncPgConnection, keys: &Keyring) -> Result<Rekeyed, CoachingError> {
    // `_` is a LIKE wildcard, and may be part of a key id.
    let current = format!("{}.%", keys.sealing_key_id().replace('_', "\\_"));
    let mut done = Rekeyed::default();
    loop {
        let moved = conn
            .transaction::<_, CoachingError, _>(async |conn| {
                let rows: Vec<(Uuid, Uuid, Option<String>)> = s::table
                    .filter(s::private_notes_sealed.is_not_null())
                    .filter(s::private_notes_sealed.not_like(&current))
                    .order((s::tenant_id, s::id))
                    .limit(BATCH)
                    .select((s::tenant_id, s::id, s::private_notes_sealed))
                    .for_update()
                    .load(conn)
                    .await?;
                for (tenant, id, sealed) in &rows {
                    let Some(sealed) = sealed else { continue };
                    let context = crate::sessions::context(*tenant, *id);
                    let plain = open(keys, &context, sealed)?;
                    let again = keys.seal(&context, plain.as_bytes())?;
                    diesel::update(s::table.find((*tenant, *id)))
                        .set(s::private_notes_sealed.eq(again))
                        .execute(conn)
                        .await?;
                }
                Ok(rows.len() as u64)
            })
            .await?;
        done.private_notes += moved;
        if moved < BATCH as u64 {
            break;
        }
    }
    loop {
        let moved = conn
            .transaction::<_, CoachingError, _>(async |conn| {
                let rows: Vec<(Uuid, Uuid, String)> = n::table
                    .filter(n::body_sealed.not_like(&current))
                    .order((n::tenant_id, n::id))
                    .limit(BATCH)
                    .select((n::tenant_id, n::id, n::body_sealed))
                    .for_update()
                    .load(conn)
                    .await?;
                for (tenant, id, sealed) in &rows {
                    let context = crate::notes::context(*tenant, *id);
                    let plain = open(keys, &context, sealed)?;
                    let again = keys.seal(&context, plain.as_bytes())?;
                    diesel::update(n::table.find((*tenant, *id)))
                        .set(n::body_sealed.eq(again))
                        .execute(conn)
                        .await?;
                }
                Ok(rows.len() as u64)
            })
            .await?;
        done.quick_notes += moved;
        if moved < BATCH as u64 {
            break;
        }
    }
    Ok(done)
}
