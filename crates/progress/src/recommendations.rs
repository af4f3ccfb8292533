//! "Next for you": modules a member may want next, from what others who learned the same things
//! went on to complete. No model is needed.
//!
//! The rule, for member `m` who completed the modules `M` (active or archived completions):
//!
//! - a **candidate** is a module another member completed after completing (at any time) one of
//!   `M` — it is PUBLISHED and visible to `m` (`guild_learning::access::visible_published`, the
//!   catalog's rule), `m` has not completed it, is not enrolled in it and has no assignment of
//!   it (a module already on their plate is not news);
//! - its **co-completers** `n` are the distinct other members who completed it and one of `M`;
//! - its **shared tags** are its tags that one of `M` also carries;
//! - its **score** is `n × (1 + shared tags)`: co-completion decides, tags weigh it;
//! - the order is score, then `n`, then title, then id, all deterministic; at most `limit`
//!   (1 to [`MAX_LIMIT`]).
//!
//! Each item explains itself: the module of `M` it is most often completed with (`because`,
//! with how many members completed both; ties by title, then id) and the shared tags by name.
//! A member who completed nothing gets nothing: there is no signal yet.
//!
//! One statement after the visibility read. It reads `module_completions` and `enrolments`
//! (this crate's) and learning's `modules`, `module_tags`, `tags`, `module_groups` with tenancy's
//! `user_groups` (the assignment of a module to the member's groups).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, TenantId, UserId};
use uuid::Uuid;

use crate::LearningError;

/// The most recommendations one request returns.
pub const MAX_LIMIT: u32 = 50;

/// How many when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 10;

/// One recommended module, with why.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName)]
pub struct Recommendation {
    /// The module.
    #[diesel(sql_type = SqlUuid)]
    pub module_id: Uuid,
    /// Its title.
    #[diesel(sql_type = Text)]
    pub title: String,
    /// Its description.
    #[diesel(sql_type = Text)]
    pub description: String,
    /// `co_completers × (1 + shared tags)`.
    #[diesel(sql_type = BigInt)]
    pub score: i64,
    /// Other members who completed it and one of the member's completed modules.
    #[diesel(sql_type = BigInt)]
    pub co_completers: i64,
    /// The member's completed module it is most often completed with.
    #[diesel(sql_type = SqlUuid)]
    pub because_module_id: Uuid,
    /// That module's title.
    #[diesel(sql_type = Text)]
    pub because_title: String,
    /// Members who completed both.
    #[diesel(sql_type = BigInt)]
    pub because_members: i64,
    /// Its tags that one of the member's completed modules carries, by name.
    #[diesel(sql_type = Array<Text>)]
    pub shared_tags: Vec<String>,
}

impl Recommendation {
    /// The reason in words: "Completed by 3 members who also completed Fire safety; shared
    /// tags: fire, safety".
    pub fn reason(&self) -> String {
        let members = if self.because_members == 1 {
            "1 member".to_owned()
        } else {
            format!("{} members", self.because_members)
        };
        let mut reason = format!(
            "Completed by {members} who also completed {}",
            self.because_title
        );
        if !self.shared_tags.is_empty() {
            reason.push_str(&format!("; shared tags: {}", self.shared_tags.join(", ")));
        }
        reason
    }
}

const RECOMMEND: &str = "\
WITH mine AS ( \
    SELECT DISTINCT module_id FROM module_completions WHERE tenant_id = $1 AND user_id = $2), \
peers AS ( \
    SELECT DISTINCT mc.user_id, mc.module_id AS anchor FROM module_completions mc \
    JOIN mine ON mine.module_id = mc.module_id \
    WHERE mc.tenant_id = $1 AND mc.user_id <> $2), \
pairs AS ( \
    SELECT DISTINCT c.module_id AS candidate, p.anchor, p.user_id FROM peers p \
    JOIN module_completions c ON c.tenant_id = $1 AND c.user_id = p.user_id \
    WHERE c.module_id = ANY($3) \
      AND NOT EXISTS (SELECT 1 FROM mine WHERE mine.module_id = c.module_id) \
      AND NOT EXISTS (SELECT 1 FROM enrolments e WHERE e.tenant_id = $1 AND e.user_id = $2 \
                        AND e.module_id = c.module_id) \
      AND NOT EXISTS (SELECT 1 FROM module_groups mg JOIN user_groups ug \
                        ON ug.tenant_id = mg.tenant_id AND ug.group_id = mg.group_id \
                      WHERE mg.tenant_id = $1 AND mg.module_id = c.module_id \
                        AND ug.user_id = $2)), \
co AS (SELECT candidate, count(DISTINCT user_id) AS n FROM pairs GROUP BY candidate), \
anchors AS ( \
    SELECT DISTINCT ON (x.candidate) x.candidate, x.anchor, x.n, am.title \
    FROM (SELECT candidate, anchor, count(*) AS n FROM pairs GROUP BY candidate, anchor) x \
    JOIN modules am ON am.tenant_id = $1 AND am.id = x.anchor \
    ORDER BY x.candidate, x.n DESC, am.title, am.id), \
my_tags AS ( \
    SELECT DISTINCT mt.tag_id FROM module_tags mt JOIN mine ON mine.module_id = mt.module_id \
    WHERE mt.tenant_id = $1), \
shared AS ( \
    SELECT mt.module_id AS candidate, array_agg(t.name ORDER BY t.name) AS names \
    FROM module_tags mt JOIN my_tags ON my_tags.tag_id = mt.tag_id \
    JOIN tags t ON t.tenant_id = mt.tenant_id AND t.id = mt.tag_id \
    WHERE mt.tenant_id = $1 AND mt.module_id IN (SELECT candidate FROM co) \
    GROUP BY mt.module_id) \
SELECT m.id AS module_id, m.title, m.description, \
       co.n * (1 + coalesce(cardinality(s.names), 0))::bigint AS score, \
       co.n AS co_completers, a.anchor AS because_module_id, a.title AS because_title, \
       a.n AS because_members, coalesce(s.names, '{}'::text[]) AS shared_tags \
FROM co JOIN modules m ON m.tenant_id = $1 AND m.id = co.candidate \
JOIN anchors a ON a.candidate = co.candidate \
LEFT JOIN shared s ON s.candidate = co.candidate \
WHERE m.status = 'PUBLISHED' \
ORDER BY score DESC, co_completers DESC, m.title, m.id \
LIMIT $4";

