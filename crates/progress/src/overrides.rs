//! Administrators' progress overrides (OVERRIDE_PROGRESS) and members' self-assessments.
//!
//! COMPLETE records a completion for a member (with a certificate when `allow_certificate`);
//! RESET archives the member's active section completions and module completion on the module
//! (revoking that completion's certificate), and the completions of the learning paths holding
//! it, which the member completes again with the module. Every override keeps what it changed, so reverting
//! it restores exactly that: a reverted COMPLETE archives its completion and revokes its
//! certificate; a reverted RESET brings the archived rows back (unless the member completed
//! again since) and lifts the revocation it made. All of it is audited.
//!
//! Nobody overrides their own progress, nor reverts an override of it
//! (`cannot_override_own_progress`, whatever the role): a COMPLETE of oneself would mint a
//! completion, its XP and a certificate for any module.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{
    certificates, memberships, module_completions, module_self_assessments, progress_overrides,
    section_completions,
};
use guild_kernel::{Actor, DomainEvent, Page, PageRequest, Permission, Target, UserId, authorize};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;
use crate::completion::{lock_member_module, record_completion};
use guild_learning::access::visible;

guild_kernel::string_enum!(
    /// What an override does to a member's progress on a module.
    OverrideAction {
        /// Records a completion (with a certificate when allowed).
        Complete => "COMPLETE",
        /// Archives the member's progress on the module.
        Reset => "RESET",
    }
);

/// A recorded override.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = progress_overrides)]
pub struct Override {
    /// Id.
    pub id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// What it does.
    #[diesel(deserialize_as = String)]
    pub action: OverrideAction,
    /// Why.
    pub reason: String,
    /// A COMPLETE also issued a certificate.
    pub allow_certificate: bool,
    /// Who.
    pub created_by: Uuid,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The completion a COMPLETE recorded.
    pub completion_id: Option<Uuid>,
    /// The certificate it issued (COMPLETE) or revoked (RESET).
    pub certificate_id: Option<Uuid>,
    /// When a RESET archived the member's progress.
    pub archived_at: Option<DateTime<Utc>>,
    /// When it was reverted.
    pub reverted_at: Option<DateTime<Utc>>,
    /// By whom.
    pub reverted_by: Option<Uuid>,
}

/// A member's progress was overridden (notifications).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgressOverridden {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The override.
    pub override_id: Uuid,
    /// COMPLETE, RESET or REVERTED.
    pub action: String,
}

impl DomainEvent for ProgressOverridden {
    const KIND: &'static str = "learning.progress_overridden";
}

/// What an administrator asks for.
#[derive(Debug, Clone)]
pub struct OverrideRequest {
    /// The module.
    pub module_id: Uuid,
    /// What to do.
    pub action: OverrideAction,
    /// Why (required).
    pub reason: String,
    /// On COMPLETE, issue a certificate.
    pub allow_certificate: bool,
}

/// `MemberNotFound` unless `user` is a member of the actor's tenant: another tenant's user (or
/// nobody) is not found, not an empty list.
pub(crate) async fn check_member(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
) -> Result<(), LearningError> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        memberships::table
            .filter(memberships::tenant_id.eq(actor.tenant_id.into_uuid()))
            .filter(memberships::user_id.eq(user.into_uuid())),
    ))
    .get_result(conn)
    .await?;
    if exists {
        Ok(())
    } else {
        Err(LearningError::MemberNotFound)
    }
}

async fn publish(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    row: &Override,
    action: &str,
) -> Result<(), LearningError> {
    guild_db::outbox::publish(
        conn,
        Some(actor.tenant_id),
        &ProgressOverridden {
            tenant_id: actor.tenant_id.into_uuid(),
            user_id: row.user_id,
            module_id: row.module_id,
            override_id: row.id,
            action: action.to_owned(),
        },
    )
    .await?;
    Ok(())
}

