//! Members of the current tenant: list and search, invite, role, manager, (de)activation,
//! removal, permission grants, a member's progress; a member's certificates and progress
//! overrides are the sub-modules.

pub mod certificates;
pub mod progress_overrides;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, delete, get, post, put, web};
use chrono::{DateTime, Utc};
use guild_analytics::members::{CertificateState, LearnerModuleStatus, MemberProgress};
use guild_kernel::{Grant, MembershipStatus, PageRequest, TenantRole, UserId};
use guild_tenancy::members::{self, Invite, Member, MemberFilter, MemberSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::extract::ValidJson;
use crate::idempotency::{Idempotency, IdempotencyHeader, once};
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::me::account::GrantDto;
use crate::routes::segment;

/// Registers `/v1/members`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/members")
            .service(list_members)
            .service(invite_member)
            .service(import_members)
            .service(get_member)
            .service(change_member_role)
            .service(set_member_manager)
            .service(deactivate_member)
            .service(reactivate_member)
            .service(remove_member)
            .service(erase_member)
            .service(list_member_permissions)
            .service(set_member_permissions)
            .service(get_member_progress)
            .service(certificates::list_member_certificates)
            .service(progress_overrides::create_progress_override)
            .service(progress_overrides::list_progress_overrides),
    );
}

/// A member of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MemberDto {
    user_id: Uuid,
    email: String,
    name: String,
    role: TenantRole,
    /// REMOVED members are listed only when asked for with `status`.
    status: MembershipStatus,
    manager_id: Option<Uuid>,
    group_ids: Vec<Uuid>,
    created_at: DateTime<Utc>,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id,
            email: m.email,
            name: m.name,
            role: m.role,
            status: m.status,
            manager_id: m.manager_id,
            group_ids: m.group_ids,
            created_at: m.created_at,
        }
    }
}

/// Filters for the member list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MemberQuery {
    /// Only this role.
    role: Option<TenantRole>,
    /// Only this status; without it every member but the REMOVED ones.
    status: Option<MembershipStatus>,
    /// Only members of this group.
    group_id: Option<Uuid>,
    /// Name or email contains this (case-insensitive; blank matches everyone).
    q: Option<String>,
    /// The order: by shown name, email or membership date, `-` for descending; ties by user
    /// id. Without it, by user id. A cursor belongs to the sort it was made with.
    #[param(inline)]
    sort: Option<MemberSort>,
    /// Page size: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List and search members.
///
/// The members your MANAGE_USERS, VIEW_ALL_PROGRESS, VIEW_GROUP_PROGRESS or
/// VIEW_MANAGER_DASHBOARD grants reach: everyone for a tenant-wide one, the members of the granted
/// groups, the members below you in the manager tree (the union when several apply; 403 with
/// none), filtered by role, status, group and a search text, sorted by `sort`, a page at a time.
/// 422 `invalid_cursor` for a cursor not made by this list with this sort.
#[utoipa::path(
    tag = "members",
    params(MemberQuery),
    responses((status = 200, body = PageOf<MemberDto>, description = "A page of members"), AuthErrors, InputErrors)
)]
#[get("/members")]
pub(crate) async fn list_members(
    ctx: Ctx<Permitted>,
    query: web::Query<MemberQuery>,
) -> Result<web::Json<PageOf<MemberDto>>, ApiError> {
    let q = query.into_inner();
    let filter = MemberFilter {
        role: q.role,
        status: q.status,
        group_id: q.group_id,
        q: q.q,
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let sort = q.sort;
    let page = ctx
        .write(async |conn| members::list(conn, &ctx.actor, &filter, sort, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(page, MemberDto::from)))
}

/// Someone to invite.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "ana.novak@example.com",
    "name": "Ana Novak",
    "role": "EMPLOYEE",
    "group_ids": ["0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"]
}))]
pub(crate) struct InviteRequest {
    /// Their email address.
    #[validate(email)]
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// The name shown until they accept: one line, no control characters, not blank.
    #[validate(length(min = 1, max = 200))]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\x00-\\x1F\\x7F-\\x9F]*[^\\s\\x00-\\x1F\\x7F-\\x9F][^\\x00-\\x1F\\x7F-\\x9F]*$"
    )]
    name: String,
    /// Their role: below yours (an OWNER may give any role).
    role: TenantRole,
    /// Their manager, a member of the tenant.
    manager_id: Option<Uuid>,
    /// Groups to add them to (at most 100).
    #[serde(default)]
    #[validate(length(max = 100))]
    #[schema(max_items = 100)]
    group_ids: Vec<Uuid>,
}

