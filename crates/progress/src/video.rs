//! Video progress: what a member actually played of a VIDEO section.
//!
//! A player reports the intervals it played (`[[from, to], …]` in seconds), where it is now and
//! the video's duration. The watched share is the union of every interval ever reported over
//! the duration: overlaps count once and seeking ahead adds nothing, because only played
//! intervals are reported. The stored duration is the longest one reported, so a client cannot
//! shorten a video to finish it sooner. The position is where the member resumes.
//!
//! A new compliance cycle of the module (expiry, renewal: `crate::compliance`) archives the
//! member's progress on its videos ([`archive_member_module`]); only the active row counts.
//!
//! The tenant's `video_completion_percent` (default 90, 0 turns it off) is the share a member
//! must have watched before completing a VIDEO section: completing earlier is refused with 409
//! `video_not_watched` ([`check_watched`], called by [`crate::completion::complete_section`]).
//!
//! Bounds: a duration above 0 and at most [`MAX_DURATION_SECONDS`]; each interval within it with
//! `from < to`; at most [`MAX_INTERVALS`] intervals a report; the position within the duration.
//! The merged intervals kept per member and section are bounded by the same count: past it, the
//! closest gaps are closed first (counted as watched), which only a player seeking hundreds of
//! times over one video reaches.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::DecoratableTarget;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{sections, tenants, video_progress};
use guild_kernel::{Actor, FieldError};
use serde::Serialize;
use uuid::Uuid;

use crate::LearningError;
use guild_learning::access::visible_on;

/// The longest video, in seconds (a day).
pub const MAX_DURATION_SECONDS: f64 = 86_400.0;
/// Intervals in one report, and merged intervals kept.
pub const MAX_INTERVALS: usize = 200;

/// One report of a player.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Played intervals, `(from, to)` in seconds.
    pub intervals: Vec<(f64, f64)>,
    /// Where the player is now.
    pub position: f64,
    /// The video's duration.
    pub duration: f64,
}

/// A member's progress on one video.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VideoProgress {
    /// The section.
    pub section_id: Uuid,
    /// Its module.
    pub module_id: Uuid,
    /// The longest duration reported.
    pub duration_seconds: f64,
    /// The union of what was played, sorted and disjoint.
    pub watched: Vec<(f64, f64)>,
    /// Seconds of the union.
    pub watched_seconds: f64,
    /// The watched share, 0 to 100, rounded down.
    pub watched_percent: i32,
    /// Where to resume.
    pub position_seconds: f64,
    /// The tenant's share required to complete the section (0: none).
    pub required_percent: i32,
    /// Last report.
    pub updated_at: DateTime<Utc>,
}

/// The union of `intervals`: sorted, disjoint, touching ones joined.
pub fn merge(mut intervals: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    intervals.retain(|(from, to)| from < to);
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(intervals.len());
    for (from, to) in intervals {
        match out.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(to),
            _ => out.push((from, to)),
        }
    }
    out
}

/// Seconds covered by merged intervals.
pub fn covered(merged: &[(f64, f64)]) -> f64 {
    merged.iter().map(|(from, to)| to - from).sum()
}

/// The share of `duration` covered, 0 to 100, rounded down.
pub fn share(watched: f64, duration: f64) -> i32 {
    if duration <= 0.0 {
        return 0;
    }
    let percent = (watched / duration * 100.0).floor().clamp(0.0, 100.0);
    // Clamped to 0..=100 above, so the cast is exact.
    #[expect(clippy::cast_possible_truncation, reason = "clamped to 0..=100")]
    let percent = percent as i32;
    percent
}

/// Keeps at most `max` intervals by joining the closest neighbours first.
fn bound(mut merged: Vec<(f64, f64)>, max: usize) -> Vec<(f64, f64)> {
    while merged.len() > max.max(1) {
        let (at, _) = merged
            .windows(2)
            .enumerate()
            .map(|(i, w)| (i, w[1].0 - w[0].1))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap_or((0, 0.0));
        merged[at].1 = merged[at + 1].1;
        merged.remove(at + 1);
    }
    merged
}