/// Applies an override to a member's progress on a module (never the actor's own).
pub async fn apply(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    request: &OverrideRequest,
    now: DateTime<Utc>,
) -> Result<Override, LearningError> {
    authorize(actor, Permission::OverrideProgress, Target::Tenant)?;
    if user == actor.user_id {
        return Err(LearningError::CannotOverrideOwnProgress);
    }
    if request.reason.trim().is_empty() {
        return Err(LearningError::invalid(
            "reason",
            "required",
            "a reason is required",
        ));
    }
    visible(conn, actor, request.module_id).await?;
    check_member(conn, actor, user).await?;
    let tenant = actor.tenant_id;
    let module = request.module_id;
    lock_member_module(conn, tenant, user, module).await?;
    let (completion_id, certificate_id, archived_at) = if request.action == OverrideAction::Complete
    {
        // Another member's decision (one's own progress is refused above): it earns.
        let completion = record_completion(conn, tenant, user, module, "OVERRIDE", true, now)
            .await?
            .ok_or(LearningError::AlreadyCompleted)?;
        let certificate = if request.allow_certificate {
            Some(
                crate::certificates::issue(conn, tenant, user, module, completion, None, now)
                    .await?
                    .id,
            )
        } else {
            None
        };
        (Some(completion), certificate, None)
    } else {
        let revoked = archive_progress(conn, actor, user, module, now).await?;
        (None, revoked, Some(now))
    };
    let row: Override = diesel::insert_into(progress_overrides::table)
        .values((
            progress_overrides::tenant_id.eq(tenant.into_uuid()),
            progress_overrides::id.eq(Uuid::now_v7()),
            progress_overrides::user_id.eq(user.into_uuid()),
            progress_overrides::module_id.eq(module),
            progress_overrides::action.eq(request.action.as_str()),
            progress_overrides::reason.eq(request.reason.trim()),
            progress_overrides::allow_certificate.eq(request.allow_certificate),
            progress_overrides::created_by.eq(actor.user_id.into_uuid()),
            progress_overrides::created_at.eq(now),
            progress_overrides::completion_id.eq(completion_id),
            progress_overrides::certificate_id.eq(certificate_id),
            progress_overrides::archived_at.eq(archived_at),
        ))
        .returning(Override::as_returning())
        .get_result(conn)
        .await?;
    publish(conn, actor, &row, request.action.as_str()).await?;
    guild_learning::audit(
        conn,
        actor,
        "PROGRESS_OVERRIDDEN",
        "progress_override",
        row.id,
        serde_json::json!({
            "user_id": user, "module_id": module, "action": request.action,
            "reason": row.reason, "allow_certificate": request.allow_certificate,
        }),
    )
    .await?;
    Ok(row)
}

/// Archives the active completions of the learning paths holding module `$3` of member `$2` at
/// `$4`.
const PATH_COMPLETIONS_OF_MODULE: &str = "UPDATE path_completions pc SET archived_at = $4 \
     WHERE pc.tenant_id = $1 AND pc.user_id = $2 AND pc.archived_at IS NULL \
       AND EXISTS (SELECT 1 FROM learning_path_modules lm WHERE lm.tenant_id = pc.tenant_id \
                   AND lm.path_id = pc.path_id AND lm.module_id = $3)";

