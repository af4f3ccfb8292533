//! The XP ledger and balances: awards from events (once per source entity), manual awards and
//! deductions, a member's balance and their explained ledger.
//!
//! Source entities that make an award unique: MODULE_COMPLETED the module (a module earns XP
//! once per member), QUIZ_HIGH_SCORE the quiz, COMPLIANCE_RENEWAL the new certificate (learning
//! marks only the first renewal of each validity period as rewarded; the others never reach the
//! ledger).

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::outbox;
use guild_kernel::{Actor, Page, PageRequest, Permission, Target, TenantId, UserId, authorize};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::GamificationError;
use crate::events::RankChanged;
use crate::settings::{self, Rank, Settings};

/// A member's balance as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, diesel::QueryableByName)]
pub struct Balance {
    /// Everything ever earned; decides the rank, never decreases.
    #[diesel(sql_type = Integer)]
    pub lifetime_xp: i32,
    /// Spendable.
    #[diesel(sql_type = Integer)]
    pub total_xp: i32,
    /// Held by redemptions waiting for approval.
    #[diesel(sql_type = Integer)]
    pub held_xp: i32,
    /// The rank.
    #[diesel(sql_type = Text)]
    pub rank: Rank,
    /// Hidden from the leaderboard (shown as "Anonymous").
    #[diesel(sql_type = Bool)]
    pub leaderboard_hidden: bool,
}

impl Default for Balance {
    fn default() -> Self {
        Self {
            lifetime_xp: 0,
            total_xp: 0,
            held_xp: 0,
            rank: Rank::Vajenec,
            leaderboard_hidden: false,
        }
    }
}

const RETURNING: &str = "RETURNING lifetime_xp, total_xp, held_xp, rank, leaderboard_hidden";

/// One ledger row to append.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub(crate) kind: &'a str,
    pub(crate) amount: i32,
    pub(crate) source: &'a str,
    pub(crate) source_entity_id: Option<Uuid>,
    pub(crate) reason: Option<&'a str>,
    pub(crate) created_by: Option<Uuid>,
}