fn check(report: &Report) -> Result<(), LearningError> {
    let mut errors = Vec::new();
    let finite = |x: f64| x.is_finite();
    if !finite(report.duration) || report.duration <= 0.0 || report.duration > MAX_DURATION_SECONDS
    {
        errors.push(FieldError::new(
            "duration",
            "range",
            "must be above 0 and at most 86400 seconds",
        ));
    }
    if !finite(report.position) || report.position < 0.0 || report.position > report.duration {
        errors.push(FieldError::new(
            "position",
            "range",
            "must be within the video (0 to its duration)",
        ));
    }
    if report.intervals.len() > MAX_INTERVALS {
        errors.push(FieldError::new(
            "intervals",
            "count",
            format!("at most {MAX_INTERVALS} intervals a report"),
        ));
    }
    for (i, (from, to)) in report.intervals.iter().enumerate() {
        if !finite(*from) || !finite(*to) || *from < 0.0 || from >= to || *to > report.duration {
            errors.push(FieldError::new(
                format!("intervals[{i}]"),
                "range",
                "each interval is [from, to] with 0 <= from < to <= duration",
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LearningError::Invalid(errors))
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = video_progress)]
struct Row {
    section_id: Uuid,
    module_id: Uuid,
    duration_seconds: f64,
    watched: serde_json::Value,
    position_seconds: f64,
    updated_at: DateTime<Utc>,
}

impl Row {
    fn view(self, required_percent: i32) -> VideoProgress {
        // Only this module writes the column, always from a `Vec<(f64, f64)>`.
        let watched: Vec<(f64, f64)> = serde_json::from_value(self.watched).unwrap_or_default();
        let watched_seconds = covered(&watched);
        VideoProgress {
            section_id: self.section_id,
            module_id: self.module_id,
            duration_seconds: self.duration_seconds,
            watched_percent: share(watched_seconds, self.duration_seconds),
            watched,
            watched_seconds,
            position_seconds: self.position_seconds,
            required_percent,
            updated_at: self.updated_at,
        }
    }
}

/// The member's active (not archived) progress row on a section.
fn active(
    tenant: Uuid,
    user: Uuid,
    section: Uuid,
) -> video_progress::BoxedQuery<'static, diesel::pg::Pg> {
    video_progress::table
        .filter(video_progress::tenant_id.eq(tenant))
        .filter(video_progress::user_id.eq(user))
        .filter(video_progress::section_id.eq(section))
        .filter(video_progress::archived_at.is_null())
        .into_boxed()
}

/// Archives a member's video progress on a module at `now`, for a new compliance cycle (their
/// next cycle starts unwatched; the archived rows stay as history).
pub(crate) async fn archive_member_module(
    conn: &mut AsyncPgConnection,
    tenant: Uuid,
    user: Uuid,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<usize, LearningError> {
    Ok(diesel::update(
        video_progress::table
            .filter(video_progress::tenant_id.eq(tenant))
            .filter(video_progress::user_id.eq(user))
            .filter(video_progress::module_id.eq(module))
            .filter(video_progress::archived_at.is_null()),
    )
    .set(video_progress::archived_at.eq(now))
    .execute(conn)
    .await?)
}

async fn required_percent(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<i32, LearningError> {
    Ok(tenants::table
        .find(actor.tenant_id.into_uuid())
        .select(tenants::video_completion_percent)
        .first(conn)
        .await?)
}

/// The VIDEO section `section` of a module the actor can see: its module, or 404
/// `section_not_found` (another tenant's, an invisible module's, a section of another kind).
async fn video_section(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
) -> Result<Uuid, LearningError> {
    let found: Option<(Uuid, String)> = sections::table
        .find((actor.tenant_id.into_uuid(), section))
        .select((sections::module_id, sections::kind))
        .first(conn)
        .await
        .optional()?;
    let Some((module, kind)) = found else {
        return Err(LearningError::SectionNotFound);
    };
    match visible_on(&*conn, actor, module).await {
        Ok(_) => {}
        Err(LearningError::ModuleNotFound) => return Err(LearningError::SectionNotFound),
        Err(e) => return Err(e),
    }
    if kind != "VIDEO" {
        return Err(LearningError::invalid(
            "section_id",
            "not_a_video",
            "only VIDEO sections record video progress",
        ));
    }
    Ok(module)
}

/// Records a report of the actor's player on a VIDEO section and answers the progress after it.
pub async fn report(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
    report: &Report,
    now: DateTime<Utc>,
) -> Result<VideoProgress, LearningError> {
    check(report)?;
    let module = video_section(conn, actor, section).await?;
    let tenant = actor.tenant_id.into_uuid();
    let user = actor.user_id.into_uuid();
    let current: Option<Row> = video_progress::table
        .filter(video_progress::tenant_id.eq(tenant))
        .filter(video_progress::user_id.eq(user))
        .filter(video_progress::section_id.eq(section))
        .filter(video_progress::archived_at.is_null())
        .select(Row::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (mut intervals, duration) = match current {
        Some(row) => (
            serde_json::from_value::<Vec<(f64, f64)>>(row.watched).unwrap_or_default(),
            row.duration_seconds.max(report.duration),
        ),
        None => (Vec::new(), report.duration),
    };
    intervals.extend(report.intervals.iter().copied());
    let merged = bound(merge(intervals), MAX_INTERVALS);
    let watched_seconds = covered(&merged);
    let watched = serde_json::to_value(&merged).unwrap_or_else(|_| serde_json::json!([]));
    let row: Row = diesel::insert_into(video_progress::table)
        .values((
            video_progress::tenant_id.eq(tenant),
            video_progress::user_id.eq(user),
            video_progress::section_id.eq(section),
            video_progress::module_id.eq(module),
            video_progress::duration_seconds.eq(duration),
            video_progress::watched.eq(&watched),
            video_progress::watched_seconds.eq(watched_seconds),
            video_progress::position_seconds.eq(report.position),
            video_progress::updated_at.eq(now),
            video_progress::id.eq(Uuid::now_v7()),
        ))
        .on_conflict((
            video_progress::tenant_id,
            video_progress::user_id,
            video_progress::section_id,
        ))
        .filter_target(video_progress::archived_at.is_null())
        .do_update()
        .set((
            video_progress::duration_seconds.eq(duration),
            video_progress::watched.eq(&watched),
            video_progress::watched_seconds.eq(watched_seconds),
            video_progress::position_seconds.eq(report.position),
            video_progress::updated_at.eq(now),
        ))
        .returning(Row::as_returning())
        .get_result(conn)
        .await?;
    crate::resume::record(conn, actor.tenant_id, actor.user_id, module, section, now).await?;
    let required = required_percent(conn, actor).await?;
    Ok(row.view(required))
}

/// The actor's progress on a VIDEO section (nothing watched yet: `None`). A section that is not
/// a video has no video progress to read: `SectionNotFound`, as one the actor cannot see.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
) -> Result<Option<VideoProgress>, LearningError> {
    match video_section(conn, actor, section).await {
        Ok(_) => {}
        Err(LearningError::Invalid(_)) => return Err(LearningError::SectionNotFound),
        Err(e) => return Err(e),
    }
    let required = required_percent(conn, actor).await?;
    let row: Option<Row> = active(
        actor.tenant_id.into_uuid(),
        actor.user_id.into_uuid(),
        section,
    )
    .select(Row::as_select())
    .first(conn)
    .await
    .optional()?;
    Ok(row.map(|r| r.view(required)))
}

/// Refuses completing `section` when it is a VIDEO section and the actor has watched less of it
/// than the tenant requires (409 `video_not_watched`).
pub async fn check_watched(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    section: Uuid,
) -> Result<(), LearningError> {
    let tenant = actor.tenant_id.into_uuid();
    let kind: String = sections::table
        .find((tenant, section))
        .select(sections::kind)
        .first(conn)
        .await?;
    if kind != "VIDEO" {
        return Ok(());
    }
    let required = required_percent(conn, actor).await?;
    if required == 0 {
        return Ok(());
    }
    let row: Option<(f64, f64)> = active(tenant, actor.user_id.into_uuid(), section)
        .select((
            video_progress::watched_seconds,
            video_progress::duration_seconds,
        ))
        .first(conn)
        .await
        .optional()?;
    let watched = row.map_or(0, |(w, d)| share(w, d));
    if watched < required {
        return Err(LearningError::VideoNotWatched { required, watched });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{bound, covered, merge, share};

    #[test]
    fn overlapping_intervals_count_once_and_skipped_ones_not_at_all() {
        // Played 0–30, rewatched 10–40, jumped to 90 and played to 100 of 100 s.
        let merged = merge(vec![(10.0, 40.0), (0.0, 30.0), (90.0, 100.0)]);
        assert_eq!(merged, [(0.0, 40.0), (90.0, 100.0)]);
        assert_eq!(covered(&merged), 50.0);
        assert_eq!(share(covered(&merged), 100.0), 50);
        // Touching intervals join; empty ones are dropped.
        assert_eq!(
            merge(vec![(0.0, 5.0), (5.0, 9.0), (3.0, 3.0)]),
            [(0.0, 9.0)]
        );
        assert_eq!(share(100.0, 100.0), 100);
        assert_eq!(share(89.99, 100.0), 89);
    }

    #[test]
    fn bounding_joins_the_closest_neighbours() {
        let kept = bound(vec![(0.0, 1.0), (1.5, 2.0), (10.0, 11.0)], 2);
        assert_eq!(kept, [(0.0, 2.0), (10.0, 11.0)]);
    }
}
