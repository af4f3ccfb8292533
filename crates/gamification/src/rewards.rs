//! The reward shop: the catalog (MANAGE_REWARDS to manage) and redemptions.
//!
//! A redemption is one transaction. It reads the reward, locks the member's balance row, checks
//! that the reward is active and in stock, that the member is under its monthly limit (counted
//! under the balance lock, so one member's redemptions count each other) and that the spendable
//! balance covers the cost, and either spends the XP (SPEND, APPROVED) or holds it (HOLD:
//! `total_xp -= cost`, `held_xp += cost`, PENDING), so pending redemptions can never exceed what
//! was spendable. Approving a held one appends a SPEND of 0 (`held_xp -= cost`); rejecting or
//! cancelling appends a RELEASE (`+cost` back to `total_xp`) and returns the unit of stock.
//! `lifetime_xp` never changes.
//!
//! **Nobody reviews their own redemption.** Approving a held redemption is what fulfils it, and
//! approving or rejecting one's own is refused (`cannot_review_own_redemption`) whatever the role:
//! another MANAGE_REWARDS holder decides. A member may still cancel their own.
//!
//! The reward row is locked last, just before commit, so redemptions of one popular reward wait
//! on each other only for a commit: a reward with stock takes its unit with a conditional
//! `UPDATE … WHERE stock > 0` (exclusive), an unlimited one is read `FOR SHARE` (redemptions run
//! side by side; an admin's edit waits for them and they for it). The locked row must still be
//! active with the cost, approval rule and limit the redemption used, or it is refused
//! (`reward_inactive`, `reward_out_of_stock`, `reward_changed`) and rolled back. Every path locks
//! a member's balance before a reward, so redemptions, reviews and cancellations cannot deadlock.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::outbox;
use guild_db::schema::{reward_redemptions as rr, rewards};
use guild_kernel::{
    Actor, Keyset, Page, PageRequest, Permission, RewardId, Target, UserId, authorize,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::GamificationError;
use crate::events::{RedemptionApproved, RedemptionRejected, RedemptionReviewed};
use crate::ledger::{self, Entry};

/// A reward.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = rewards)]
pub struct Reward {
    /// The reward.
    pub id: Uuid,
    /// 1 to 200 characters.
    pub title: String,
    /// Up to 5000 characters.
    pub description: String,
    /// An image to show.
    pub image_url: Option<String>,
    /// XP it costs, > 0.
    pub cost_xp: i32,
    /// Units left; `None` is unlimited.
    pub stock: Option<i32>,
    /// Redemptions per member per calendar month; `None` is unlimited.
    pub monthly_limit: Option<i32>,
    /// Redemptions wait for an admin's approval.
    pub approval_required: bool,
    /// Members may redeem it.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What creating (all required fields) or patching (absent keeps) a reward sets.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RewardInput {
    /// See [`Reward`].
    pub title: Option<String>,
    /// See [`Reward`].
    pub description: Option<String>,
    /// See [`Reward`]; `Some(None)` clears.
    pub image_url: Option<Option<String>>,
    /// See [`Reward`].
    pub cost_xp: Option<i32>,
    /// See [`Reward`]; `Some(None)` is unlimited.
    pub stock: Option<Option<i32>>,
    /// See [`Reward`]; `Some(None)` is unlimited.
    pub monthly_limit: Option<Option<i32>>,
    /// See [`Reward`].
    pub approval_required: Option<bool>,
    /// See [`Reward`].
    pub active: Option<bool>,
}

fn validate(r: &Reward) -> Result<(), GamificationError> {
    let mut errors = Vec::new();
    let mut bad = |f: &str, c: &str, m: &str| errors.push(guild_kernel::FieldError::new(f, c, m));
    let title = r.title.trim().chars().count();
    if !(1..=200).contains(&title) {
        bad("title", "length", "must be 1 to 200 characters");
    }
    if r.description.chars().count() > 5000 {
        bad("description", "length", "must be at most 5000 characters");
    }
    if r.image_url
        .as_deref()
        .is_some_and(|u| guild_kernel::check_link(u).is_err())
    {
        use guild_kernel::links::{LINK_CODE, LINK_MESSAGE};
        bad("image_url", LINK_CODE, LINK_MESSAGE);
    }
    if r.cost_xp <= 0 {
        bad("cost_xp", "range", "must be greater than 0");
    }
    if r.stock.is_some_and(|s| s < 0) {
        bad("stock", "range", "must be 0 or more (null: unlimited)");
    }
    if r.monthly_limit.is_some_and(|m| m <= 0) {
        bad(
            "monthly_limit",
            "range",
            "must be 1 or more (null: unlimited)",
        );
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(GamificationError::Invalid(errors))
    }
}

fn apply(r: &mut Reward, input: &RewardInput) {
    if let Some(v) = &input.title {
        r.title = v.trim().to_owned();
    }
    if let Some(v) = &input.description {
        r.description.clone_from(v);
    }
    if let Some(v) = &input.image_url {
        r.image_url.clone_from(v);
    }
    if let Some(v) = input.cost_xp {
        r.cost_xp = v;
    }
    if let Some(v) = input.stock {
        r.stock = v;
    }
    if let Some(v) = input.monthly_limit {
        r.monthly_limit = v;
    }
    if let Some(v) = input.approval_required {
        r.approval_required = v;
    }
    if let Some(v) = input.active {
        r.active = v;
    }
}

fn manage(actor: &Actor) -> Result<(), GamificationError> {
    Ok(authorize(actor, Permission::ManageRewards, Target::Tenant)?)
}

/// Creates a reward (MANAGE_REWARDS), audited.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    input: &RewardInput,
    now: DateTime<Utc>,
) -> Result<Reward, GamificationError> {
    manage(actor)?;
    let mut r = Reward {
        id: Uuid::now_v7(),
        title: String::new(),
        description: String::new(),
        image_url: None,
        cost_xp: 0,
        stock: None,
        monthly_limit: None,
        approval_required: false,
        active: true,
        created_at: now,
        updated_at: now,
    };
    apply(&mut r, input);
    validate(&r)?;
    diesel::insert_into(rewards::table)
        .values((
            rewards::tenant_id.eq(actor.tenant_id.into_uuid()),
            rewards::id.eq(r.id),
            rewards::title.eq(&r.title),
            rewards::description.eq(&r.description),
            rewards::image_url.eq(&r.image_url),
            rewards::cost_xp.eq(r.cost_xp),
            rewards::stock.eq(r.stock),
            rewards::monthly_limit.eq(r.monthly_limit),
            rewards::approval_required.eq(r.approval_required),
            rewards::active.eq(r.active),
            rewards::created_at.eq(now),
            rewards::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "REWARD_CREATED",
        "reward",
        r.id,
        serde_json::json!({ "title": r.title }),
    )
    .await?;
    Ok(r)
}

async fn find(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    lock: bool,
) -> Result<Reward, GamificationError> {
    let query = rewards::table
        .filter(rewards::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(rewards::id.eq(id))
        .filter(rewards::deleted_at.is_null())
        .select(Reward::as_select());
    let found = if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    found.ok_or(GamificationError::RewardNotFound)
}

/// Changes a reward (MANAGE_REWARDS), audited.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: RewardId,
    input: &RewardInput,
    now: DateTime<Utc>,
) -> Result<Reward, GamificationError> {
    let id = id.into_uuid();
    manage(actor)?;
    let mut r = find(conn, actor, id, true).await?;
    apply(&mut r, input);
    validate(&r)?;
    r.updated_at = now;
    diesel::update(rewards::table)
        .filter(rewards::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(rewards::id.eq(id))
        .set((
            rewards::title.eq(&r.title),
            rewards::description.eq(&r.description),
            rewards::image_url.eq(&r.image_url),
            rewards::cost_xp.eq(r.cost_xp),
            rewards::stock.eq(r.stock),
            rewards::monthly_limit.eq(r.monthly_limit),
            rewards::approval_required.eq(r.approval_required),
            rewards::active.eq(r.active),
            rewards::updated_at.eq(r.updated_at),
        ))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "REWARD_UPDATED",
        "reward",
        id,
        serde_json::json!({ "title": r.title }),
    )
    .await?;
    Ok(r)
}

/// Removes a reward from the shop (MANAGE_REWARDS), audited. Its redemptions stay, so the row is
/// kept, inactive and marked deleted.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: RewardId,
) -> Result<(), GamificationError> {
    let id = id.into_uuid();
    manage(actor)?;
    find(conn, actor, id, true).await?;
    diesel::update(rewards::table)
        .filter(rewards::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(rewards::id.eq(id))
        .set((
            rewards::active.eq(false),
            rewards::deleted_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    crate::audit(
        conn,
        actor,
        "REWARD_DELETED",
        "reward",
        id,
        serde_json::json!({}),
    )
    .await?;
    Ok(())
}

/// The catalog: active rewards for members, every reward for MANAGE_REWARDS holders; by id
/// without a `sort`, else by the sort's key and then id (keyset: the cursor carries both).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    sort: Option<RewardSort>,
    page: &PageRequest,
) -> Result<Page<Reward>, GamificationError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    let limit = page.limit();
    let mut query = rewards::table
        .filter(rewards::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(rewards::deleted_at.is_null())
        .limit(i64::from(limit) + 1)
        .select(Reward::as_select())
        .into_boxed();
    if manage(actor).is_err() {
        query = query.filter(rewards::active.eq(true));
    }
    match sort {
        None => {
            query = query.order(rewards::id);
            if let Some(after) = after_id(page)? {
                query = query.filter(rewards::id.gt(after));
            }
        }
        Some(sort) => {
            let (key, cast, desc) = sort.parts();
            let dir = if desc { "DESC" } else { "ASC" };
            query = query.order(sql::<Text>(&format!("{key} {dir}, rewards.id {dir}")));
            if let Some(after) = after_keyset(page, sort.as_str())? {
                let op = if desc { "<" } else { ">" };
                query = query.filter(
                    sql::<Bool>(&format!("({key}, rewards.id) {op} (CAST("))
                        .bind::<Text, _>(after.key)
                        .sql(&format!(" AS {cast}), "))
                        .bind::<SqlUuid, _>(after.id)
                        .sql(")"),
                );
            }
        }
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |r: &Reward| match sort {
        None => r.id.to_string(),
        Some(sort) => Keyset {
            sort: sort.as_str().to_owned(),
            key: sort.key(r),
            id: r.id,
        }
        .raw(),
    }))
}

fn after_keyset(page: &PageRequest, sort: &str) -> Result<Option<Keyset>, GamificationError> {
    page.keyset(sort).map_err(|_| {
        GamificationError::invalid("cursor", "invalid_cursor", "the cursor is not valid")
    })
}

fn after_id(page: &PageRequest) -> Result<Option<Uuid>, GamificationError> {
    let bad = || GamificationError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    match page.cursor().map_err(|_| bad())? {
        Some(c) => Ok(Some(c.0.parse().map_err(|_| bad())?)),
        None => Ok(None),
    }
}

guild_kernel::string_enum!(
    /// Where a redemption is.
    RedemptionStatus {
        /// Waiting for an admin; its XP is held.
        Pending => "PENDING",
        /// Fulfilled; its XP is spent.
        Approved => "APPROVED",
        /// Refused by an admin; its XP was returned.
        Rejected => "REJECTED",
        /// Withdrawn by the member; its XP was returned.
        Cancelled => "CANCELLED",
    }
);

guild_kernel::string_enum!(
    /// How the reward list is sorted: by a field, ascending, or descending with a leading `-`;
    /// ties by reward id.
    RewardSort {
        /// By title, A to Z.
        Title => "title",
        /// By title, Z to A.
        TitleDesc => "-title",
        /// Cheapest first.
        CostXp => "cost_xp",
        /// Dearest first.
        CostXpDesc => "-cost_xp",
        /// Oldest first.
        CreatedAt => "created_at",
        /// Newest first.
        CreatedAtDesc => "-created_at",
    }
);

impl RewardSort {
    /// The SQL of the sort key, the SQL type of the cursor's key, and whether it is descending.
    fn parts(self) -> (&'static str, &'static str, bool) {
        match self {
            Self::Title => ("rewards.title", "text", false),
            Self::TitleDesc => ("rewards.title", "text", true),
            Self::CostXp => ("rewards.cost_xp", "integer", false),
            Self::CostXpDesc => ("rewards.cost_xp", "integer", true),
            Self::CreatedAt => ("rewards.created_at", "timestamptz", false),
            Self::CreatedAtDesc => ("rewards.created_at", "timestamptz", true),
        }
    }

    fn key(self, r: &Reward) -> String {
        match self {
            Self::Title | Self::TitleDesc => r.title.clone(),
            Self::CostXp | Self::CostXpDesc => r.cost_xp.to_string(),
            Self::CreatedAt | Self::CreatedAtDesc => Keyset::time_key(r.created_at),
        }
    }
}

guild_kernel::string_enum!(
    /// How redemptions are sorted: by a field, ascending, or descending with a leading `-`;
    /// ties by redemption id.
    RedemptionSort {
        /// Oldest first.
        CreatedAt => "created_at",
        /// Newest first (the default).
        CreatedAtDesc => "-created_at",
        /// Cheapest first.
        CostXp => "cost_xp",
        /// Dearest first.
        CostXpDesc => "-cost_xp",
    }
);

impl RedemptionSort {
    /// The SQL of the sort key, the SQL type of the cursor's key, and whether it is descending.
    fn parts(self) -> (&'static str, &'static str, bool) {
        match self {
            Self::CreatedAt => ("reward_redemptions.created_at", "timestamptz", false),
            Self::CreatedAtDesc => ("reward_redemptions.created_at", "timestamptz", true),
            Self::CostXp => ("reward_redemptions.cost_xp", "integer", false),
            Self::CostXpDesc => ("reward_redemptions.cost_xp", "integer", true),
        }
    }

    fn key(self, r: &Redemption) -> String {
        match self {
            Self::CreatedAt | Self::CreatedAtDesc => Keyset::time_key(r.created_at),
            Self::CostXp | Self::CostXpDesc => r.cost_xp.to_string(),
        }
    }
}

/// A redemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Queryable, Selectable)]
#[diesel(table_name = rr)]
pub struct Redemption {
    /// The redemption.
    pub id: Uuid,
    /// The reward.
    pub reward_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// XP it cost.
    pub cost_xp: i32,
    /// Where it is.
    #[diesel(deserialize_as = String)]
    pub status: RedemptionStatus,
    /// Why it was rejected or cancelled.
    pub reason: Option<String>,
    /// Who approved or rejected it.
    pub reviewed_by: Option<Uuid>,
    /// When.
    pub reviewed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// Redeems a reward for the actor (see the module docs). A retry must not spend twice: the
/// caller runs it under an `Idempotency-Key` claimed in the same transaction.
pub async fn redeem(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    reward_id: RewardId,
    now: DateTime<Utc>,
) -> Result<Redemption, GamificationError> {
    let reward_id = reward_id.into_uuid();
    let tenant = actor.tenant_id;
    let reward = find(conn, actor, reward_id, false).await?;
    if !reward.active {
        return Err(GamificationError::RewardInactive);
    }
    if reward.stock == Some(0) {
        return Err(GamificationError::OutOfStock);
    }
    let balance = ledger::lock_balance(conn, tenant, actor.user_id).await?;
    if let Some(limit) = reward.monthly_limit {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let count: Count = guild_db::sql(
            "SELECT count(*) AS n FROM reward_redemptions WHERE tenant_id = $1 AND reward_id = $2 \
             AND user_id = $3 AND status IN ('PENDING', 'APPROVED') \
             AND created_at >= date_trunc('month', $4 AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'",
        )
        .bind::<SqlUuid, _>(tenant.into_uuid())
        .bind::<SqlUuid, _>(reward_id)
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .bind::<Timestamptz, _>(now)
        .get_result(conn)
        .await?;
        if count.n >= i64::from(limit) {
            return Err(GamificationError::MonthlyLimitReached);
        }
    }
    if balance.total_xp < reward.cost_xp {
        return Err(GamificationError::InsufficientXp {
            available: balance.total_xp,
            needed: reward.cost_xp,
        });
    }
    let pending = reward.approval_required;
    let redemption = Redemption {
        id: Uuid::now_v7(),
        reward_id,
        user_id: actor.user_id.into_uuid(),
        cost_xp: reward.cost_xp,
        status: if pending {
            RedemptionStatus::Pending
        } else {
            RedemptionStatus::Approved
        },
        reason: None,
        reviewed_by: None,
        reviewed_at: (!pending).then_some(now),
        created_at: now,
    };
    diesel::insert_into(rr::table)
        .values((
            rr::tenant_id.eq(tenant.into_uuid()),
            rr::id.eq(redemption.id),
            rr::reward_id.eq(reward_id),
            rr::user_id.eq(redemption.user_id),
            rr::cost_xp.eq(redemption.cost_xp),
            rr::status.eq(redemption.status.as_str()),
            rr::reviewed_at.eq(redemption.reviewed_at),
            rr::created_at.eq(now),
        ))
        .execute(conn)
        .await?;
    let entry = Entry {
        kind: if pending { "HOLD" } else { "SPEND" },
        amount: -reward.cost_xp,
        source: "REDEMPTION",
        source_entity_id: Some(redemption.id),
        reason: None,
        created_by: Some(actor.user_id.into_uuid()),
    };
    let held = if pending { reward.cost_xp } else { 0 };
    ledger::post(conn, tenant, actor.user_id, &entry, 0, held).await?;
    if !pending {
        outbox::publish(
            conn,
            Some(tenant),
            &RedemptionApproved(reviewed(tenant, &redemption)),
        )
        .await?;
    }
    crate::audit(
        conn,
        actor,
        "REWARD_REDEEMED",
        "reward_redemption",
        redemption.id,
        serde_json::json!({ "reward_id": reward_id, "cost_xp": reward.cost_xp, "status": redemption.status }),
    )
    .await?;
    take_unit(conn, actor, &reward).await?;
    Ok(redemption)
}

/// The last statement of a redemption: locks the reward row until commit (exclusively while
/// taking a unit of stock, shared when the stock is unlimited) and checks that it is still the
/// reward the redemption was made for.
async fn take_unit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    seen: &Reward,
) -> Result<(), GamificationError> {
    let row = rewards::table
        .filter(rewards::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(rewards::id.eq(seen.id))
        .filter(rewards::deleted_at.is_null());
    let locked = if seen.stock.is_some() {
        diesel::update(row.filter(rewards::stock.gt(0)))
            .set(rewards::stock.eq(rewards::stock - 1))
            .returning(Reward::as_returning())
            .get_result(conn)
            .await
            .optional()?
    } else {
        row.select(Reward::as_select())
            .for_share()
            .first(conn)
            .await
            .optional()?
    };
    let Some(locked) = locked else {
        // No unit was left, or the reward is gone or now unlimited: say which. Stock read now
        // may be back above zero (a cancellation returned a unit since); the update found none.
        let now = find(conn, actor, seen.id, false).await?;
        return Err(if !now.active {
            GamificationError::RewardInactive
        } else if now.stock.is_some() {
            GamificationError::OutOfStock
        } else {
            GamificationError::RewardChanged
        });
    };
    if !locked.active {
        return Err(GamificationError::RewardInactive);
    }
    if locked.cost_xp != seen.cost_xp
        || locked.approval_required != seen.approval_required
        || locked.monthly_limit != seen.monthly_limit
        || locked.stock.is_some() != seen.stock.is_some()
    {
        return Err(GamificationError::RewardChanged);
    }
    Ok(())
}

fn reviewed(tenant: guild_kernel::TenantId, r: &Redemption) -> RedemptionReviewed {
    RedemptionReviewed {
        tenant_id: tenant.into_uuid(),
        user_id: r.user_id,
        redemption_id: r.id,
        reward_id: r.reward_id,
        cost_xp: r.cost_xp,
        reason: r.reason.clone(),
    }
}

/// What a review does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An admin approves: the held XP is spent.
    Approve,
    /// An admin rejects: the hold is released, the stock returned.
    Reject,
    /// The member withdraws their own: as a rejection.
    Cancel,
}

/// Approves, rejects (MANAGE_REWARDS, never one's own: `cannot_review_own_redemption`) or
/// cancels (the member's own) a pending redemption.
pub async fn review(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    decision: Decision,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Redemption, GamificationError> {
    let tenant = actor.tenant_id;
    let mut r: Redemption = rr::table
        .filter(rr::tenant_id.eq(tenant.into_uuid()))
        .filter(rr::id.eq(id))
        .select(Redemption::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(GamificationError::RedemptionNotFound)?;
    match decision {
        Decision::Cancel if r.user_id != actor.user_id.into_uuid() => {
            return Err(GamificationError::RedemptionNotFound);
        }
        Decision::Cancel => {}
        Decision::Approve | Decision::Reject => {
            manage(actor)?;
            if r.user_id == actor.user_id.into_uuid() {
                return Err(GamificationError::CannotReviewOwnRedemption);
            }
        }
    }
    if r.status != RedemptionStatus::Pending {
        return Err(GamificationError::RedemptionNotPending);
    }
    let reason = reason.map(str::trim).filter(|s| !s.is_empty());
    if reason.is_some_and(|s| s.chars().count() > 500) {
        return Err(GamificationError::invalid(
            "reason",
            "length",
            "must be at most 500 characters",
        ));
    }
    let user = UserId(r.user_id);
    if decision == Decision::Approve {
        let entry = Entry {
            kind: "SPEND",
            amount: 0,
            source: "REDEMPTION",
            source_entity_id: Some(r.id),
            reason: None,
            created_by: Some(actor.user_id.into_uuid()),
        };
        ledger::post(conn, tenant, user, &entry, 0, -r.cost_xp).await?;
    } else {
        let entry = Entry {
            kind: "RELEASE",
            amount: r.cost_xp,
            source: "REDEMPTION",
            source_entity_id: Some(r.id),
            reason,
            created_by: Some(actor.user_id.into_uuid()),
        };
        ledger::post(conn, tenant, user, &entry, 0, -r.cost_xp).await?;
        // Same lock order as redeem: the balance (just posted to), then the reward.
        diesel::update(rewards::table)
            .filter(rewards::tenant_id.eq(tenant.into_uuid()))
            .filter(rewards::id.eq(r.reward_id))
            .filter(rewards::stock.is_not_null())
            .set(rewards::stock.eq(rewards::stock + 1))
            .execute(conn)
            .await?;
    }
    r.status = match decision {
        Decision::Approve => RedemptionStatus::Approved,
        Decision::Reject => RedemptionStatus::Rejected,
        Decision::Cancel => RedemptionStatus::Cancelled,
    };
    r.reason = reason.map(str::to_owned);
    if decision != Decision::Cancel {
        r.reviewed_by = Some(actor.user_id.into_uuid());
    }
    r.reviewed_at = Some(now);
    diesel::update(rr::table)
        .filter(rr::tenant_id.eq(tenant.into_uuid()))
        .filter(rr::id.eq(id))
        .set((
            rr::status.eq(r.status.as_str()),
            rr::reason.eq(&r.reason),
            rr::reviewed_by.eq(r.reviewed_by),
            rr::reviewed_at.eq(r.reviewed_at),
        ))
        .execute(conn)
        .await?;
    match decision {
        Decision::Approve => {
            outbox::publish(
                conn,
                Some(tenant),
                &RedemptionApproved(reviewed(tenant, &r)),
            )
            .await?;
        }
        Decision::Reject => {
            outbox::publish(
                conn,
                Some(tenant),
                &RedemptionRejected(reviewed(tenant, &r)),
            )
            .await?;
        }
        Decision::Cancel => {}
    }
    let action = match decision {
        Decision::Approve => "REDEMPTION_APPROVED",
        Decision::Reject => "REDEMPTION_REJECTED",
        Decision::Cancel => "REDEMPTION_CANCELLED",
    };
    crate::audit(
        conn,
        actor,
        action,
        "reward_redemption",
        id,
        serde_json::json!({ "reason": r.reason }),
    )
    .await?;
    Ok(r)
}

/// Redemptions, newest first unless `sort` says otherwise: the actor's own (`mine`), or
/// everyone's (MANAGE_REWARDS), optionally of one status.
pub async fn redemptions(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    mine: bool,
    status: Option<RedemptionStatus>,
    sort: Option<RedemptionSort>,
    page: &PageRequest,
) -> Result<Page<Redemption>, GamificationError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Text};
    if !mine {
        manage(actor)?;
    }
    let limit = page.limit();
    let mut query = rr::table
        .filter(rr::tenant_id.eq(actor.tenant_id.into_uuid()))
        .limit(i64::from(limit) + 1)
        .select(Redemption::as_select())
        .into_boxed();
    if mine {
        query = query.filter(rr::user_id.eq(actor.user_id.into_uuid()));
    }
    if let Some(s) = status {
        query = query.filter(rr::status.eq(s.as_str()));
    }
    match sort {
        None => {
            query = query.order(rr::id.desc());
            if let Some(before) = after_id(page)? {
                query = query.filter(rr::id.lt(before));
            }
        }
        Some(sort) => {
            let (key, cast, desc) = sort.parts();
            let dir = if desc { "DESC" } else { "ASC" };
            query = query.order(sql::<Text>(&format!(
                "{key} {dir}, reward_redemptions.id {dir}"
            )));
            if let Some(after) = after_keyset(page, sort.as_str())? {
                let op = if desc { "<" } else { ">" };
                query = query.filter(
                    sql::<Bool>(&format!("({key}, reward_redemptions.id) {op} (CAST("))
                        .bind::<Text, _>(after.key)
                        .sql(&format!(" AS {cast}), "))
                        .bind::<SqlUuid, _>(after.id)
                        .sql(")"),
                );
            }
        }
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(
        rows,
        limit,
        |r: &Redemption| match sort {
            None => r.id.to_string(),
            Some(sort) => Keyset {
                sort: sort.as_str().to_owned(),
                key: sort.key(r),
                id: r.id,
            }
            .raw(),
        },
    ))
}

/// A reward's title in `tenant`, for messages that name it; `None` when the reward is gone.
pub async fn title_of(
    conn: &mut AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    reward: RewardId,
) -> Result<Option<String>, GamificationError> {
    let reward = reward.into_uuid();
    Ok(rewards::table
        .filter(rewards::tenant_id.eq(tenant.into_uuid()))
        .filter(rewards::id.eq(reward))
        .select(rewards::title)
        .first(conn)
        .await
        .optional()?)
}
