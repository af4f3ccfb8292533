//! Analytics (`/v1/analytics/…`): figures over the members a VIEW_ANALYTICS holder reaches
//! (tenant-wide, the granted groups' members, or the manager subtree, through
//! [`guild_kernel::member_scope`] and [`guild_db::scope`]), optionally one group of them, over a
//! period (the last 30 days by default, at most 366, as the dashboard's):
//!
//! - [`activity`]: active members per day, ISO week or month, from usage sessions;
//!   [`activity::completions`]: module completions per bucket.
//! - [`funnel`]: a module's opened → started → completed funnel and the median time to complete.
//! - [`quiz_items`]: per question of a quiz, the share answered correctly and, for choice
//!   questions, how often each option was chosen.
//! - [`events`]: live events' invited, registered, waitlisted and attended members.
//! - [`xp`]: the XP economy: earned, deducted, spent, held, released; balances now.
//!
//! Every figure counts only the **cohort**: the active members in scope (of the group, when one
//! is asked for), loaded once per request ([`cohort`]); each statement then filters on
//! `user_id = ANY(cohort)`. A member outside the scope never moves a figure. Other tenants' ids
//! (a module, a quiz, a group) are not found.

pub mod activity;
pub mod events;
pub mod funnel;
pub mod quiz_items;
pub mod xp;

use chrono::{DateTime, Datelike, Duration, Months, TimeZone, Utc};
use diesel_async::AsyncPgConnection;
use guild_kernel::{Actor, Permission, member_scope};
use uuid::Uuid;

use crate::AnalyticsError;
use crate::dashboard::{period_between, scoped_members};

/// What an analytics view covers.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnalyticsFilter {
    /// Only members of this group.
    pub group_id: Option<Uuid>,
    /// The period's start (inclusive); 30 days before `to` by default.
    pub from: Option<DateTime<Utc>>,
    /// The period's end (exclusive); now by default.
    pub to: Option<DateTime<Utc>>,
}

guild_kernel::string_enum!(
    /// The width of a time series' buckets (UTC).
    Granularity {
        /// Calendar days, from 00:00 UTC.
        Day => "DAY",
        /// ISO weeks, from Monday 00:00 UTC.
        Week => "WEEK",
        /// Calendar months, from the 1st 00:00 UTC.
        Month => "MONTH",
    }
);

impl Granularity {
    /// The start of the bucket holding `at`.
    pub fn start_of(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let date = at.date_naive();
        let day = match self {
            Self::Day => date,
            Self::Week => date - Duration::days(i64::from(date.weekday().num_days_from_monday())),
            Self::Month => date.with_day(1).unwrap_or(date),
        };
        Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(self, start: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::Day => start + Duration::days(1),
            Self::Week => start + Duration::days(7),
            Self::Month => start
                .checked_add_months(Months::new(1))
                .unwrap_or(start + Duration::days(31)),
        }
    }

    /// Every bucket's start from the one holding `from` while before `to`.
    pub fn buckets(self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut at = self.start_of(from);
        while at < to {
            out.push(at);
            at = self.next(at);
        }
        out
    }
}

/// The members a view counts and the period it covers.
#[derive(Debug, Clone)]
pub struct Cohort {
    /// The active members in scope (of the group, when asked for), by id.
    pub ids: Vec<Uuid>,
    /// The period's start.
    pub from: DateTime<Utc>,
    /// The period's end.
    pub to: DateTime<Utc>,
}

/// The cohort of `actor` for `filter` through `permission` (VIEW_ANALYTICS for the views,
/// EXPORT_REPORTS for the exports): 403 without it, 422 for a bad period, 404
/// `group_not_found` for a group not in the tenant. One round trip.
pub async fn cohort(
    conn: &AsyncPgConnection,
    actor: &Actor,
    permission: Permission,
    filter: &AnalyticsFilter,
    now: DateTime<Utc>,
) -> Result<Cohort, AnalyticsError> {
    let scope = member_scope(actor, &[permission])?;
    let (from, to) = period_between(filter.from, filter.to, now)?;
    let members = scoped_members(conn, actor, &scope, filter.group_id).await?;
    Ok(Cohort {
        ids: members.into_iter().map(|m| m.user_id).collect(),
        from,
        to,
    })
}

/// `part / whole`, rounded to four decimals; `None` when `whole` is 0.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| {
        let ratio = part as f64 / whole as f64;
        (ratio * 10_000.0).round() / 10_000.0
    })
}
