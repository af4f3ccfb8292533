//! The demo tenant's room (development only): three members join it, then a short
//! conversation with an answer a member gave to a question, so a newcomer finds chat in use.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    chat_messages as cm, chat_read_markers as k, chat_rooms as r, memberships, tenants, users,
};
use guild_kernel::TenantId;
use uuid::Uuid;

use crate::SocialError;

const DEMO: [&str; 3] = [
    "Welcome to the team room! Ask anything here; mentors answer in each module's room.",
    "Where do I find the forklift safety checklist?",
    "It is attached to the first section of the Forklift safety module.",
];

/// Writes the demo tenant's room and its messages (JOINs included), when the tenant exists and
/// has no room yet; answers how many messages it wrote.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
) -> Result<usize, SocialError> {
    let Some(tenant) = tenants::table
        .filter(tenants::slug.eq("demo"))
        .select(tenants::id)
        .first::<Uuid>(conn)
        .await
        .optional()?
    else {
        return Ok(0);
    };
    let (members, names): (Vec<Uuid>, Vec<String>) = memberships::table
        .inner_join(users::table.on(users::id.eq(memberships::user_id)))
        .filter(memberships::tenant_id.eq(tenant))
        .filter(memberships::status.eq("ACTIVE"))
        .order((memberships::created_at.asc(), memberships::user_id.asc()))
        .select((memberships::user_id, users::name))
        .limit(3)
        .load::<(Uuid, String)>(conn)
        .await?
        .into_iter()
        .unzip();
    if members.len() < 3 {
        return Ok(0);
    }
    guild_db::tenant_transaction(conn, TenantId(tenant), async |c| {
        let any: i64 = r::table
            .filter(r::tenant_id.eq(tenant))
            .count()
            .get_result(c)
            .await?;
        if any > 0 {
            return Ok::<_, SocialError>(0);
        }
        let room = Uuid::now_v7();
        diesel::insert_into(r::table)
            .values((
                r::tenant_id.eq(tenant),
                r::id.eq(room),
                r::kind.eq("TENANT"),
                r::last_seq.eq(i64::try_from(2 * DEMO.len()).unwrap_or(0)),
                r::created_by.eq(members[0]),
                r::created_at.eq(now),
            ))
            .execute(c)
            .await?;
        // Each member's JOIN (their name), then what they said.
        let joins = members
            .iter()
            .zip(&names)
            .map(|(m, n)| (m, "JOIN", n.as_str()));
        let said = members
            .iter()
            .zip(DEMO)
            .map(|(m, body)| (m, "MESSAGE", body));
        let mut question = None;
        for (i, (author, kind, body)) in joins.chain(said).enumerate() {
            let id = Uuid::now_v7();
            let seq = i64::try_from(i).unwrap_or(0) + 1;
            let answer = i == 2 * DEMO.len() - 1;
            diesel::insert_into(cm::table)
                .values((
                    cm::tenant_id.eq(tenant),
                    cm::id.eq(id),
                    cm::room_id.eq(room),
                    cm::seq.eq(seq),
                    cm::kind.eq(kind),
                    cm::author_id.eq(author),
                    cm::body.eq(body),
                    cm::reply_to.eq(if answer { question } else { None }),
                    cm::created_at.eq(now + Duration::seconds(seq)),
                ))
                .execute(c)
                .await?;
            diesel::insert_into(k::table)
                .values((
                    k::tenant_id.eq(tenant),
                    k::room_id.eq(room),
                    k::user_id.eq(author),
                    k::last_read_seq.eq(seq),
                    k::updated_at.eq(now),
                ))
                .on_conflict((k::tenant_id, k::user_id, k::room_id))
                .do_update()
                .set(k::last_read_seq.eq(seq))
                .execute(c)
                .await?;
            if i == 2 * DEMO.len() - 2 {
                question = Some(id);
            }
        }
        Ok(2 * DEMO.len())
    })
    .await
}
