//! Leaderboards: all time by `lifetime_xp` (read in index order from
//! `user_xp_balances_leaderboard_idx`), this month and this week by XP earned in the period
//! (summed from the ledger through `xp_transactions_period_idx`). Positions are competition
//! ranks (ties share a position), found in the board's standings (see [`crate::standings`]);
//! members who opted out appear as "Anonymous" without an id while the tenant allows opting out.
//!
//! Neither a page nor its cursor names a hidden member: the cursor is the XP of the page's last
//! row and how many rows with that XP were shown so far (ties are ordered by user id, and the
//! next page skips that many of them), never a user id. A member whose XP changes between two
//! page reads can shift the rows of their old or new tie by one, as with any offset.
//!
//! A group's board tells who belongs to the group, so it is shown only to the group's members
//! and to those who may see its members: VIEW_GROUP_PROGRESS, VIEW_ALL_PROGRESS or
//! MANAGE_GROUPS covering the group (`leaderboard_group_forbidden` otherwise).

use std::sync::{Arc, LazyLock};
use std::time::Instant;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::TryFutureExt;
use futures_util::future::try_join4;
use guild_kernel::{Actor, Cursor, GroupId, PageRequest, Permission, Target, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::GamificationError;
use crate::ledger;
use crate::settings;
use crate::standings::{BoardKey, Kept, standings};

/// Pages of boards, shared for a second like the standings: every member of a tenant reads the
/// same first page.
static PAGES: LazyLock<Kept<PageKey, Arc<[Row]>>> = LazyLock::new(Kept::new);

/// A page of a board: the board, where it starts (see [`After`]), the limit.
type PageKey = (BoardKey, Option<After>, u32);

/// Where a page starts: below the members with more than `xp`, past the first `seen` members
/// with exactly `xp` (in user id order). What a cursor carries: no user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct After {
    xp: i32,
    seen: i64,
}

impl After {
    fn parse(cursor: &str) -> Option<Self> {
        let (xp, seen) = cursor.split_once(':')?;
        let after = Self {
            xp: xp.parse().ok()?,
            seen: seen.parse().ok()?,
        };
        (after.seen > 0).then_some(after)
    }

    /// Where the page after `rows` (the rows of the page that started at `self`) starts.
    fn next(this: Option<Self>, rows: &[Row]) -> Option<Self> {
        let last = rows.last()?;
        let tied = rows.iter().filter(|r| r.xp == last.xp).count() as i64;
        let before = this.filter(|a| a.xp == last.xp).map_or(0, |a| a.seen);
        Some(Self {
            xp: last.xp,
            seen: before + tied,
        })
    }
}

guild_kernel::string_enum!(
    /// Which XP counts.
    Period {
        /// Lifetime XP.
        All => "all",
        /// XP earned since the first of this month (UTC).
        Month => "month",
        /// XP earned since Monday (UTC).
        Week => "week",
    }
);

impl Period {
    fn since(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let day = now.date_naive();
        let start = match self {
            Self::All => return None,
            Self::Month => day.with_day(1).unwrap_or(day),
            Self::Week => day - Duration::days(i64::from(day.weekday().num_days_from_monday())),
        };
        Some(Utc.from_utc_datetime(&start.and_hms_opt(0, 0, 0).unwrap_or_default()))
    }
}

/// One row of the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// 1 for the top; ties share a position.
    pub rank_position: i64,
    /// The member; `None` when they are hidden.
    pub user_id: Option<Uuid>,
    /// Their name, or "Anonymous".
    pub name: String,
    /// XP in the period.
    pub xp: i32,
}

/// The caller's own place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    /// Their position (where they would be when hidden or at 0 XP).
    pub rank_position: i64,
    /// Their XP in the period.
    pub xp: i32,
}

/// A page of the board and the caller's place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Board {
    /// The rows.
    pub data: Vec<Entry>,
    /// The next page's cursor.
    pub next_cursor: Option<String>,
    /// The caller.
    pub me: Me,
}

#[derive(Debug, diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Integer)]
    xp: i32,
    #[diesel(sql_type = Bool)]
    hidden: bool,
}

#[derive(diesel::QueryableByName)]
struct Mine {
    #[diesel(sql_type = Integer)]
    xp: i32,
    #[diesel(sql_type = Bool)]
    may_hide: bool,
}