/// The actor's recommendations ([the module doc](self)), at most `limit` (1 to
/// [`MAX_LIMIT`]; others are refused with `validation_failed` on `limit`).
pub async fn for_member(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    limit: u32,
) -> Result<Vec<Recommendation>, LearningError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(LearningError::invalid(
            "limit",
            "range",
            &format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let visible = guild_learning::access::visible_published(conn, actor, None).await?;
    if visible.is_empty() {
        return Ok(Vec::new());
    }
    Ok(guild_db::sql(RECOMMEND)
        .bind::<SqlUuid, _>(actor.tenant_id.into_uuid())
        .bind::<SqlUuid, _>(actor.user_id.into_uuid())
        .bind::<Array<SqlUuid>, _>(&visible[..])
        .bind::<Integer, _>(i32::try_from(limit).unwrap_or(10))
        .load(conn)
        .await?)
}

/// Demo data, for `make run` to show recommendations to the demo's employee: four published
/// modules on safety and health, tagged, completed by the owner, the admin and HR in a pattern
/// that puts "First aid at work" and "Working at height" (two co-completers each, a shared
/// `safety` tag) before "Ergonomics at the desk" (one) for the employee, who completed "Fire
/// safety basics". Nothing when there is no demo tenant or it has completions already; returns
/// whether it made them.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<bool, LearningError> {
    use guild_db::schema::{memberships, module_completions, tenants};
    use guild_kernel::{GlobalRole, TenantRole};
    use guild_learning::modules::{self, ModuleInput, ModuleStatus};
    use guild_learning::sections::{self, SectionInput};
    let members: Vec<(Uuid, Uuid, String)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::status.eq("ACTIVE"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id, memberships::role))
        .load(conn)
        .await?;
    let by_role = |role: &str| members.iter().find(|m| m.2 == role).map(|m| m.1);
    let (Some(first), Some(owner), Some(admin), Some(hr), Some(employee)) = (
        <[_]>::first(&members),
        by_role("OWNER"),
        by_role("ADMIN"),
        by_role("HR"),
        by_role("EMPLOYEE"),
    ) else {
        return Ok(false);
    };
    let tenant = TenantId(first.0);
    let actor = Actor {
        user_id: UserId(owner),
        tenant_id: tenant,
        role: TenantRole::Owner,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = module_completions::table
            .filter(module_completions::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, LearningError>(false);
        }
        let catalog = [
            (
                "Fire safety basics",
                "Raising the alarm, extinguishers and evacuation.",
                &["safety", "fire"][..],
            ),
            (
                "First aid at work",
                "What to do in the first minutes after an accident.",
                &["safety", "health"][..],
            ),
            (
                "Working at height",
                "Ladders, harnesses and the checks before you climb.",
                &["safety", "equipment"][..],
            ),
            (
                "Ergonomics at the desk",
                "Setting up a chair, a screen and a keyboard.",
                &["health"][..],
            ),
        ];
        let mut ids = Vec::new();
        for (title, description, tags) in catalog {
            let module = modules::create(
                conn,
                &actor,
                &ModuleInput {
                    title: Some(title.to_owned()),
                    description: Some(description.to_owned()),
                    tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
                    ..ModuleInput::default()
                },
            )
            .await?;
            let id = module.row.id;
            sections::create(
                conn,
                &actor,
                id,
                &SectionInput {
                    title: Some("Overview".to_owned()),
                    content_html: Some(format!("<p>{description}</p>")),
                    ..SectionInput::default()
                },
                now,
            )
            .await?;
            // Adding a section may have moved the revision on.
            let revision: i32 = guild_db::schema::modules::table
                .find((tenant.into_uuid(), id))
                .select(guild_db::schema::modules::revision)
                .first(conn)
                .await?;
            modules::set_status(
                conn,
                &actor,
                id,
                revision,
                ModuleStatus::Published,
                &guild_learning::versions::ChangeNote::default(),
                now,
            )
            .await?;
            ids.push(id);
        }
        let (fire, first_aid, height, ergonomics) = (ids[0], ids[1], ids[2], ids[3]);
        for (user, module) in [
            (employee, fire),
            (admin, fire),
            (admin, first_aid),
            (admin, height),
            (hr, fire),
            (hr, first_aid),
            (owner, fire),
            (owner, height),
            (owner, ergonomics),
        ] {
            crate::completion::record_completion(
                conn,
                tenant,
                UserId(user),
                module,
                "PROGRESS",
                true,
                now,
            )
            .await?;
        }
        Ok(true)
    })
    .await
}
