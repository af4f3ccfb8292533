//! Knowledge suggestions: members propose an idea (a title and a description), vote for it once
//! each, and discuss it in threaded comments; MANAGE_SUGGESTIONS holders approve, reject or
//! convert it into a DRAFT module.
//!
//! Owns `suggestions`, `suggestion_votes`, `suggestion_comments` and `suggestion_settings`.
//!
//! - **Anonymous**: an anonymous suggestion keeps its author in its row (they still hear of it
//!   and see it as theirs, `mine`), but nothing this module answers names them to anyone else —
//!   ADMIN and above included — and no event it publishes carries them; the audit log records
//!   who wrote it. Comments are never anonymous.
//! - **Votes**: one per member (`PUT` again changes nothing), never for one's own suggestion
//!   (403 `cannot_vote_own_suggestion`), only while it is OPEN or APPROVED (409
//!   `suggestion_closed`). `vote_count` moves only when a vote row was really added or removed,
//!   in the same transaction, under the suggestion row's lock: it equals the rows however many
//!   vote at once. The first time the count reaches the tenant's threshold
//!   ([`Settings::popularity_threshold`], 5 by default) a conditional update sets `popular_at`
//!   (once, whoever wins the race) and publishes [`SuggestionPopular`]: the api layer notifies the
//!   MANAGE_SUGGESTIONS holders and awards the author TOP_SUGGESTION XP, once each.
//! - **Review**: OPEN → APPROVED or REJECTED, APPROVED → REJECTED, OPEN or APPROVED → CONVERTED
//!   (by [`convert`]), with a reason, by MANAGE_SUGGESTIONS holders and never on their own
//!   suggestion (403 `cannot_review_own_suggestion`); [`SuggestionStatusChanged`] tells the author
//!   and the voters.
//! - **Convert**: a reviewer who may also create modules turns the suggestion into a DRAFT module
//!   through `guild_learning::modules::create` and `sections::create` (the description becomes its
//!   first section); `suggestions.module_id` links it (unique: a module comes from one suggestion
//!   at most). When that module is first published, [`knowledge_ready`] answers the voters once.
//!
//! Every member of the tenant sees every suggestion; who hears of a change on the stream is
//! bounded: the author, the voters and the commenters ([`audience`], at most [`MAX_FANOUT`]).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    suggestion_comments as sc, suggestion_settings as ss, suggestion_votes as sv, suggestions as s,
};
use guild_kernel::{
    Actor, DomainEvent, Page, PageRequest, Permission, Target, TenantId, TenantRole, UserId,
    authorize,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::SocialError;
use crate::input::{after_rank, after_time, rank_cursor, text, time_cursor};
use crate::reactions::{self, Count, TargetKind};

/// The longest title.
pub const MAX_TITLE: usize = 200;
/// The longest description.
pub const MAX_DESCRIPTION: usize = 10_000;
/// The longest reason for a status change.
pub const MAX_REASON: usize = 500;
/// The longest comment.
pub const MAX_COMMENT: usize = 5_000;
/// How many OPEN suggestions one member may have at once.
pub const MAX_OPEN_PER_MEMBER: i64 = 20;
/// How many comments one suggestion holds.
pub const MAX_COMMENTS: i64 = 1_000;
/// The popularity threshold of a tenant that never set one.
pub const DEFAULT_THRESHOLD: i32 = 5;
/// The highest popularity threshold.
pub const MAX_THRESHOLD: i32 = 10_000;
/// "Trending" counts the votes of this many last days.
pub const TRENDING_DAYS: i64 = 7;
/// The most members one change of a suggestion is pushed to.
pub const MAX_FANOUT: i64 = 500;

guild_kernel::string_enum!(
    /// Where a suggestion is in its review.
    SuggestionStatus {
        /// Proposed, open for votes.
        Open => "OPEN",
        /// A reviewer agreed it should be done.
        Approved => "APPROVED",
        /// A reviewer decided against it.
        Rejected => "REJECTED",
        /// Turned into a module.
        Converted => "CONVERTED",
    }
);

impl SuggestionStatus {
    /// Votes change only while it is OPEN or APPROVED.
    pub fn takes_votes(self) -> bool {
        matches!(self, Self::Open | Self::Approved)
    }
}

/// How a list of suggestions is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Most votes first.
    #[default]
    Top,
    /// Newest first.
    New,
    /// Most votes in the last [`TRENDING_DAYS`] days first.
    Trending,
}

/// A new suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSuggestion {
    /// One line.
    pub title: String,
    /// The idea (plain text).
    pub description: String,
    /// Shown to nobody as its author.
    pub anonymous: bool,
}

/// Who wrote a suggestion that is not anonymous.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Their id.
    pub id: Uuid,
    /// Their name.
    pub name: String,
}