/// Invite a member by email.
///
/// For MANAGE_USERS holders; the invitation email is sent by the worker. The member stays
/// INVITED until the address's owner accepts; the answer is the same whether or not the address
/// already has an account. Each invitation counts against the tenant's daily cap (by plan,
/// `GUILD_DAILY_INVITES`): past it, 429 `invitation_cap_reached`. 409 `already_member`;
/// 403 `role_not_assignable` for a role at or above yours. With an `Idempotency-Key`, a retry
/// answers the first response and invites once (the same key with another request is 422
/// `idempotency_key_reused`; a malformed key 400 `invalid_idempotency_key`).
#[utoipa::path(
    tag = "members",
    params(IdempotencyHeader),
    request_body = InviteRequest,
    responses(
        (status = 201, body = MemberDto, description = "Invited"),
        AuthErrors,
        InputErrors,
        NotFound,
        Conflict,
        (status = 429, description = "`invitation_cap_reached`", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
#[post("/members")]
pub(crate) async fn invite_member(
    ctx: Ctx<Permitted>,
    key: Idempotency,
    body: ValidJson<InviteRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let invite = Invite {
        email: b.email,
        name: b.name,
        role: b.role,
        manager_id: b.manager_id.map(UserId),
        group_ids: b.group_ids,
    };
    once(&ctx, &key, StatusCode::CREATED, async |conn| {
        members::invite(conn, &ctx.actor, &invite, &ctx.state.invite_caps, ctx.now)
            .await
            .map(MemberDto::from)
    })
    .await
}

/// Get a member.
///
/// Any member may read themselves; whoever lists members reads the members the list shows them
/// (MANAGE_USERS, VIEW_ALL_PROGRESS, VIEW_GROUP_PROGRESS, VIEW_MANAGER_DASHBOARD, as far as their
/// scope reaches). 404 `member_not_found` for anyone else, 403 `forbidden` with none of these.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 200, body = MemberDto, description = "The member"), AuthErrors, NotFound)
)]
#[get("/members/{user_id}")]
pub(crate) async fn get_member(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<MemberDto>, ApiError> {
    let user = UserId(path.into_inner());
    let member = ctx
        .write(async |conn| members::get(conn, &ctx.actor, user).await)
        .await?;
    Ok(web::Json(member.into()))
}

/// A module assigned to a member, with where they are on it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AssignedModuleDto {
    module_id: Uuid,
    title: String,
    mandatory: bool,
    /// OVERDUE: past its due date and not completed.
    status: LearnerModuleStatus,
    /// The earliest due date of its assignments to the member's groups.
    due_at: Option<DateTime<Utc>>,
    /// 0 to 100.
    percent: i32,
    sections_done: i64,
    sections_total: i64,
    /// When completed (this cycle).
    completed_at: Option<DateTime<Utc>>,
}

/// A member's attempts at one quiz (this cycle).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuizAttemptsDto {
    quiz_id: Uuid,
    module_id: Uuid,
    title: String,
    /// Attempts started.
    attempts: i64,
    /// Attempts submitted and failed.
    failed: i64,
    /// An attempt passed.
    passed: bool,
    /// The best score of a scored attempt, 0 to 100.
    best_score_percent: Option<f64>,
    last_attempt_at: DateTime<Utc>,
}

/// One of a member's certificates.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CertificateSummaryDto {
    certificate_id: Uuid,
    /// The public verification code.
    code: String,
    /// None once the module was deleted.
    module_id: Option<Uuid>,
    module_title: String,
    issued_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    /// EXPIRING: within 30 days.
    state: CertificateState,
}

/// A member's XP.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct XpSummaryDto {
    /// Earned in all; decides the rank.
    lifetime_xp: i32,
    /// Spendable.
    total_xp: i32,
    /// Held by redemptions waiting for approval.
    held_xp: i32,
    /// None before the first XP.
    rank: Option<String>,
}

/// A member's progress.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MemberProgressDto {
    user_id: Uuid,
    name: String,
    /// Published modules assigned to them: overdue first, then by due date.
    modules: Vec<AssignedModuleDto>,
    /// Their published learning paths (assigned or enrolled).
    paths: Vec<crate::routes::paths::PathSummaryDto>,
    /// Modules completed (this cycle).
    completed_count: i64,
    /// Assigned modules overdue.
    overdue_count: i64,
    /// Quiz attempts by quiz, latest first.
    attempts: Vec<QuizAttemptsDto>,
    /// Certificates, newest first (at most 200).
    certificates: Vec<CertificateSummaryDto>,
    xp: XpSummaryDto,
}