/// Archives the member's active progress on the module at `now` (its section completions, its
/// completion and the completions of the paths holding it); revokes the certificate of the
/// archived completion and returns its id.
async fn archive_progress(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, LearningError> {
    let tenant = actor.tenant_id.into_uuid();
    diesel::update(
        section_completions::table
            .filter(section_completions::tenant_id.eq(tenant))
            .filter(section_completions::user_id.eq(user.into_uuid()))
            .filter(section_completions::module_id.eq(module))
            .filter(section_completions::archived_at.is_null()),
    )
    .set(section_completions::archived_at.eq(now))
    .execute(conn)
    .await?;
    // A reset module is to be taken again, so every path holding it is too (as a new cycle).
    guild_db::sql(PATH_COMPLETIONS_OF_MODULE)
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .bind::<diesel::sql_types::Uuid, _>(user.into_uuid())
        .bind::<diesel::sql_types::Uuid, _>(module)
        .bind::<diesel::sql_types::Timestamptz, _>(now)
        .execute(conn)
        .await?;
    let archived: Option<Uuid> = diesel::update(
        module_completions::table
            .filter(module_completions::tenant_id.eq(tenant))
            .filter(module_completions::user_id.eq(user.into_uuid()))
            .filter(module_completions::module_id.eq(module))
            .filter(module_completions::archived_at.is_null()),
    )
    .set(module_completions::archived_at.eq(now))
    .returning(module_completions::id)
    .get_result(conn)
    .await
    .optional()?;
    let Some(completion) = archived else {
        return Ok(None);
    };
    let certificate: Option<Uuid> = certificates::table
        .filter(certificates::tenant_id.eq(tenant))
        .filter(certificates::completion_id.eq(completion))
        .filter(certificates::revoked_at.is_null())
        .select(certificates::id)
        .first(conn)
        .await
        .optional()?;
    if let Some(id) = certificate {
        crate::certificates::revoke_row(conn, actor, id, "progress reset by an administrator", now)
            .await?;
    }
    Ok(certificate)
}

/// Reverts an override (once; never one of the actor's own progress).
pub async fn revert(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Override, LearningError> {
    authorize(actor, Permission::OverrideProgress, Target::Tenant)?;
    let tenant = actor.tenant_id.into_uuid();
    let row: Override = progress_overrides::table
        .find((tenant, id))
        .select(Override::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or(LearningError::OverrideNotFound)?;
    if row.user_id == actor.user_id.into_uuid() {
        return Err(LearningError::CannotOverrideOwnProgress);
    }
    if row.reverted_at.is_some() {
        return Err(LearningError::AlreadyReverted);
    }
    let user = UserId(row.user_id);
    lock_member_module(conn, actor.tenant_id, user, row.module_id).await?;
    if row.action == OverrideAction::Complete {
        if let Some(completion) = row.completion_id {
            diesel::update(module_completions::table.find((tenant, completion)))
                .filter(module_completions::archived_at.is_null())
                .set(module_completions::archived_at.eq(now))
                .execute(conn)
                .await?;
        }
        if let Some(certificate) = row.certificate_id {
            diesel::update(certificates::table.find((tenant, certificate)))
                .filter(certificates::revoked_at.is_null())
                .set((
                    certificates::revoked_at.eq(now),
                    certificates::revoked_reason.eq("override reverted"),
                    certificates::revoked_by.eq(actor.user_id.into_uuid()),
                ))
                .execute(conn)
                .await?;
        }
    } else if let Some(archived_at) = row.archived_at {
        let completed_again: bool = diesel::select(diesel::dsl::exists(
            module_completions::table
                .filter(module_completions::tenant_id.eq(tenant))
                .filter(module_completions::user_id.eq(row.user_id))
                .filter(module_completions::module_id.eq(row.module_id))
                .filter(module_completions::archived_at.is_null()),
        ))
        .get_result(conn)
        .await?;
        if completed_again {
            return Err(LearningError::InvalidTransition(
                "the member has completed the module again since the reset",
            ));
        }
        // Sections completed again since the reset stay; the archived duplicates stay archived.
        guild_db::sql(
            "UPDATE section_completions s SET archived_at = NULL \
             WHERE s.tenant_id = $1 AND s.user_id = $2 AND s.module_id = $3 AND s.archived_at = $4 \
               AND NOT EXISTS (SELECT 1 FROM section_completions a WHERE a.tenant_id = s.tenant_id \
                   AND a.user_id = s.user_id AND a.section_id = s.section_id AND a.archived_at IS NULL)",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .bind::<diesel::sql_types::Uuid, _>(row.user_id)
        .bind::<diesel::sql_types::Uuid, _>(row.module_id)
        .bind::<diesel::sql_types::Timestamptz, _>(archived_at)
        .execute(conn)
        .await?;
        diesel::update(
            module_completions::table
                .filter(module_completions::tenant_id.eq(tenant))
                .filter(module_completions::user_id.eq(row.user_id))
                .filter(module_completions::module_id.eq(row.module_id))
                .filter(module_completions::archived_at.eq(archived_at)),
        )
        .set(module_completions::archived_at.eq(None::<DateTime<Utc>>))
        .execute(conn)
        .await?;
        // The paths' completions the reset archived, unless the member completed one again.
        guild_db::sql(
            "UPDATE path_completions pc SET archived_at = NULL \
             WHERE pc.tenant_id = $1 AND pc.user_id = $2 AND pc.archived_at = $4 \
               AND EXISTS (SELECT 1 FROM learning_path_modules lm WHERE lm.tenant_id = pc.tenant_id \
                           AND lm.path_id = pc.path_id AND lm.module_id = $3) \
               AND NOT EXISTS (SELECT 1 FROM path_completions a WHERE a.tenant_id = pc.tenant_id \
                   AND a.user_id = pc.user_id AND a.path_id = pc.path_id AND a.archived_at IS NULL)",
        )
        .bind::<diesel::sql_types::Uuid, _>(tenant)
        .bind::<diesel::sql_types::Uuid, _>(row.user_id)
        .bind::<diesel::sql_types::Uuid, _>(row.module_id)
        .bind::<diesel::sql_types::Timestamptz, _>(archived_at)
        .execute(conn)
        .await?;
        if let Some(certificate) = row.certificate_id {
            diesel::update(certificates::table.find((tenant, certificate)))
                .set((
                    certificates::revoked_at.eq(None::<DateTime<Utc>>),
                    certificates::revoked_reason.eq(None::<String>),
                    certificates::revoked_by.eq(None::<Uuid>),
                ))
                .execute(conn)
                .await?;
        }
    }
    let reverted: Override = diesel::update(progress_overrides::table.find((tenant, id)))
        .set((
            progress_overrides::reverted_at.eq(now),
            progress_overrides::reverted_by.eq(actor.user_id.into_uuid()),
        ))
        .returning(Override::as_returning())
        .get_result(conn)
        .await?;
    publish(conn, actor, &reverted, "REVERTED").await?;
    guild_learning::audit(
        conn,
        actor,
        "PROGRESS_OVERRIDE_REVERTED",
        "progress_override",
        id,
        serde_json::json!({ "user_id": row.user_id, "module_id": row.module_id, "action": row.action }),
    )
    .await?;
    Ok(reverted)
}

/// A member's overrides, newest first, a page at a time (OVERRIDE_PROGRESS or
/// VIEW_ALL_PROGRESS).
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    module: Option<Uuid>,
    page: &PageRequest,
) -> Result<Page<Override>, LearningError> {
    if authorize(actor, Permission::ViewAllProgress, Target::Tenant).is_err() {
        authorize(actor, Permission::OverrideProgress, Target::Tenant)?;
    }
    check_member(conn, actor, user).await?;
    let limit = page.limit();
    let mut query = progress_overrides::table
        .filter(progress_overrides::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(progress_overrides::user_id.eq(user.into_uuid()))
        .order((
            progress_overrides::created_at.desc(),
            progress_overrides::id.desc(),
        ))
        .select(Override::as_select())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(module) = module {
        query = query.filter(progress_overrides::module_id.eq(module));
    }
    if let Some((key, id)) = guild_learning::keyset(page)? {
        let before = guild_learning::cursor_time(&key)?;
        query = query.filter(
            progress_overrides::created_at
                .lt(before)
                .or(progress_overrides::created_at
                    .eq(before)
                    .and(progress_overrides::id.lt(id))),
        );
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |o: &Override| {
        guild_learning::keyset_key(guild_learning::time_key(o.created_at), o.id)
    }))
}

/// A member's own assessment of a module.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = module_self_assessments)]
pub struct SelfAssessment {
    /// The module.
    pub module_id: Uuid,
    /// 1–5.
    pub rating: i32,
    /// A note.
    pub note: String,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// Records (or replaces) the actor's self-assessment of a module they can see.
pub async fn assess(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    rating: i32,
    note: &str,
    now: DateTime<Utc>,
) -> Result<SelfAssessment, LearningError> {
    if !(1..=5).contains(&rating) {
        return Err(LearningError::invalid("rating", "range", "must be 1 to 5"));
    }
    if note.chars().count() > 2000 {
        return Err(LearningError::invalid(
            "note",
            "length",
            "at most 2000 characters",
        ));
    }
    visible(conn, actor, module).await?;
    Ok(diesel::insert_into(module_self_assessments::table)
        .values((
            module_self_assessments::tenant_id.eq(actor.tenant_id.into_uuid()),
            module_self_assessments::user_id.eq(actor.user_id.into_uuid()),
            module_self_assessments::module_id.eq(module),
            module_self_assessments::rating.eq(rating),
            module_self_assessments::note.eq(note),
            module_self_assessments::updated_at.eq(now),
        ))
        .on_conflict((
            module_self_assessments::tenant_id,
            module_self_assessments::user_id,
            module_self_assessments::module_id,
        ))
        .do_update()
        .set((
            module_self_assessments::rating.eq(rating),
            module_self_assessments::note.eq(note),
            module_self_assessments::updated_at.eq(now),
        ))
        .returning(SelfAssessment::as_returning())
        .get_result(conn)
        .await?)
}

/// The actor's self-assessment of a module, if any.
pub async fn self_assessment(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
) -> Result<Option<SelfAssessment>, LearningError> {
    visible(conn, actor, module).await?;
    Ok(module_self_assessments::table
        .find((
            actor.tenant_id.into_uuid(),
            actor.user_id.into_uuid(),
            module,
        ))
        .select(SelfAssessment::as_select())
        .first(conn)
        .await
        .optional()?)
}
