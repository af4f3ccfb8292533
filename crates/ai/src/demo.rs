//! The demo tenant's questions, for a newcomer to find after `make run`: two employees' questions
//! answered from the knowledge base (with their citations), one of them escalated to a mentor
//! when a module of the demo has one; and a sample PDF in its media library for the module
//! builder.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_kernel::{Actor, GlobalRole, TenantId, TenantRole, UserId};
use uuid::Uuid;

use crate::AiError;
use crate::questions;

/// Asks the demo questions once; `false` when there is no demo tenant or it has questions.
pub async fn seed_demo(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Result<bool, AiError> {
    use guild_db::schema::{memberships, module_mentors, questions as q, tenants};
    let members: Vec<(Uuid, Uuid, String)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::status.eq("ACTIVE"))
        .filter(memberships::role.eq("EMPLOYEE"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id, memberships::role))
        .load(conn)
        .await?;
    let Some(first) = <[_]>::first(&members) else {
        return Ok(false);
    };
    let tenant = TenantId(first.0);
    let actor = |user: Uuid| Actor {
        user_id: UserId(user),
        tenant_id: tenant,
        role: TenantRole::Employee,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        let any: i64 = q::table
            .filter(q::tenant_id.eq(tenant.into_uuid()))
            .count()
            .get_result(conn)
            .await?;
        if any > 0 {
            return Ok::<_, AiError>(false);
        }
        let asker = actor(first.1);
        questions::ask(
            conn,
            &asker,
            "Where do I find the evacuation routes of my building?",
            None,
            None,
            now,
        )
        .await?;
        // A module with a mentor other than the asker: a question about it, escalated.
        let mentored: Option<Uuid> = module_mentors::table
            .filter(module_mentors::tenant_id.eq(tenant.into_uuid()))
            .filter(module_mentors::user_id.ne(first.1))
            .select(module_mentors::module_id)
            .order(module_mentors::module_id)
            .first(conn)
            .await
            .optional()?;
        let second = members.get(1).map_or(first.1, |m| m.1);
        let visible = match mentored {
            Some(module) => {
                guild_learning::access::visible_published(conn, &actor(second), Some(module))
                    .await?
                    .into_iter()
                    .next()
            }
            None => None,
        };
        let asked = questions::ask(
            conn,
            &actor(second),
            "How often do I need to renew my safety certificate?",
            visible,
            None,
            now,
        )
        .await?;
        if visible.is_some() {
            questions::escalate(conn, &actor(second), asked.question.id, None, now).await?;
        }
        Ok(true)
    })
    .await
}

/// Stores `pdf` (a sample handbook) in the demo tenant's media library as its owner, for the
/// module builder to build from (`POST /v1/ai/module-builds`); `false` when there is no demo
/// tenant or it already has the file.
pub async fn seed_handbook(
    conn: &mut AsyncPgConnection,
    blobs: &dyn guild_kernel::ports::BlobStore,
    pdf: Vec<u8>,
) -> Result<bool, AiError> {
    use guild_db::schema::{media_assets, memberships, tenants};
    use guild_learning::media::{self, NewUpload};
    const FILE: &str = "safety-handbook.pdf";
    let owner: Option<(Uuid, Uuid)> = tenants::table
        .inner_join(memberships::table.on(memberships::tenant_id.eq(tenants::id)))
        .filter(tenants::slug.eq("demo"))
        .filter(memberships::role.eq("OWNER"))
        .order(memberships::user_id)
        .select((tenants::id, memberships::user_id))
        .first(conn)
        .await
        .optional()?;
    let Some((tenant, user)) = owner else {
        return Ok(false);
    };
    let tenant = TenantId(tenant);
    let actor = Actor {
        user_id: UserId(user),
        tenant_id: tenant,
        role: TenantRole::Owner,
        global_role: GlobalRole::Employee,
        grants: Vec::new(),
        subtree: Vec::new(),
        impersonating: false,
        api_key: None,
        request_id: None,
    };
    let present: i64 = guild_db::tenant_transaction(conn, tenant, async |conn| {
        media_assets::table
            .filter(media_assets::tenant_id.eq(tenant.into_uuid()))
            .filter(media_assets::file_name.eq(FILE))
            .count()
            .get_result::<i64>(conn)
            .await
            .map_err(AiError::from)
    })
    .await?;
    if present > 0 {
        return Ok(false);
    }
    let file_type = media::sniff(FILE, &pdf)?;
    let id = Uuid::now_v7();
    let size = u64::try_from(pdf.len()).unwrap_or(u64::MAX);
    blobs
        .put(&media::blob_key(&actor, id), pdf, file_type.mime)
        .await
        .map_err(|e| AiError::SourceUnreadable(e.to_string()))?;
    let upload = NewUpload {
        title: Some("Safety handbook (build a module from it)".to_owned()),
        file_name: FILE.to_owned(),
        size_bytes: size,
    };
    guild_db::tenant_transaction(conn, tenant, async |conn| {
        media::create_stored(conn, &actor, id, &upload, file_type)
            .await
            .map_err(AiError::from)
    })
    .await?;
    Ok(true)
}