impl From<MemberProgress> for MemberProgressDto {
    fn from(p: MemberProgress) -> Self {
        Self {
            user_id: p.user_id,
            name: p.name,
            modules: p
                .modules
                .into_iter()
                .map(|m| AssignedModuleDto {
                    module_id: m.module_id,
                    title: m.title,
                    mandatory: m.mandatory,
                    status: m.status,
                    due_at: m.due_at,
                    percent: m.percent,
                    sections_done: m.sections_done,
                    sections_total: m.sections_total,
                    completed_at: m.completed_at,
                })
                .collect(),
            paths: p.paths.into_iter().map(Into::into).collect(),
            completed_count: p.completed_count,
            overdue_count: p.overdue_count,
            attempts: p
                .attempts
                .into_iter()
                .map(|a| QuizAttemptsDto {
                    quiz_id: a.quiz_id,
                    module_id: a.module_id,
                    title: a.title,
                    attempts: a.attempts,
                    failed: a.failed,
                    passed: a.passed,
                    best_score_percent: a.best_score_percent,
                    last_attempt_at: a.last_attempt_at,
                })
                .collect(),
            certificates: p
                .certificates
                .into_iter()
                .map(|c| CertificateSummaryDto {
                    certificate_id: c.certificate_id,
                    code: c.code,
                    module_id: c.module_id,
                    module_title: c.module_title,
                    issued_at: c.issued_at,
                    expires_at: c.expires_at,
                    state: c.state,
                })
                .collect(),
            xp: XpSummaryDto {
                lifetime_xp: p.xp.lifetime_xp,
                total_xp: p.xp.total_xp,
                held_xp: p.xp.held_xp,
                rank: p.xp.rank,
            },
        }
    }
}

