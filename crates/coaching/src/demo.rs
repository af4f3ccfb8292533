//! The demo tenant's coaching, for a newcomer to find after `make run`: the owner (every demo
//! member's manager) coaches Eve Employee — a completed session last week with scores before and
//! after and private notes, the next one in a week, an action plan and a quick note.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::sealed::Keyring;
use guild_kernel::{TenantId, TenantRole};
use uuid::Uuid;

use crate::CoachingError;
use crate::action_items::{self, ItemInput};
use crate::notes;
use crate::sessions::{self, FocusArea, SessionInput, SessionStatus};

/// Creates the demo coaching once; `false` when there is no demo tenant or it has sessions.
pub async fn seed_demo(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    now: DateTime<Utc>,
) -> Result<bool, CoachingError> {
    use guild_db::schema::{coaching_sessions, memberships, tenants};
    let members: Vec<(Uuid, Uuid, String)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::status.eq("ACTIVE"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id, memberships::role))
        .load(conn)
        .await?;
    let (Some(owner), Some(eve)) = (
        members.iter().find(|m| m.2 == "OWNER"),
        members.iter().find(|m| m.2 == "EMPLOYEE"),
    ) else {
        return Ok(false);
    };
    let tenant = TenantId(owner.0);
    let coach = guild_kernel::Actor {
        user_id: guild_kernel::UserId(owner.1),
        tenant_id: tenant,
        role: TenantRole::Owner,
        global_role: guild_kernel::GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    let eve = eve.1;
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = coaching_sessions::table
            .filter(coaching_sessions::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, CoachingError>(false);
        }
        let area = |name: &str, before: f64, after: Option<f64>| FocusArea {
            name: name.to_owned(),
            score_before: Some(before),
            score_after: after,
        };
        let booked = now - Duration::days(8);
        let last = sessions::create(
            conn,
            &coach,
            &SessionInput {
                coachee_id: eve,
                scheduled_at: now - Duration::days(7),
                duration_minutes: 45,
                agenda: "Your first month: what went well, what to learn next.".to_owned(),
                focus_areas: vec![
                    area("Active listening", 2.5, Some(3.5)),
                    area("Product knowledge", 3.0, Some(3.25)),
                ],
            },
            booked,
        )
        .await?;
        sessions::set_status(
            conn,
            &coach,
            last.id,
            last.revision,
            SessionStatus::Completed,
            now,
        )
        .await?;
        sessions::set_private_notes(
            conn,
            keys,
            &coach,
            last.id,
            "Eve is eager but rushes the caller; pair her with a senior for two shifts.",
            now,
        )
        .await?;
        sessions::create(
            conn,
            &coach,
            &SessionInput {
                coachee_id: eve,
                scheduled_at: now + Duration::days(7),
                duration_minutes: 30,
                agenda: "Review the shadowed calls.".to_owned(),
                focus_areas: vec![area("Active listening", 3.5, None)],
            },
            now,
        )
        .await?;
        action_items::create(
            conn,
            &coach,
            eve,
            &ItemInput {
                title: "Shadow two calls with a senior colleague".to_owned(),
                description: String::new(),
                due_date: Some((now + Duration::days(6)).date_naive()),
                owner_id: None,
                learning: None,
                session_id: Some(last.id),
            },
            now,
        )
        .await?;
        notes::add(
            conn,
            keys,
            &coach,
            eve,
            "Handled a difficult caller well today.",
            now,
        )
        .await?;
        Ok(true)
    })
    .await
}