/// The rows scored in the period: `$1` tenant, `$2` group (or NULL), `$3` start (or NULL).
pub(crate) fn scored(period: Period) -> &'static str {
    match period {
        Period::All => {
            "SELECT b.user_id, b.lifetime_xp AS xp FROM user_xp_balances b \
             WHERE b.tenant_id = $1 AND b.lifetime_xp > 0 AND ($2::uuid IS NULL OR EXISTS \
               (SELECT 1 FROM user_groups g WHERE g.tenant_id = b.tenant_id \
                AND g.group_id = $2 AND g.user_id = b.user_id))"
        }
        Period::Month => {
            "SELECT p.user_id, p.xp FROM xp_period_totals p \
             WHERE p.tenant_id = $1 AND p.period = 'MONTH' AND p.period_start = $3 AND p.xp > 0 \
               AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM user_groups g \
                 WHERE g.tenant_id = p.tenant_id AND g.group_id = $2 AND g.user_id = p.user_id))"
        }
        Period::Week => {
            "SELECT p.user_id, p.xp FROM xp_period_totals p \
             WHERE p.tenant_id = $1 AND p.period = 'WEEK' AND p.period_start = $3 AND p.xp > 0 \
               AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM user_groups g \
                 WHERE g.tenant_id = p.tenant_id AND g.group_id = $2 AND g.user_id = p.user_id))"
        }
    }
}

/// Members removed from the tenant keep their XP ledger but leave the board (`s` is a scored row,
/// `$1` the tenant). Removed members are few, so this is an anti-join against a small set.
pub(crate) const NOT_REMOVED: &str = "NOT EXISTS (SELECT 1 FROM memberships m \
     WHERE m.tenant_id = $1 AND m.user_id = s.user_id AND m.status = 'REMOVED')";

/// The SQL of one page of the board; `$4` cursor XP (rows with at most that XP), `$5` how many
/// rows with exactly that XP to skip, `$6` limit.
pub fn page_sql(period: Period) -> String {
    format!(
        "SELECT s.user_id, u.name, s.xp, coalesce(b.leaderboard_hidden, false) AS hidden \
         FROM ({}) s JOIN users u ON u.id = s.user_id \
         LEFT JOIN user_xp_balances b ON b.tenant_id = $1 AND b.user_id = s.user_id \
         WHERE ($4::integer IS NULL OR s.xp <= $4) AND {} \
         ORDER BY s.xp DESC, s.user_id OFFSET $5 LIMIT $6",
        scored(period),
        NOT_REMOVED
    )
}

/// The caller's XP in the period and whether members may hide (the tenant's setting, `$4` when
/// it never changed it): `$1` tenant, `$2` the caller, `$3` period start.
fn mine_sql(period: Period) -> &'static str {
    match period {
        Period::All => {
            "SELECT coalesce((SELECT lifetime_xp FROM user_xp_balances \
               WHERE tenant_id = $1 AND user_id = $2), 0) AS xp, \
             coalesce((SELECT leaderboard_opt_out_allowed FROM gamification_settings \
               WHERE tenant_id = $1), $4) AS may_hide"
        }
        Period::Month => {
            "SELECT coalesce((SELECT sum(xp) FROM xp_period_totals WHERE tenant_id = $1 \
               AND user_id = $2 AND period = 'MONTH' AND period_start = $3), 0)::integer AS xp, \
             coalesce((SELECT leaderboard_opt_out_allowed FROM gamification_settings \
               WHERE tenant_id = $1), $4) AS may_hide"
        }
        Period::Week => {
            "SELECT coalesce((SELECT sum(xp) FROM xp_period_totals WHERE tenant_id = $1 \
               AND user_id = $2 AND period = 'WEEK' AND period_start = $3), 0)::integer AS xp, \
             coalesce((SELECT leaderboard_opt_out_allowed FROM gamification_settings \
               WHERE tenant_id = $1), $4) AS may_hide"
        }
    }
}

#[derive(diesel::QueryableByName)]
struct GroupAccess {
    #[diesel(sql_type = Bool)]
    found: bool,
    #[diesel(sql_type = Bool)]
    member: bool,
}

/// Whether the actor may see the board of `group`: `group_not_found`, or
/// `leaderboard_group_forbidden` unless they belong to it (as themselves, not through an API key
/// that does not act as a member) or hold a permission that shows its members.
async fn check_group(
    mut conn: &AsyncPgConnection,
    actor: &Actor,
    group: Uuid,
) -> Result<(), GamificationError> {
    let access: GroupAccess = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM groups WHERE tenant_id = $1 AND id = $3) AS found, \
                EXISTS (SELECT 1 FROM user_groups WHERE tenant_id = $1 AND group_id = $3 \
                          AND user_id = $2) AS member",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<SqlUuid, _>(group)
    .get_result(&mut conn)
    .await?;
    if !access.found {
        return Err(GamificationError::GroupNotFound);
    }
    let sees_members = [
        Permission::ViewGroupProgress,
        Permission::ViewAllProgress,
        Permission::ManageGroups,
    ]
    .into_iter()
    .any(|p| authorize(actor, p, Target::Groups(&[group])).is_ok());
    if sees_members || (access.member && actor.acts_as_member()) {
        Ok(())
    } else {
        Err(GamificationError::GroupBoardForbidden)
    }
}