/// Get a member's progress.
///
/// Their assigned modules and learning paths with status and due dates, their quiz attempts,
/// certificates and XP. The member reads their own; VIEW_ALL_PROGRESS, VIEW_GROUP_PROGRESS and
/// VIEW_MANAGER_DASHBOARD holders read the members their grants reach (tenant-wide, the granted
/// groups, the manager subtree); anyone else in the tenant is 404 `member_not_found` to them, and
/// a member holding none of these is 403 `forbidden`.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 200, body = MemberProgressDto, description = "The member's progress"), AuthErrors, NotFound)
)]
#[get("/members/{user_id}/progress")]
pub(crate) async fn get_member_progress(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<MemberProgressDto>, ApiError> {
    let (user, now) = (UserId(path.into_inner()), ctx.now);
    let progress = ctx
        .read(async |conn| guild_analytics::members::progress(conn, &ctx.actor, user, now).await)
        .await?;
    Ok(web::Json(progress.into()))
}

/// A new role.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "HR"}))]
pub(crate) struct RoleRequest {
    /// Below yours (an OWNER may give any role).
    role: TenantRole,
}

/// Change a member's role.
///
/// For MANAGE_USERS holders, on a member below them, to a role below theirs (an OWNER may do
/// both); 403 `role_not_assignable` otherwise. 409 `last_owner` when it would leave the tenant
/// without an active OWNER, `member_removed` for a removed member.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    request_body = RoleRequest,
    responses((status = 200, body = MemberDto, description = "Changed"), AuthErrors, InputErrors, NotFound, Conflict)
)]
#[put("/members/{user_id}/role")]
pub(crate) async fn change_member_role(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<RoleRequest>,
) -> Result<web::Json<MemberDto>, ApiError> {
    let (user, role) = (UserId(path.into_inner()), body.into_inner().role);
    let member = ctx
        .write(async |conn| members::change_role(conn, &ctx.actor, user, role, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(member.into()))
}

/// A manager, or null for none.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"manager_id": "0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"}))]
pub(crate) struct ManagerRequest {
    /// The manager, a member of the tenant; `null` clears it.
    manager_id: Option<Uuid>,
}

/// Set or clear a member's manager.
///
/// For MANAGE_USERS holders. The manager tree has no cycles: a manager below the member is 422
/// `validation_failed`; an unknown manager 404 `member_not_found`.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    request_body = ManagerRequest,
    responses((status = 200, body = MemberDto, description = "Changed"), AuthErrors, InputErrors, NotFound)
)]
#[put("/members/{user_id}/manager")]
pub(crate) async fn set_member_manager(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<ManagerRequest>,
) -> Result<web::Json<MemberDto>, ApiError> {
    let (user, manager) = (
        UserId(path.into_inner()),
        body.into_inner().manager_id.map(UserId),
    );
    let member = ctx
        .write(async |conn| members::set_manager(conn, &ctx.actor, user, manager, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(member.into()))
}

/// Deactivate a member.
///
/// For MANAGE_USERS holders: the member is refused until reactivated. 409
/// `invitation_pending` for an invitation not yet accepted, `last_owner` for the last active
/// OWNER, `member_removed` for a removed member.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 200, body = MemberDto, description = "Deactivated"), AuthErrors, NotFound, Conflict)
)]
#[post("/members/{user_id}/deactivate")]
pub(crate) async fn deactivate_member(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<MemberDto>, ApiError> {
    let user = UserId(path.into_inner());
    let member = ctx
        .write(async |conn| members::set_active(conn, &ctx.actor, user, false, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(member.into()))
}

/// Reactivate a member.
///
/// For MANAGE_USERS holders: a deactivated member gets access again. 409
/// `invitation_pending` for an invitation not yet accepted, `member_removed` for a removed
/// member.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 200, body = MemberDto, description = "Reactivated"), AuthErrors, NotFound, Conflict)
)]
#[post("/members/{user_id}/reactivate")]
pub(crate) async fn reactivate_member(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<MemberDto>, ApiError> {
    let user = UserId(path.into_inner());
    let member = ctx
        .write(async |conn| members::set_active(conn, &ctx.actor, user, true, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(member.into()))
}

/// Remove a member from the tenant.
///
/// For MANAGE_USERS holders; the account stays. The membership is kept as REMOVED: the member loses access, their groups, grants and manager
/// links, but their certificates, XP ledger, completions and audit trail stay (list them with
/// `?status=REMOVED`; invite them again to bring them back). An invitation not yet accepted is
/// simply withdrawn. 409 `member_removed` when already removed, `last_owner` for the last OWNER.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound, Conflict)
)]
#[delete("/members/{user_id}")]
pub(crate) async fn remove_member(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId(path.into_inner());
    ctx.write(async |conn| members::remove(conn, &ctx.actor, user, ctx.now).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(HttpResponse::NoContent().finish())
}

/// Erase a removed member's personal data.
///
/// On the member's request, by a MANAGE_USERS holder. Their name and email are replaced in the account and in this tenant's audit details, and the
/// account can no longer sign in; certificates, XP and audit rows stay under the replaced name.
/// 409 `member_not_removed` unless removed first; 409 `member_of_another_tenant` while another
/// tenant still has the account as a member (the account is shared, so it is not erased then).
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    responses((status = 204, description = "Erased"), AuthErrors, NotFound, Conflict)
)]
#[post("/members/{user_id}/erase")]
pub(crate) async fn erase_member(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId(path.into_inner());
    ctx.write(async |conn| members::check_erasable(conn, &ctx.actor, user).await)
        .await?;
    let mut conn = guild_db::connect(&ctx.state.db).await?;
    members::erase_account(&mut conn, user, ctx.now).await?;
    drop(conn);
    ctx.write(async |conn| members::record_erasure(conn, &ctx.actor, user).await)
        .await?;
    ctx.state.actors.forget_user(user);
    Ok(HttpResponse::NoContent().finish())
}

/// List a member's explicit grants.
///
/// The grants on top of their role's defaults, by permission, a page at a time; readable by the
/// member themselves and by MANAGE_USERS holders.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id"), PageParams),
    responses((status = 200, body = PageOf<GrantDto>, description = "The grants"), AuthErrors, InputErrors, NotFound)
)]
#[get("/members/{user_id}/permissions")]
pub(crate) async fn list_member_permissions(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<GrantDto>>, ApiError> {
    let user = UserId(path.into_inner());
    let page = PageRequest::from(&query.into_inner());
    let grants = ctx
        .write(async |conn| members::grants_page(conn, &ctx.actor, user, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(grants, GrantDto::from)))
}

/// The complete set of grants.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"grants": [
    {"permission": "VIEW_GROUP_PROGRESS", "scope": {"group_ids": ["0190a0b2-7e55-7c3e-9d6b-52f1e1b8c7a0"]}}
]}))]
pub(crate) struct GrantsRequest {
    /// Each permission at most once.
    #[validate(length(max = 14))]
    #[schema(max_items = 14)]
    grants: Vec<GrantDto>,
}