/// A suggestion as the asking member sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Its id.
    pub id: Uuid,
    /// Its author; `None` when it is anonymous (for everyone, its author included).
    pub author: Option<Author>,
    /// Anonymous.
    pub anonymous: bool,
    /// The asking member wrote it.
    pub mine: bool,
    /// One line.
    pub title: String,
    /// The idea.
    pub description: String,
    /// Where it is in its review.
    pub status: SuggestionStatus,
    /// The reviewer's reason (absent while OPEN).
    pub status_reason: Option<String>,
    /// When its status last changed.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Votes.
    pub vote_count: i32,
    /// Votes of the last [`TRENDING_DAYS`] days.
    pub recent_votes: i64,
    /// The asking member voted for it.
    pub voted: bool,
    /// When it first reached the popularity threshold.
    pub popular_at: Option<DateTime<Utc>>,
    /// The module it was converted into.
    pub module_id: Option<Uuid>,
    /// Comments (not deleted).
    pub comment_count: i64,
    /// When it was proposed.
    pub created_at: DateTime<Utc>,
    /// Its reactions.
    pub reactions: Vec<Count>,
}

/// A comment on a suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Its id.
    pub id: Uuid,
    /// The suggestion.
    pub suggestion_id: Uuid,
    /// The comment it answers.
    pub parent_id: Option<Uuid>,
    /// Who wrote it (`None` once deleted).
    pub author: Option<Author>,
    /// The asking member wrote it.
    pub mine: bool,
    /// The text (empty once deleted).
    pub body: String,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When its author last changed it.
    pub edited_at: Option<DateTime<Utc>>,
    /// Deleted (a tombstone, so its replies keep their place).
    pub deleted: bool,
}

/// A tenant's suggestion settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Votes that make a suggestion popular.
    pub popularity_threshold: i32,
}

/// A suggestion's votes changed: the api layer pushes the new count to its [`audience`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionVoted {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The suggestion.
    pub suggestion_id: Uuid,
    /// The count after the change.
    pub vote_count: i32,
}

impl DomainEvent for SuggestionVoted {
    const KIND: &'static str = "social.suggestion_voted";
}

/// A suggestion first reached the popularity threshold: the api layer notifies the
/// MANAGE_SUGGESTIONS holders and awards its author TOP_SUGGESTION XP (it looks the author up:
/// the event does not name them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionPopular {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The suggestion.
    pub suggestion_id: Uuid,
}

impl DomainEvent for SuggestionPopular {
    const KIND: &'static str = "social.suggestion_popular";
}

/// A reviewer changed a suggestion's status: its author and voters are notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionStatusChanged {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The suggestion.
    pub suggestion_id: Uuid,
    /// The new status.
    pub status: SuggestionStatus,
    /// The reviewer (not notified of their own decision).
    pub by: Uuid,
}

impl DomainEvent for SuggestionStatusChanged {
    const KIND: &'static str = "social.suggestion_status_changed";
}

/// A comment was written on a suggestion: the api layer pushes it to its [`audience`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionCommented {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The suggestion.
    pub suggestion_id: Uuid,
    /// The comment.
    pub comment_id: Uuid,
    /// The comment it answers.
    pub parent_id: Option<Uuid>,
    /// Its author (comments are not anonymous).
    pub author_id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
}

impl DomainEvent for SuggestionCommented {
    const KIND: &'static str = "social.suggestion_commented";
}

/// Who may read suggestions: members (a VIEWER too), and API keys holding MANAGE_SUGGESTIONS.
fn check_reader(actor: &Actor) -> Result<(), SocialError> {
    if actor.acts_as_member()
        || authorize(actor, Permission::ManageSuggestions, Target::Tenant).is_ok()
    {
        Ok(())
    } else {
        Err(SocialError::Forbidden)
    }
}

/// Who reviews: MANAGE_SUGGESTIONS holders (ADMIN and above by role, others by grant).
fn check_reviewer(actor: &Actor) -> Result<(), SocialError> {
    authorize(actor, Permission::ManageSuggestions, Target::Tenant)
        .map_err(|_| SocialError::Forbidden)
}

fn not_found() -> SocialError {
    SocialError::NotFound("suggestion_not_found")
}

