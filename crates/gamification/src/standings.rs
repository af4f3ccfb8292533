//! Standings: the XP of everyone scored on a board, sorted, kept in this process for a second so
//! a position is a binary search instead of counting members in the database; and [`Kept`], the
//! short-lived cache they (and the leaderboard's pages) are kept in.
//!
//! Counting the members above someone is a range scan whose length grows with their place (every
//! member above them: 10,000 index entries, and their heap pages while the visibility map lags
//! behind XP updates, for the last of a 10,000-member tenant), so positions made the leaderboard
//! slow and its latency uneven; and every member of a tenant reads the same first page. A
//! board's standings (one index-ordered read of its scored XP) and its pages are read once and
//! shared while younger than [`FRESH_FOR`]; when one is older, one request reads it again while
//! the others keep using the old one. The board can therefore lag XP earned in the last second
//! or two; the caller's own XP is always read fresh. Each cache keeps at most [`MAX_ENTRIES`].

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::sql_types::{Integer, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::GamificationError;
use crate::leaderboard::{Period, scored};

/// How long a board's standings and pages are used before they are read again.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(1);
/// A refresh that has not finished after this long (its request failed or was dropped) no
/// longer stops another request from refreshing.
const REFRESH_TIMEOUT: Duration = Duration::from_secs(5);
/// Entries a [`Kept`] holds at most; past it, stale ones are dropped, then all.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// Which board: the tenant, the period, the group, the period's start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct BoardKey {
    pub tenant: Uuid,
    pub period: Period,
    pub group: Option<Uuid>,
    pub since: Option<DateTime<Utc>>,
}

struct Cached<V> {
    read_at: Instant,
    refreshing_since: Option<Instant>,
    value: V,
}

/// Values read from the database and shared by every request of this process for
/// [`FRESH_FOR`]; when one is older, the first request to ask reads it again (`None`) while the
/// others keep the old one.
pub(crate) struct Kept<K, V> {
    entries: Mutex<HashMap<K, Cached<V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Kept<K, V> {
    /// An empty cache.
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The kept value to use, or `None`: read it and [`store`](Self::store) it.
    pub(crate) fn lookup(&self, key: &K, now: Instant) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let cached = entries.get_mut(key)?;
        if now.duration_since(cached.read_at) < FRESH_FOR {
            return Some(cached.value.clone());
        }
        match cached.refreshing_since {
            Some(since) if now.duration_since(since) < REFRESH_TIMEOUT => {
                Some(cached.value.clone())
            }
            _ => {
                cached.refreshing_since = Some(now);
                None
            }
        }
    }

    /// Keeps `value`, read at `read_at`.
    pub(crate) fn store(&self, key: K, value: V, read_at: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, c| read_at.duration_since(c.read_at) < FRESH_FOR);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Cached {
                read_at,
                refreshing_since: None,
                value,
            },
        );
    }
}

static STANDINGS: LazyLock<Kept<BoardKey, Arc<[i32]>>> = LazyLock::new(Kept::new);

/// A board's scored XP, highest first.
#[derive(Debug, Clone)]
pub(crate) struct Standings(Arc<[i32]>);

impl Standings {
    /// Competition position of `xp`: 1 + the members with more.
    pub(crate) fn position(&self, xp: i32) -> i64 {
        1 + self.0.partition_point(|&v| v > xp) as i64
    }
}

#[derive(diesel::QueryableByName)]
struct Scored {
    #[diesel(sql_type = Integer)]
    xp: i32,
}

/// The board's standings: kept ones while fresh, else read (from the rows the leaderboard scores
/// in the period).
pub(crate) async fn standings(
    mut conn: &AsyncPgConnection,
    key: BoardKey,
) -> Result<Standings, GamificationError> {
    let started = Instant::now();
    if let Some(xps) = STANDINGS.lookup(&key, started) {
        return Ok(Standings(xps));
    }
    let rows: Vec<Scored> = guild_db::sql(format!(
        "SELECT s.xp FROM ({}) s WHERE {} ORDER BY s.xp DESC",
        scored(key.period),
        crate::leaderboard::NOT_REMOVED
    ))
    .bind::<SqlUuid, _>(key.tenant)
    .bind::<Nullable<SqlUuid>, _>(key.group)
    .bind::<Nullable<Timestamptz>, _>(key.since)
    .load(&mut conn)
    .await?;
    let xps: Arc<[i32]> = rows.into_iter().map(|r| r.xp).collect();
    STANDINGS.store(key, xps.clone(), started);
    Ok(Standings(xps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u128) -> BoardKey {
        BoardKey {
            tenant: Uuid::from_u128(n),
            period: Period::All,
            group: None,
            since: None,
        }
    }

    #[test]
    fn positions_are_competition_ranks() {
        let s = Standings(Arc::from(vec![300, 200, 200, 100]));
        assert_eq!(s.position(400), 1);
        assert_eq!(s.position(300), 1);
        assert_eq!(s.position(250), 2);
        assert_eq!(s.position(200), 2);
        assert_eq!(s.position(150), 4);
        assert_eq!(s.position(100), 4);
        assert_eq!(s.position(0), 5);
        assert_eq!(Standings(Arc::from(Vec::new())).position(0), 1);
    }

    #[test]
    fn fresh_values_are_reused_and_one_request_refreshes_stale_ones() {
        let kept: Kept<BoardKey, Arc<[i32]>> = Kept::new();
        let k = key(1);
        let t0 = Instant::now();
        assert!(kept.lookup(&k, t0).is_none());
        kept.store(k.clone(), Arc::from(vec![5, 3]), t0);
        assert_eq!(
            kept.lookup(&k, t0 + FRESH_FOR / 2).as_deref(),
            Some(&[5, 3][..])
        );
        // Stale: the first asker reads, the next ones keep the old value meanwhile.
        let later = t0 + FRESH_FOR * 2;
        assert!(kept.lookup(&k, later).is_none());
        assert_eq!(kept.lookup(&k, later).as_deref(), Some(&[5, 3][..]));
        // A refresh that never came back stops blocking others.
        assert!(kept.lookup(&k, later + REFRESH_TIMEOUT).is_none());
        kept.store(k.clone(), Arc::from(vec![9]), later + REFRESH_TIMEOUT);
        assert_eq!(
            kept.lookup(&k, later + REFRESH_TIMEOUT).as_deref(),
            Some(&[9][..])
        );
        // Full: stale entries make room, fresh ones stay.
        for n in 2..=MAX_ENTRIES as u128 {
            kept.store(key(n), Arc::from(vec![1]), later + REFRESH_TIMEOUT);
        }
        kept.store(
            key(0),
            Arc::from(vec![2]),
            later + REFRESH_TIMEOUT + FRESH_FOR * 2,
        );
        assert!(kept.entries.lock().unwrap().len() == 1);
    }
}