/// Replace a member's explicit grants.
///
/// For MANAGE_USERS holders, who may give only permissions they hold tenant-wide (403
/// `forbidden` otherwise); answers the new set. 422 `validation_failed` (`duplicate`) when a
/// permission appears twice.
#[utoipa::path(
    tag = "members",
    params(("user_id" = Uuid, Path, description = "The member's user id")),
    request_body = GrantsRequest,
    responses((status = 200, body = Vec<GrantDto>, description = "The new grants"), AuthErrors, InputErrors, NotFound)
)]
#[put("/members/{user_id}/permissions")]
pub(crate) async fn set_member_permissions(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<GrantsRequest>,
) -> Result<web::Json<Vec<GrantDto>>, ApiError> {
    let user = UserId(path.into_inner());
    let grants: Vec<Grant> = body
        .into_inner()
        .grants
        .into_iter()
        .map(|g| Grant {
            permission: g.permission,
            scope: g.scope,
        })
        .collect();
    let saved = ctx
        .write(async |conn| members::set_grants(conn, &ctx.actor, user, &grants).await)
        .await?;
    ctx.state.actors.clear_tenant(ctx.actor.tenant_id);
    Ok(web::Json(saved.into_iter().map(GrantDto::from).collect()))
}

/// A CSV file to import.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "csv": "email,name,role,groups\nana.novak@example.com,Ana Novak,EMPLOYEE,Sales;Support\n",
    "dry_run": true
}))]
pub(crate) struct ImportRequest {
    /// CSV text with a header row: `email,name,role[,groups]` (groups separated by `;`).
    #[validate(length(min = 1, max = 1_000_000))]
    #[schema(min_length = 1, max_length = 1_000_000)]
    csv: String,
    /// Check only; import nothing.
    #[serde(default)]
    dry_run: bool,
}

/// One bad row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RowErrorDto {
    /// 1-based, the header being row 1.
    row: usize,
    field: String,
    message: String,
}

/// What the import did or would do.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ImportReportDto {
    dry_run: bool,
    /// Data rows read.
    rows: usize,
    /// Members invited.
    imported: usize,
    /// Every problem, by row (an import past the daily invitation cap is reported on row 1,
    /// field `rows`).
    errors: Vec<RowErrorDto>,
    /// Invitation emails the tenant may send per UTC day on its plan.
    daily_invitation_cap: u32,
    /// Invitation emails left today, before this import.
    invitations_left_today: u32,
}

/// Import members from CSV.
///
/// For MANAGE_USERS holders: invites every row, all or nothing. With `dry_run`, nothing is imported and the report lists every bad row. Without it, a file
/// with any bad row imports nothing and answers 422 `import_invalid` with the report in `report`.
#[utoipa::path(
    tag = "members",
    request_body = ImportRequest,
    responses(
        (status = 200, body = ImportReportDto, description = "The report (dry run, or everything imported)"),
        AuthErrors,
        InputErrors
    )
)]
#[post("/members/import")]
pub(crate) async fn import_members(
    ctx: Ctx<Permitted>,
    body: ValidJson<ImportRequest>,
) -> Result<web::Json<ImportReportDto>, ApiError> {
    let b = body.into_inner();
    let report = ctx
        .write(async |conn| {
            guild_tenancy::import::import_csv(
                conn,
                &ctx.actor,
                &b.csv,
                b.dry_run,
                &ctx.state.invite_caps,
                ctx.now,
            )
            .await
        })
        .await?;
    let dto = ImportReportDto {
        dry_run: report.dry_run,
        rows: report.rows,
        imported: report.imported,
        errors: report
            .errors
            .into_iter()
            .map(|e| RowErrorDto {
                row: e.row,
                field: e.field,
                message: e.message,
            })
            .collect(),
        daily_invitation_cap: report.daily_invitation_cap,
        invitations_left_today: report.invitations_left_today,
    };
    if !dto.dry_run && !dto.errors.is_empty() {
        return Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "import_invalid")
                .detail("some rows are invalid; nothing was imported")
                .extension("report", serde_json::to_value(&dto).unwrap_or_default()),
        );
    }
    Ok(web::Json(dto))
}