/// Inserts the ledger row; `false` when an award for the same source entity exists.
async fn insert_entry(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    entry: &Entry<'_>,
) -> Result<bool, GamificationError> {
    let inserted = guild_db::sql(
        "INSERT INTO xp_transactions \
           (tenant_id, id, user_id, kind, amount, source, source_entity_id, reason, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant_id, user_id, source, source_entity_id) WHERE kind = 'AWARD' DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(Uuid::now_v7())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<Text, _>(entry.kind)
    .bind::<Integer, _>(entry.amount)
    .bind::<Text, _>(entry.source)
    .bind::<Nullable<SqlUuid>, _>(entry.source_entity_id)
    .bind::<Nullable<Text>, _>(entry.reason)
    .bind::<Nullable<SqlUuid>, _>(entry.created_by)
    .execute(conn)
    .await?;
    let earned = entry.kind == "AWARD" || (entry.kind == "MANUAL" && entry.amount > 0);
    if inserted == 1 && earned && entry.amount > 0 {
        // The month and week leaderboards read these totals (same transaction, same now()).
        guild_db::sql(
            "INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp) \
             VALUES ($1, $2, 'MONTH', date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3), \
                    ($1, $2, 'WEEK', date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', $3) \
             ON CONFLICT (tenant_id, period, period_start, user_id) \
             DO UPDATE SET xp = xp_period_totals.xp + EXCLUDED.xp",
        )
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .bind::<Integer, _>(entry.amount)
        .execute(conn)
        .await?;
    }
    Ok(inserted == 1)
}

/// Creates the member's balance row if missing, then locks it for the rest of the transaction.
pub(crate) async fn lock_balance(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Balance, GamificationError> {
    guild_db::sql(
        "INSERT INTO user_xp_balances (tenant_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .execute(conn)
    .await?;
    Ok(guild_db::sql(
        "SELECT lifetime_xp, total_xp, held_xp, rank, leaderboard_hidden FROM user_xp_balances \
         WHERE tenant_id = $1 AND user_id = $2 FOR UPDATE",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .get_result(conn)
    .await?)
}

/// Appends `entry` and applies it to the balance in one atomic upsert: `total_xp += amount`,
/// `lifetime_xp += earned`, `held_xp += held`. Returns the balance after it, rank recomputed.
pub(crate) async fn post(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    entry: &Entry<'_>,
    earned: i32,
    held: i32,
) -> Result<Option<Balance>, GamificationError> {
    if !insert_entry(conn, tenant, user, entry).await? {
        return Ok(None);
    }
    // The row first (a CHECK would refuse a negative insert candidate even when it conflicts),
    // then one atomic UPDATE: concurrent posts serialize on the row lock it takes.
    guild_db::sql(
        "INSERT INTO user_xp_balances (tenant_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .execute(conn)
    .await?;
    let balance: Balance = guild_db::sql(format!(
        "UPDATE user_xp_balances SET lifetime_xp = lifetime_xp + $3, total_xp = total_xp + $4, \
           held_xp = held_xp + $5, updated_at = now() \
         WHERE tenant_id = $1 AND user_id = $2 {RETURNING}"
    ))
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .bind::<Integer, _>(earned)
    .bind::<Integer, _>(entry.amount)
    .bind::<Integer, _>(held)
    .get_result(conn)
    .await?;
    if earned == 0 {
        return Ok(Some(balance));
    }
    let settings = settings::load(conn, tenant).await?;
    Ok(Some(rerank(conn, tenant, user, &settings, balance).await?))
}

/// Stores the rank `lifetime_xp` earns when it changed, and tells the outbox.
async fn rerank(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    settings: &Settings,
    mut balance: Balance,
) -> Result<Balance, GamificationError> {
    let rank = settings.rank_for(balance.lifetime_xp);
    if rank == balance.rank {
        return Ok(balance);
    }
    guild_db::sql("UPDATE user_xp_balances SET rank = $3 WHERE tenant_id = $1 AND user_id = $2")
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(user.into_uuid())
        .bind::<Text, _>(rank.as_str())
        .execute(conn)
        .await?;
    outbox::publish(
        conn,
        Some(tenant),
        &RankChanged {
            tenant_id: tenant.into_uuid(),
            user_id: user.into_uuid(),
            from: std::mem::replace(&mut balance.rank, rank)
                .as_str()
                .to_owned(),
            to: rank.as_str().to_owned(),
            lifetime_xp: balance.lifetime_xp,
        },
    )
    .await?;
    Ok(balance)
}

async fn is_member(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<bool, GamificationError> {
    #[derive(diesel::QueryableByName)]
    struct Found {
        #[diesel(sql_type = Bool)]
        found: bool,
    }
    let found: Found = guild_db::sql(
        "SELECT EXISTS (SELECT 1 FROM memberships WHERE tenant_id = $1 AND user_id = $2) AS found",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .get_result(conn)
    .await?;
    Ok(found.found)
}

/// Awards the tenant's amount for `source` once per `(member, source, source_entity)`: a
/// redelivered event awards nothing. `None` when nothing was awarded (already awarded, amount
/// 0, or the member left the tenant).
pub async fn award(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    source: &str,
    source_entity_id: Uuid,
) -> Result<Option<Balance>, GamificationError> {
    let settings = settings::load(conn, tenant).await?;
    let Some(amount) = settings.amount_for(source) else {
        return Err(GamificationError::invalid(
            "source",
            "invalid",
            "not an award source",
        ));
    };
    if amount == 0 || !is_member(conn, tenant, user).await? {
        return Ok(None);
    }
    let entry = Entry {
        kind: "AWARD",
        amount,
        source,
        source_entity_id: Some(source_entity_id),
        reason: None,
        created_by: None,
    };
    post(conn, tenant, user, &entry, amount, 0).await
}

/// A manual award (positive) or deduction (negative) by an admin.
#[derive(Debug, Clone, Deserialize)]
pub struct ManualInput {
    /// The member.
    pub user_id: Uuid,
    /// Non-zero XP; negative deducts.
    pub amount: i32,
    /// Why, 1 to 500 characters.
    pub reason: String,
}

/// Awards or deducts XP by hand (MANAGE_REWARDS), audited. Never to oneself
/// (`cannot_award_self`, whatever the role: another admin adjusts an admin's XP). A deduction
/// never takes `total_xp` below 0 (409 `insufficient_xp`); a manual award counts as earned
/// (lifetime XP and rank).
pub async fn manual(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &ManualInput,
) -> Result<Balance, GamificationError> {
    authorize(actor, Permission::ManageRewards, Target::Tenant)?;
    if input.user_id == actor.user_id.into_uuid() {
        return Err(GamificationError::CannotAwardSelf);
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(GamificationError::invalid(
            "reason",
            "length",
            "must be 1 to 500 characters",
        ));
    }
    if input.amount == 0 || input.amount.unsigned_abs() > 1_000_000 {
        return Err(GamificationError::invalid(
            "amount",
            "range",
            "must be non-zero, at most 1000000 either way",
        ));
    }
    let tenant = actor.tenant_id;
    let user = UserId(input.user_id);
    if !is_member(conn, tenant, user).await? {
        return Err(GamificationError::MemberNotFound);
    }
    let balance = lock_balance(conn, tenant, user).await?;
    if input.amount < 0 && balance.total_xp < -input.amount {
        return Err(GamificationError::InsufficientXp {
            available: balance.total_xp,
            needed: -input.amount,
        });
    }
    let entry = Entry {
        kind: "MANUAL",
        amount: input.amount,
        source: "MANUAL",
        source_entity_id: None,
        reason: Some(reason),
        created_by: Some(actor.user_id.into_uuid()),
    };
    let earned = input.amount.max(0);
    let balance = post(conn, tenant, user, &entry, earned, 0)
        .await?
        .unwrap_or_default();
    crate::audit(
        conn,
        actor,
        "XP_MANUAL_ADJUSTMENT",
        "user",
        input.user_id,
        serde_json::json!({ "amount": input.amount, "reason": reason }),
    )
    .await?;
    Ok(balance)
}

/// A member's balance with what the next rank needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct XpSummary {
    /// The balance.
    pub balance: Balance,
    /// The next rank, if any.
    pub next_rank: Option<Rank>,
    /// Lifetime XP the next rank needs.
    pub next_rank_xp: Option<i32>,
}

/// A member's stored balance (zeros when they never earned anything).
pub async fn balance(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
) -> Result<Balance, GamificationError> {
    let row: Option<Balance> = guild_db::sql(
        "SELECT lifetime_xp, total_xp, held_xp, rank, leaderboard_hidden FROM user_xp_balances \
         WHERE tenant_id = $1 AND user_id = $2",
    )
    .bind::<SqlUuid, _>(tenant.into_uuid())
    .bind::<SqlUuid, _>(user.into_uuid())
    .get_result(conn)
    .await
    .map(Some)
    .or_else(|e| match e {
        diesel::result::Error::NotFound => Ok(None),
        e => Err(e),
    })?;
    Ok(row.unwrap_or_default())
}

/// The actor's balance, rank and next rank.
pub async fn my_xp(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<XpSummary, GamificationError> {
    let balance = balance(conn, actor.tenant_id, actor.user_id).await?;
    let settings = settings::load(conn, actor.tenant_id).await?;
    let next = settings.next_rank(balance.rank);
    Ok(XpSummary {
        next_rank: next.map(|(r, _)| r),
        next_rank_xp: next.map(|(_, xp)| xp),
        balance,
    })
}

guild_kernel::string_enum!(
    /// What a ledger row did to the balance.
    LedgerKind {
        /// XP earned (also raises lifetime XP).
        Award => "AWARD",
        /// XP spent on a reward (0 when a held redemption is approved).
        Spend => "SPEND",
        /// XP held by a redemption waiting for approval.
        Hold => "HOLD",
        /// Held XP returned (rejected or cancelled redemption).
        Release => "RELEASE",
        /// An admin's award or deduction.
        Manual => "MANUAL",
    }
);

guild_kernel::string_enum!(
    /// Where a ledger row's XP came from.
    XpSource {
        /// A completed module.
        ModuleCompleted => "MODULE_COMPLETED",
        /// A quiz high score.
        QuizHighScore => "QUIZ_HIGH_SCORE",
        /// A mentor's confirmed answer.
        MentorConfirmation => "MENTOR_CONFIRMATION",
        /// A top suggestion.
        TopSuggestion => "TOP_SUGGESTION",
        /// A renewed compliance certificate.
        ComplianceRenewal => "COMPLIANCE_RENEWAL",
        /// An attended event.
        EventAttended => "EVENT_ATTENDED",
        /// A completed learning path.
        PathCompleted => "PATH_COMPLETED",
        /// An admin's adjustment.
        Manual => "MANUAL",
        /// A reward redemption.
        Redemption => "REDEMPTION",
    }
);

crate::text_column!(LedgerKind, XpSource);

/// One ledger row, explained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerItem {
    /// The row.
    pub id: Uuid,
    /// What it did.
    pub kind: LedgerKind,
    /// Signed XP added to the spendable balance.
    pub amount: i32,
    /// Where it came from.
    pub source: XpSource,
    /// The module, quiz, certificate or redemption it came from.
    pub source_entity_id: Option<Uuid>,
    /// A human-readable description, e.g. `Completed module “Fire safety”`.
    pub description: String,
    /// The admin's reason (MANUAL, rejections).
    pub reason: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

#[derive(diesel::QueryableByName)]
struct LedgerRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: LedgerKind,
    #[diesel(sql_type = Integer)]
    amount: i32,
    #[diesel(sql_type = Text)]
    source: XpSource,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    source_entity_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    reason: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

#[derive(diesel::QueryableByName)]
struct TitleRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
}

fn describe(row: &LedgerRow, title: Option<&str>) -> String {
    let t = title.unwrap_or("(deleted)");
    match (row.source.as_str(), row.kind.as_str()) {
        ("MODULE_COMPLETED", _) => format!("Completed module “{t}”"),
        ("QUIZ_HIGH_SCORE", _) => format!("High score in quiz “{t}”"),
        ("COMPLIANCE_RENEWAL", _) => format!("Renewed certification for “{t}”"),
        ("MENTOR_CONFIRMATION", _) => "Mentor answer confirmed".to_owned(),
        ("TOP_SUGGESTION", _) => "Top suggestion".to_owned(),
        ("EVENT_ATTENDED", _) => "Attended an event".to_owned(),
        ("PATH_COMPLETED", _) => format!("Completed learning path “{t}”"),
        ("REDEMPTION", "HOLD") => format!("Reserved for reward “{t}” (awaiting approval)"),
        ("REDEMPTION", "RELEASE") => format!("Returned from reward “{t}”"),
        ("REDEMPTION", _) => format!("Redeemed reward “{t}”"),
        _ if row.amount < 0 => "Manual deduction".to_owned(),
        _ => "Manual award".to_owned(),
    }
}

/// The actor's ledger, newest first, with human-readable sources. Rewards' titles are looked up
/// here; the titles of what gamification does not own (modules, quizzes, certificates' modules)
/// are asked of `titles`, given the page's source entity ids (the api layer passes
/// `guild_progress::titles::of`, which may read those tables).
pub async fn transactions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
    titles: impl AsyncFnOnce(
        &mut AsyncPgConnection,
        &[Uuid],
    ) -> Result<Vec<(Uuid, String)>, guild_db::DbError>,
) -> Result<Page<LedgerItem>, GamificationError> {
    let limit = page.limit();
    let bad_cursor =
        || GamificationError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    let before: Option<Uuid> = match page.cursor().map_err(|_| bad_cursor())? {
        Some(c) => Some(c.0.parse().map_err(|_| bad_cursor())?),
        None => None,
    };
    let rows: Vec<LedgerRow> = guild_db::sql(
        "SELECT id, kind, amount, source, source_entity_id, reason, created_at FROM xp_transactions \
         WHERE tenant_id = $1 AND user_id = $2 AND ($3::uuid IS NULL OR id < $3) \
         ORDER BY id DESC LIMIT $4",
    )
    .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
    .bind::<SqlUuid, _>(actor.user_id.into_uuid())
    .bind::<Nullable<SqlUuid>, _>(before)
    .bind::<Integer, _>(i32::try_from(limit + 1).unwrap_or(201))
    .load(conn)
    .await?;
    let page = Page::from_overfetch(rows, limit, |r| r.id.to_string());
    let ids: Vec<Uuid> = page
        .data
        .iter()
        .filter_map(|r| r.source_entity_id)
        .collect();
    let titles: Vec<(Uuid, String)> = if ids.is_empty() {
        Vec::new()
    } else {
        let mut found = titles(conn, &ids).await?;
        let rewards: Vec<TitleRow> = guild_db::sql(
            "SELECT d.id, r.title FROM reward_redemptions d \
               JOIN rewards r ON r.tenant_id = d.tenant_id AND r.id = d.reward_id \
               WHERE d.tenant_id = $1 AND d.id = ANY($2)",
        )
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(ids)
        .load(conn)
        .await?;
        found.extend(rewards.into_iter().map(|t| (t.id, t.title)));
        found
    };
    let title = |id: Option<Uuid>| {
        id.and_then(|id| titles.iter().find(|t| t.0 == id).map(|t| t.1.as_str()))
    };
    Ok(Page {
        data: page
            .data
            .iter()
            .map(|r| LedgerItem {
                id: r.id,
                kind: r.kind,
                amount: r.amount,
                source: r.source,
                source_entity_id: r.source_entity_id,
                description: describe(r, title(r.source_entity_id)),
                reason: r.reason.clone(),
                created_at: r.created_at,
            })
            .collect(),
        next_cursor: page.next_cursor,
    })
}