/// The board: `limit`/`cursor` page it; `group` keeps members of that group (positions within
/// it), for those who may see who is in it.
pub async fn board(
    conn: &AsyncPgConnection,
    actor: &Actor,
    period: Period,
    group: Option<GroupId>,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Board, GamificationError> {
    let group = group.map(GroupId::into_uuid);
    let limit = page.limit();
    let bad_cursor =
        || GamificationError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    let after = match page.cursor().map_err(|_| bad_cursor())? {
        Some(c) => Some(After::parse(&c.0).ok_or_else(bad_cursor)?),
        None => None,
    };
    let tenant = actor.tenant_id.into_uuid();
    let since = period.since(now);
    // Whether the actor may see the group's board, the page and the board's standings (both
    // kept in memory for a second, see `standings`), and the caller's XP with the tenant's
    // opt-out setting: pipelined, one round trip. Nothing read is shown before the check passed.
    let mut shared = conn;
    let board = BoardKey {
        tenant,
        period,
        group,
        since,
    };
    let page_key = (board.clone(), after, limit);
    let page_rows = async move {
        let started = Instant::now();
        if let Some(rows) = PAGES.lookup(&page_key, started) {
            return Ok(rows);
        }
        let rows: Arc<[Row]> = guild_db::sql(page_sql(period))
            .bind::<SqlUuid, _>(tenant)
            .bind::<Nullable<SqlUuid>, _>(group)
            .bind::<Nullable<Timestamptz>, _>(since)
            .bind::<Nullable<Integer>, _>(after.map(|a| a.xp))
            .bind::<BigInt, _>(after.map_or(0, |a| a.seen))
            .bind::<Integer, _>(i32::try_from(limit + 1).unwrap_or(201))
            .load::<Row>(&mut { shared })
            .await?
            .into();
        PAGES.store(page_key, rows.clone(), started);
        Ok::<_, GamificationError>(rows)
    };
    let mine = guild_db::sql(mine_sql(period))
        .bind::<SqlUuid, _>(tenant)
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .bind::<Nullable<Timestamptz>, _>(since)
        .bind::<Bool, _>(settings::Settings::default().leaderboard_opt_out_allowed)
        .get_result::<Mine>(&mut shared);
    let allowed = async move {
        match group {
            Some(group) => check_group(shared, actor, group).await,
            None => Ok(()),
        }
    };
    let ((), page, mine, standings) = try_join4(
        allowed,
        page_rows,
        mine.err_into(),
        standings(shared, board),
    )
    .await?;
    // One row more than the limit was read: its presence says there is a next page.
    let rows = &page[..page.len().min(limit as usize)];
    let next_cursor = if page.len() > rows.len() {
        After::next(after, rows).map(|a| Cursor(format!("{}:{}", a.xp, a.seen)).encode())
    } else {
        None
    };
    let my_xp = mine.xp;
    let my_position = standings.position(my_xp);
    let me_self = actor.user_id.into_uuid();
    // Hiding counts only while the tenant allows it.
    let may_hide = mine.may_hide;
    Ok(Board {
        data: rows
            .iter()
            .map(|r| {
                let hidden = may_hide && r.hidden && r.user_id != me_self;
                Entry {
                    rank_position: standings.position(r.xp),
                    user_id: (!hidden).then_some(r.user_id),
                    name: if hidden {
                        "Anonymous".to_owned()
                    } else {
                        r.name.clone()
                    },
                    xp: r.xp,
                }
            })
            .collect(),
        next_cursor,
        me: Me {
            rank_position: my_position,
            xp: my_xp,
        },
    })
}

/// Hides (or shows) the actor on the leaderboard; 409 when hiding and the tenant does not allow
/// opting out.
pub async fn set_hidden(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    hidden: bool,
) -> Result<bool, GamificationError> {
    if hidden
        && !settings::load(conn, actor.tenant_id)
            .await?
            .leaderboard_opt_out_allowed
    {
        return Err(GamificationError::OptOutNotAllowed);
    }
    ledger::lock_balance(conn, actor.tenant_id, actor.user_id).await?;
    guild_db::sql(
        "UPDATE user_xp_balances SET leaderboard_hidden = $3, updated_at = now() \
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Bool, _>(hidden)
    .execute(conn)
    .await?;
    Ok(hidden)
}