/// The tenant's settings (the defaults without a row).
pub async fn settings(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Settings, SocialError> {
    let threshold: Option<i32> = ss::table
        .find(tenant.into_uuid())
        .select(ss::popularity_threshold)
        .first(conn)
        .await
        .optional()?;
    Ok(Settings {
        popularity_threshold: threshold.unwrap_or(DEFAULT_THRESHOLD),
    })
}

/// Reads the settings (any reader of suggestions).
pub async fn get_settings(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<Settings, SocialError> {
    check_reader(actor)?;
    settings(conn, actor.tenant_id).await
}

/// Changes the popularity threshold (MANAGE_SUGGESTIONS), audited. Suggestions already popular
/// stay so; the others become popular at their next vote that reaches it.
pub async fn update_settings(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    popularity_threshold: i32,
    now: DateTime<Utc>,
) -> Result<Settings, SocialError> {
    check_reviewer(actor)?;
    if !(1..=MAX_THRESHOLD).contains(&popularity_threshold) {
        return Err(SocialError::invalid(
            "popularity_threshold",
            "range",
            &format!("must be 1 to {MAX_THRESHOLD}"),
        ));
    }
    diesel::insert_into(ss::table)
        .values((
            ss::tenant_id.eq(actor.tenant_id.into_uuid()),
            ss::popularity_threshold.eq(popularity_threshold),
            ss::updated_at.eq(now),
        ))
        .on_conflict(ss::tenant_id)
        .do_update()
        .set((
            ss::popularity_threshold.eq(popularity_threshold),
            ss::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "suggestion.settings_changed",
        "suggestion_settings",
        None,
        serde_json::json!({ "popularity_threshold": popularity_threshold }),
    )
    .await?;
    settings(conn, actor.tenant_id).await
}

/// Proposes a suggestion (a member acting for themselves, not a VIEWER); at most
/// [`MAX_OPEN_PER_MEMBER`] OPEN at once (409 `suggestion_limit_reached`). The audit log records
/// the author, anonymous or not.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &NewSuggestion,
    now: DateTime<Utc>,
) -> Result<Suggestion, SocialError> {
    reactions::check_member(actor)?;
    let title = text("title", &input.title, MAX_TITLE)?;
    let description = text("description", &input.description, MAX_DESCRIPTION)?;
    let tenant = actor.tenant_id.into_uuid();
    let author = actor.user_id.into_uuid();
    let open: i64 = s::table
        .filter(s::tenant_id.eq(tenant))
        .filter(s::author_id.eq(author))
        .filter(s::status.eq(SuggestionStatus::Open.as_str()))
        .count()
        .get_result(conn)
        .await?;
    if open >= MAX_OPEN_PER_MEMBER {
        return Err(SocialError::SuggestionLimitReached);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(s::table)
        .values((
            s::tenant_id.eq(tenant),
            s::id.eq(id),
            s::author_id.eq(author),
            s::anonymous.eq(input.anonymous),
            s::title.eq(&title),
            s::description.eq(&description),
            s::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "suggestion.created",
        "suggestion",
        Some(id.to_string()),
        serde_json::json!({ "anonymous": input.anonymous }),
    )
    .await?;
    get_row(conn, actor, id, now).await
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    author_name: String,
    #[diesel(sql_type = Bool)]
    anonymous: bool,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    status_reason: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    status_changed_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    vote_count: i32,
    #[diesel(sql_type = BigInt)]
    recent_votes: i64,
    #[diesel(sql_type = Bool)]
    voted: bool,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    popular_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    module_id: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    comment_count: i64,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    rank: i64,
}

/// `$1` tenant, `$2` the asking member, `$3` the start of the trending window. `rank` is what a
/// list sorts by (0 for `new`), chosen by `{rank}`.
fn select(rank: &str) -> String {
    format!(
        "SELECT s.id, s.author_id, coalesce(u.name, '') AS author_name, s.anonymous, s.title, \
            s.description, s.status, s.status_reason, s.status_changed_at, s.vote_count, \
            (SELECT count(*) FROM suggestion_votes v WHERE v.tenant_id = s.tenant_id \
               AND v.suggestion_id = s.id AND v.created_at > $3) AS recent_votes, \
            EXISTS (SELECT 1 FROM suggestion_votes v WHERE v.tenant_id = s.tenant_id \
               AND v.suggestion_id = s.id AND v.user_id = $2) AS voted, \
            s.popular_at, s.module_id, \
            (SELECT count(*) FROM suggestion_comments c WHERE c.tenant_id = s.tenant_id \
               AND c.suggestion_id = s.id AND c.deleted_at IS NULL) AS comment_count, \
            s.created_at, {rank} AS rank \
         FROM suggestions s LEFT JOIN users u ON u.id = s.author_id"
    )
}

impl Row {
    fn into_suggestion(self, actor: &Actor, reactions: Vec<Count>) -> Suggestion {
        let mine = actor.acts_as_member() && self.author_id == actor.user_id.into_uuid();
        Suggestion {
            author: (!self.anonymous).then_some(Author {
                id: self.author_id,
                name: self.author_name,
            }),
            anonymous: self.anonymous,
            mine,
            id: self.id,
            title: self.title,
            description: self.description,
            status: self.status.parse().unwrap_or(SuggestionStatus::Open),
            status_reason: self.status_reason,
            status_changed_at: self.status_changed_at,
            vote_count: self.vote_count,
            recent_votes: self.recent_votes,
            voted: self.voted,
            popular_at: self.popular_at,
            module_id: self.module_id,
            comment_count: self.comment_count,
            created_at: self.created_at,
            reactions,
        }
    }
}

fn window(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(TRENDING_DAYS)
}

async fn get_row(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Suggestion, SocialError> {
    let row: Option<Row> = guild_db::sql(format!(
        "{} WHERE s.tenant_id = $1 AND s.id = $4",
        select("0::bigint")
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(window(now))
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    let row = row.ok_or_else(not_found)?;
    let reactions = reactions::counts(conn, actor, TargetKind::Suggestion, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    Ok(row.into_suggestion(actor, reactions))
}

/// A suggestion (any reader; 404 `suggestion_not_found` for another tenant's).
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Suggestion, SocialError> {
    check_reader(actor)?;
    get_row(conn, actor, id, now).await
}

/// Checks that the suggestion exists in the actor's tenant and they may read it (404
/// `suggestion_not_found` otherwise).
pub async fn visible_to(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(), SocialError> {
    check_reader(actor)?;
    let found: bool = diesel::select(diesel::dsl::exists(
        s::table.find((actor.tenant_id.into_uuid(), id)),
    ))
    .get_result(conn)
    .await?;
    if found { Ok(()) } else { Err(not_found()) }
}

/// What a list shows and in which order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Filter {
    /// The order.
    pub sort: Sort,
    /// Only suggestions of this status.
    pub status: Option<SuggestionStatus>,
}

/// The tenant's suggestions, a page at a time, in the filter's order (ties: newest first).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filter: Filter,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<Page<Suggestion>, SocialError> {
    check_reader(actor)?;
    let limit = page.limit();
    let after = after_rank(page)?;
    let rank = match filter.sort {
        Sort::Top => "s.vote_count::bigint",
        Sort::New => "0::bigint",
        Sort::Trending => {
            "(SELECT count(*) FROM suggestion_votes v WHERE v.tenant_id = s.tenant_id \
               AND v.suggestion_id = s.id AND v.created_at > $3)"
        }
    };
    let rows: Vec<Row> = guild_db::sql(format!(
        "SELECT * FROM ({} WHERE s.tenant_id = $1 AND ($4::text IS NULL OR s.status = $4)) q \
         WHERE ($5::bigint IS NULL OR (q.rank, q.created_at, q.id) < ($5, $6, $7)) \
         ORDER BY q.rank DESC, q.created_at DESC, q.id DESC LIMIT $8",
        select(rank)
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Timestamptz, _>(window(now))
    .bind::<Nullable<Text>, _>(filter.status.map(SuggestionStatus::as_str))
    .bind::<Nullable<BigInt>, _>(after.map(|a| a.0))
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.1))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.2))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut counts = reactions::counts(conn, actor, TargetKind::Suggestion, &ids).await?;
    let items: Vec<(i64, Suggestion)> = rows
        .into_iter()
        .map(|r| {
            let reactions = counts.remove(&r.id).unwrap_or_default();
            (r.rank, r.into_suggestion(actor, reactions))
        })
        .collect();
    let page = Page::from_overfetch(items, limit, |(rank, x): &(i64, Suggestion)| {
        rank_cursor(*rank, x.created_at, x.id)
    });
    Ok(Page {
        data: page.data.into_iter().map(|(_, x)| x).collect(),
        next_cursor: page.next_cursor,
    })
}

/// The suggestion's author, anonymity and status, its row locked for the rest of the transaction.
async fn lock(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(Uuid, SuggestionStatus), SocialError> {
    let row: Option<(Uuid, String)> = s::table
        .find((actor.tenant_id.into_uuid(), id))
        .select((s::author_id, s::status))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (author, status) = row.ok_or_else(not_found)?;
    Ok((author, status.parse().unwrap_or(SuggestionStatus::Open)))
}

/// The suggestion's author and status, unlocked.
async fn peek(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<(Uuid, SuggestionStatus), SocialError> {
    let row: Option<(Uuid, String)> = s::table
        .find((actor.tenant_id.into_uuid(), id))
        .select((s::author_id, s::status))
        .first(conn)
        .await
        .optional()?;
    let (author, status) = row.ok_or_else(not_found)?;
    Ok((author, status.parse().unwrap_or(SuggestionStatus::Open)))
}

/// Votes for a suggestion (once: voting again changes nothing); answers it.
pub async fn vote(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Suggestion, SocialError> {
    reactions::check_member(actor)?;
    let tenant = actor.tenant_id.into_uuid();
    let me = actor.user_id.into_uuid();
    let (author, status) = peek(conn, actor, id).await?;
    if author == me {
        return Err(SocialError::CannotVoteOwnSuggestion);
    }
    if !status.takes_votes() {
        return Err(SocialError::SuggestionClosed);
    }
    let added = diesel::insert_into(sv::table)
        .values((
            sv::tenant_id.eq(tenant),
            sv::suggestion_id.eq(id),
            sv::user_id.eq(me),
            sv::created_at.eq(now),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    if added == 1 {
        let count: i32 = diesel::update(s::table.find((tenant, id)))
            .set(s::vote_count.eq(s::vote_count + 1))
            .returning(s::vote_count)
            .get_result(conn)
            .await?;
        let threshold = settings(conn, actor.tenant_id).await?.popularity_threshold;
        // Set once, by whichever vote first finds the count at the threshold: the row is locked
        // by the update above until this transaction ends, so racing votes come here in turn.
        let became_popular = count >= threshold
            && diesel::update(s::table.find((tenant, id)).filter(s::popular_at.is_null()))
                .set(s::popular_at.eq(Some(now)))
                .execute(conn)
                .await?
                == 1;
        if became_popular {
            guild_db::outbox::publish(
                conn,
                Some(actor.tenant_id),
                &SuggestionPopular {
                    tenant_id: tenant,
                    suggestion_id: id,
                },
            )
            .await?;
        }
        voted(conn, actor, id, count).await?;
    }
    get_row(conn, actor, id, now).await
}

/// Takes back one's vote (taking back none changes nothing); answers the suggestion.
pub async fn unvote(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Suggestion, SocialError> {
    reactions::check_member(actor)?;
    let tenant = actor.tenant_id.into_uuid();
    let (_, status) = peek(conn, actor, id).await?;
    if !status.takes_votes() {
        return Err(SocialError::SuggestionClosed);
    }
    let removed = diesel::delete(sv::table.find((tenant, id, actor.user_id.into_uuid())))
        .execute(conn)
        .await?;
    if removed == 1 {
        let count: i32 = diesel::update(s::table.find((tenant, id)))
            .set(s::vote_count.eq(s::vote_count - 1))
            .returning(s::vote_count)
            .get_result(conn)
            .await?;
        voted(conn, actor, id, count).await?;
    }
    get_row(conn, actor, id, now).await
}

async fn voted(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    count: i32,
) -> Result<(), SocialError> {
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &SuggestionVoted {
            tenant_id: actor.tenant_id.into_uuid(),
            suggestion_id: id,
            vote_count: count,
        },
    )
    .await?;
    Ok(())
}

/// Changes a suggestion's status to APPROVED or REJECTED with a reason (MANAGE_SUGGESTIONS, never
/// on one's own suggestion); CONVERTED only through [`convert`].
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    status: SuggestionStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Suggestion, SocialError> {
    check_reviewer(actor)?;
    let (author, from) = lock(conn, actor, id).await?;
    if author == actor.user_id.into_uuid() {
        return Err(SocialError::CannotReviewOwnSuggestion);
    }
    let reason = text("reason", reason, MAX_REASON)?;
    use SuggestionStatus::{Approved, Open, Rejected};
    match (from, status) {
        (Open, Approved) | (Open | Approved, Rejected) => {}
        (_, SuggestionStatus::Converted | Open) => {
            return Err(SocialError::invalid(
                "status",
                "invalid",
                "APPROVED or REJECTED (convert a suggestion to make it CONVERTED)",
            ));
        }
        _ => return Err(SocialError::InvalidTransition),
    }
    review(conn, actor, id, (from, status), &reason, None, now).await?;
    get_row(conn, actor, id, now).await
}

/// Records a review decision (`from` → `status`), audited, and tells whom it concerns.
async fn review(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    (from, status): (SuggestionStatus, SuggestionStatus),
    reason: &str,
    module: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), SocialError> {
    let tenant = actor.tenant_id.into_uuid();
    diesel::update(s::table.find((tenant, id)))
        .set((
            s::status.eq(status.as_str()),
            s::status_reason.eq(Some(reason)),
            s::status_changed_at.eq(Some(now)),
            s::status_changed_by.eq(Some(actor.user_id.into_uuid())),
            s::module_id.eq(module),
        ))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "suggestion.status_changed",
        "suggestion",
        Some(id.to_string()),
        serde_json::json!({ "from": from, "to": status, "reason": reason, "module_id": module }),
    )
    .await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &SuggestionStatusChanged {
            tenant_id: tenant,
            suggestion_id: id,
            status,
            by: actor.user_id.into_uuid(),
        },
    )
    .await?;
    Ok(())
}

/// What converting made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    /// The suggestion, now CONVERTED.
    pub suggestion: Suggestion,
    /// The new DRAFT module.
    pub module_id: Uuid,
    /// Its first section, the suggestion's text.
    pub section_id: Uuid,
}

/// `text` as HTML paragraphs, escaped.
fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let escaped = p
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
                .replace('\n', "<br>");
            format!("<p>{escaped}</p>")
        })
        .collect()
}

/// Converts an OPEN or APPROVED suggestion into a DRAFT module (its title and description, and a
/// first section with its text) as a MANAGE_SUGGESTIONS holder who may create modules (403
/// otherwise), never one's own; the suggestion becomes CONVERTED with `reason` (a default when
/// absent) and names the module.
pub async fn convert(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Converted, SocialError> {
    check_reviewer(actor)?;
    let (author, from) = lock(conn, actor, id).await?;
    if author == actor.user_id.into_uuid() {
        return Err(SocialError::CannotReviewOwnSuggestion);
    }
    if !from.takes_votes() {
        return Err(SocialError::InvalidTransition);
    }
    let reason = match reason {
        Some(r) => text("reason", r, MAX_REASON)?,
        None => "Converted into a module".to_owned(),
    };
    let (title, description): (String, String) = s::table
        .find((actor.tenant_id.into_uuid(), id))
        .select((s::title, s::description))
        .first(conn)
        .await?;
    let module = guild_learning::modules::create(
        conn,
        actor,
        &guild_learning::modules::ModuleInput {
            title: Some(title.clone()),
            description: Some(description.clone()),
            ..Default::default()
        },
    )
    .await?;
    let section = guild_learning::sections::create(
        conn,
        actor,
        module.row.id,
        &guild_learning::sections::SectionInput {
            title: Some(title),
            kind: Some(guild_learning::sections::SectionKind::Text),
            content_html: Some(paragraphs(&description)),
            video: None,
        },
        now,
    )
    .await?;
    review(
        conn,
        actor,
        id,
        (from, SuggestionStatus::Converted),
        &reason,
        Some(module.row.id),
        now,
    )
    .await?;
    Ok(Converted {
        suggestion: get_row(conn, actor, id, now).await?,
        module_id: module.row.id,
        section_id: section.id,
    })
}

#[derive(QueryableByName)]
struct CommentRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    suggestion_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    parent_id: Option<Uuid>,
    #[diesel(sql_type = SqlUuid)]
    author_id: Uuid,
    #[diesel(sql_type = Text)]
    author_name: String,
    #[diesel(sql_type = Text)]
    body: String,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    edited_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    deleted_at: Option<DateTime<Utc>>,
}

const COMMENT_COLUMNS: &str = "c.id, c.suggestion_id, c.parent_id, c.author_id, \
     coalesce(u.name, '') AS author_name, c.body, c.created_at, c.edited_at, c.deleted_at \
     FROM suggestion_comments c LEFT JOIN users u ON u.id = c.author_id";

impl CommentRow {
    fn into_comment(self, actor: &Actor) -> Comment {
        let deleted = self.deleted_at.is_some();
        Comment {
            mine: actor.acts_as_member() && self.author_id == actor.user_id.into_uuid(),
            author: (!deleted).then_some(Author {
                id: self.author_id,
                name: self.author_name,
            }),
            id: self.id,
            suggestion_id: self.suggestion_id,
            parent_id: self.parent_id,
            body: self.body,
            created_at: self.created_at,
            edited_at: self.edited_at,
            deleted,
        }
    }
}

async fn comment_row(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    suggestion: Uuid,
    id: Uuid,
) -> Result<CommentRow, SocialError> {
    let row: Option<CommentRow> = guild_db::sql(format!(
        "SELECT {COMMENT_COLUMNS} WHERE c.tenant_id = $1 AND c.suggestion_id = $2 AND c.id = $3"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(suggestion)
    .bind::<SqlUuid, _>(id)
    .get_result(conn)
    .await
    .optional()?;
    row.ok_or(SocialError::NotFound("comment_not_found"))
}

/// A suggestion's comments, oldest first, a page at a time (replies name their parent; deleted
/// ones are tombstones).
pub async fn comments(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    suggestion: Uuid,
    page: &PageRequest,
) -> Result<Page<Comment>, SocialError> {
    visible_to(conn, actor, suggestion).await?;
    let limit = page.limit();
    let after = after_time(page)?;
    let rows: Vec<CommentRow> = guild_db::sql(format!(
        "SELECT {COMMENT_COLUMNS} WHERE c.tenant_id = $1 AND c.suggestion_id = $2 \
           AND ($3::timestamptz IS NULL OR (c.created_at, c.id) > ($3, $4)) \
         ORDER BY c.created_at, c.id LIMIT $5"
    ))
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(suggestion)
    .bind::<Nullable<Timestamptz>, _>(after.map(|a| a.0))
    .bind::<Nullable<SqlUuid>, _>(after.map(|a| a.1))
    .bind::<BigInt, _>(i64::from(limit) + 1)
    .load(conn)
    .await?;
    let items: Vec<Comment> = rows.into_iter().map(|r| r.into_comment(actor)).collect();
    Ok(Page::from_overfetch(items, limit, |c: &Comment| {
        time_cursor(c.created_at, c.id)
    }))
}

/// Comments on a suggestion (a member, not a VIEWER), optionally answering one of its comments
/// (404 `comment_not_found` for another suggestion's or a deleted one); at most
/// [`MAX_COMMENTS`] (409 `suggestion_comments_full`).
pub async fn comment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    suggestion: Uuid,
    parent: Option<Uuid>,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Comment, SocialError> {
    reactions::check_member(actor)?;
    let tenant = actor.tenant_id.into_uuid();
    // The suggestion's row lock keeps the count under its cap when comments race.
    lock(conn, actor, suggestion).await?;
    let body = text("body", body, MAX_COMMENT)?;
    if let Some(parent) = parent {
        let row = comment_row(conn, actor, suggestion, parent).await?;
        if row.deleted_at.is_some() {
            return Err(SocialError::NotFound("comment_not_found"));
        }
    }
    let count: i64 = sc::table
        .filter(sc::tenant_id.eq(tenant))
        .filter(sc::suggestion_id.eq(suggestion))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_COMMENTS {
        return Err(SocialError::CommentsFull);
    }
    let id = Uuid::now_v7();
    diesel::insert_into(sc::table)
        .values((
            sc::tenant_id.eq(tenant),
            sc::id.eq(id),
            sc::suggestion_id.eq(suggestion),
            sc::parent_id.eq(parent),
            sc::author_id.eq(actor.user_id.into_uuid()),
            sc::body.eq(&body),
            sc::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &SuggestionCommented {
            tenant_id: tenant,
            suggestion_id: suggestion,
            comment_id: id,
            parent_id: parent,
            author_id: actor.user_id.into_uuid(),
            at: now,
        },
    )
    .await?;
    Ok(comment_row(conn, actor, suggestion, id)
        .await?
        .into_comment(actor))
}

/// Changes one's own comment (403 `forbidden` for anyone else's; 404 once deleted).
pub async fn edit_comment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    suggestion: Uuid,
    id: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> Result<Comment, SocialError> {
    reactions::check_member(actor)?;
    visible_to(conn, actor, suggestion).await?;
    let row = comment_row(conn, actor, suggestion, id).await?;
    if row.deleted_at.is_some() {
        return Err(SocialError::NotFound("comment_not_found"));
    }
    if row.author_id != actor.user_id.into_uuid() {
        return Err(SocialError::Forbidden);
    }
    let body = text("body", body, MAX_COMMENT)?;
    diesel::update(sc::table.find((actor.tenant_id.into_uuid(), id)))
        .set((sc::body.eq(&body), sc::edited_at.eq(Some(now))))
        .execute(conn)
        .await?;
    Ok(comment_row(conn, actor, suggestion, id)
        .await?
        .into_comment(actor))
}

/// Deletes a comment: its author, or a MANAGE_SUGGESTIONS holder (moderation, audited). It stays
/// as a tombstone without its text or author; deleting it again changes nothing.
pub async fn delete_comment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    suggestion: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), SocialError> {
    visible_to(conn, actor, suggestion).await?;
    let row = comment_row(conn, actor, suggestion, id).await?;
    let own = actor.acts_as_member()
        && !actor.impersonating
        && row.author_id == actor.user_id.into_uuid();
    if !own {
        check_reviewer(actor)?;
    }
    if row.deleted_at.is_some() {
        return Ok(());
    }
    diesel::update(sc::table.find((actor.tenant_id.into_uuid(), id)))
        .set((
            sc::body.eq(""),
            sc::deleted_at.eq(Some(now)),
            sc::deleted_by.eq(Some(actor.user_id.into_uuid())),
        ))
        .execute(conn)
        .await?;
    if !own {
        guild_db::audit::record(
            conn,
            actor,
            "suggestion.comment_deleted",
            "suggestion_comment",
            Some(id.to_string()),
            serde_json::json!({ "suggestion_id": suggestion, "author_id": row.author_id }),
        )
        .await?;
    }
    Ok(())
}

#[derive(QueryableByName)]
struct Member {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
}

/// Who hears of a suggestion's changes: its author first, then its voters and commenters, active
/// members only, at most [`MAX_FANOUT`].
pub async fn audience(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    let rows: Vec<Member> = guild_db::sql(
        "SELECT p.user_id FROM ( \
             SELECT author_id AS user_id, true AS author FROM suggestions \
              WHERE tenant_id = $1 AND id = $2 \
             UNION SELECT user_id, false FROM suggestion_votes \
              WHERE tenant_id = $1 AND suggestion_id = $2 \
             UNION SELECT author_id, false FROM suggestion_comments \
              WHERE tenant_id = $1 AND suggestion_id = $2 \
         ) p JOIN memberships m ON m.tenant_id = $1 AND m.user_id = p.user_id \
         WHERE m.status = 'ACTIVE' \
         GROUP BY p.user_id ORDER BY bool_or(p.author) DESC, p.user_id LIMIT $3",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(id)
    .bind::<BigInt, _>(MAX_FANOUT)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// The active members who hold MANAGE_SUGGESTIONS tenant-wide: by role, or by an unscoped grant.
pub async fn reviewers(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
) -> Result<Vec<Uuid>, SocialError> {
    let roles: Vec<&str> = TenantRole::ALL
        .iter()
        .filter(|r| {
            r.bypasses_checks()
                || r.default_permissions()
                    .contains(&Permission::ManageSuggestions)
        })
        .map(|r| r.as_str())
        .collect();
    let rows: Vec<Member> = guild_db::sql(
        "SELECT m.user_id FROM memberships m \
         WHERE m.tenant_id = $1 AND m.status = 'ACTIVE' AND (m.role = ANY($2) OR EXISTS ( \
             SELECT 1 FROM user_permissions p WHERE p.tenant_id = m.tenant_id \
                AND p.user_id = m.user_id AND p.permission = 'MANAGE_SUGGESTIONS' \
                AND p.scope = '{}'::jsonb)) \
         ORDER BY m.user_id",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<Array<Text>, _>(&roles)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|r| r.user_id).collect())
}

/// What the worker tells of a suggestion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Its title.
    pub title: String,
    /// Its author (never shown to anyone else when anonymous: the worker only notifies them and
    /// awards their XP).
    pub author_id: Uuid,
    /// Its status.
    pub status: SuggestionStatus,
    /// The reviewer's reason.
    pub reason: Option<String>,
    /// Its votes.
    pub vote_count: i32,
    /// The module it became.
    pub module_id: Option<Uuid>,
}

/// The suggestion for its notifications; `None` once it is gone.
pub async fn notice(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Option<Notice>, SocialError> {
    type NoticeRow = (String, Uuid, String, Option<String>, i32, Option<Uuid>);
    let row: Option<NoticeRow> = s::table
        .find((tenant.into_uuid(), id))
        .select((
            s::title,
            s::author_id,
            s::status,
            s::status_reason,
            s::vote_count,
            s::module_id,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map(
        |(title, author_id, status, reason, vote_count, module_id)| Notice {
            title,
            author_id,
            status: status.parse().unwrap_or(SuggestionStatus::Open),
            reason,
            vote_count,
            module_id,
        },
    ))
}

/// The suggestion's voters, in user order.
pub async fn voters(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<Uuid>, SocialError> {
    Ok(sv::table
        .filter(sv::tenant_id.eq(tenant.into_uuid()))
        .filter(sv::suggestion_id.eq(id))
        .order(sv::user_id.asc())
        .select(sv::user_id)
        .load(conn)
        .await?)
}

/// A module converted from a suggestion was published: the first time, answers the suggestion
/// (id and title) and its voters who may see the module (marking it told, so never again);
/// `None` for any other module, or after the first time.
pub async fn knowledge_ready(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<(Uuid, String, Vec<Uuid>)>, SocialError> {
    let row: Option<(Uuid, String)> = diesel::update(
        s::table
            .filter(s::tenant_id.eq(tenant.into_uuid()))
            .filter(s::module_id.eq(module))
            .filter(s::knowledge_notified_at.is_null()),
    )
    .set(s::knowledge_notified_at.eq(Some(now)))
    .returning((s::id, s::title))
    .get_result(conn)
    .await
    .optional()?;
    let Some((id, title)) = row else {
        return Ok(None);
    };
    let voters = voters(conn, tenant, id).await?;
    let allowed = guild_learning::audience::who_may_see(conn, tenant, module, &voters).await?;
    let voters = voters.into_iter().filter(|v| allowed.contains(v)).collect();
    Ok(Some((id, title, voters)))
}

/// Seeds the demo tenant's suggestions when it exists and has none: one by its EMPLOYEE made
/// popular by the other members' votes (the demo's threshold is their number), one anonymous,
/// one converted into a DRAFT module by its ADMIN; answers whether it seeded. The worker then tells whom each concerns.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, SocialError> {
    use guild_db::schema::{memberships, tenants};
    let tenant: Option<Uuid> = tenants::table
        .filter(tenants::slug.eq("demo"))
        .select(tenants::id)
        .first(conn)
        .await
        .optional()?;
    let Some(tenant) = tenant else {
        return Ok(false);
    };
    let tenant = TenantId(tenant);
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = s::table
            .filter(s::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, SocialError>(false);
        }
        let members: Vec<(Uuid, String)> = memberships::table
            .filter(memberships::tenant_id.eq(tenant.into_uuid()))
            .filter(memberships::status.eq("ACTIVE"))
            .order(memberships::user_id.asc())
            .select((memberships::user_id, memberships::role))
            .load(conn)
            .await?;
        let find = |want: &str| {
            members
                .iter()
                .find(|(_, role)| role == want)
                .map(|(id, _)| *id)
        };
        let (Some(admin), Some(proposer)) = (find("ADMIN"), find("EMPLOYEE")) else {
            return Ok(false);
        };
        // Everyone else who may vote: popular at once, with the demo's lower threshold.
        let voters: Vec<Uuid> = members
            .iter()
            .filter(|(id, role)| *id != proposer && role != "VIEWER")
            .map(|(id, _)| *id)
            .collect();
        diesel::insert_into(ss::table)
            .values((
                ss::tenant_id.eq(tenant.into_uuid()),
                ss::popularity_threshold.eq(i32::try_from(voters.len()).unwrap_or(1).max(1)),
                ss::updated_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let actor = |user: Uuid, role: TenantRole| Actor {
            user_id: UserId(user),
            tenant_id: tenant,
            role,
            global_role: guild_kernel::GlobalRole::Employee,
            grants: Vec::new(),
            subtree: Vec::new(),
            impersonating: false,
            api_key: None,
            request_id: None,
        };
        let member = actor(proposer, TenantRole::Employee);
        let admin = actor(admin, TenantRole::Admin);
        let popular = create(
            conn,
            &member,
            &NewSuggestion {
                title: "A module on giving feedback".to_owned(),
                description: "Short scenarios on giving and receiving feedback in reviews and \
                              one-to-ones, with a checklist to keep."
                    .to_owned(),
                anonymous: false,
            },
            now,
        )
        .await?;
        for voter in &voters {
            vote(conn, &actor(*voter, TenantRole::Employee), popular.id, now).await?;
        }
        create(
            conn,
            &member,
            &NewSuggestion {
                title: "Quiet hours for the shared workshop".to_owned(),
                description: "A short guide on when the workshop is loud, and how to book it \
                              for focused work."
                    .to_owned(),
                anonymous: true,
            },
            now,
        )
        .await?;
        let converted = create(
            conn,
            &member,
            &NewSuggestion {
                title: "Ladder safety refresher".to_owned(),
                description: "Most of our near misses last year were on ladders.\n\nA ten \
                              minute refresher with the three-point rule would help."
                    .to_owned(),
                anonymous: false,
            },
            now,
        )
        .await?;
        convert(conn, &admin, converted.id, None, now).await?;
        Ok(true)
    })
    .await
}
