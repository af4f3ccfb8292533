//! The audit log, for holders of VIEW_AUDIT_LOG.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use guild_kernel::PageRequest;
use guild_tenancy::audit::{self, AuditEntry, AuditFilter, AuditSort};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::routes::common::{AuthErrors, InputErrors, PageOf, PageParams};
use crate::routes::segment;

/// Registers `/v1/audit-log`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(segment("/audit-log").service(list_audit_log));
}

/// One audited change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AuditEntryDto {
    id: Uuid,
    /// Who acted.
    actor_id: Option<Uuid>,
    /// Set when the platform owner acted in a tenant they are not a member of.
    impersonated_by: Option<Uuid>,
    /// Set when the change came through an API key.
    api_key_id: Option<Uuid>,
    /// e.g. `MEMBER_INVITED`.
    action: String,
    entity_type: String,
    entity_id: Option<String>,
    metadata: serde_json::Value,
    /// The request that made the change.
    request_id: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            actor_id: e.actor_id,
            impersonated_by: e.impersonated_by,
            api_key_id: e.api_key_id,
            action: e.action,
            entity_type: e.entity_type,
            entity_id: e.entity_id,
            metadata: e.metadata,
            request_id: e.request_id,
            created_at: e.created_at,
        }
    }
}

/// Filters for the audit log.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Only this action, e.g. `MEMBER_REMOVED`.
    action: Option<String>,
    /// Only this entity type, e.g. `member`.
    entity_type: Option<String>,
    /// Only this entity.
    entity_id: Option<String>,
    /// Only changes by this user.
    actor_id: Option<Uuid>,
    /// The order: by time or action, `-` for descending; ties by entry id. Without it, newest
    /// first. A cursor belongs to the sort it was made with.
    #[param(inline)]
    sort: Option<AuditSort>,
    /// Page size: 1 to 200, 50 when left out.
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List the audit log.
///
/// For VIEW_AUDIT_LOG holders: every audited change in the tenant, newest first unless `sort`
/// says otherwise, filtered by action, entity and actor, a page at a time. 422 `invalid_cursor`
/// for a cursor not made by this list with this sort.
#[utoipa::path(
    tag = "audit",
    params(AuditQuery),
    responses((status = 200, body = PageOf<AuditEntryDto>, description = "A page of entries"), AuthErrors, InputErrors)
)]
#[get("/audit-log")]
pub(crate) async fn list_audit_log(
    ctx: Ctx<Permitted>,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<PageOf<AuditEntryDto>>, ApiError> {
    let q = query.into_inner();
    let filter = AuditFilter {
        action: q.action,
        entity_type: q.entity_type,
        entity_id: q.entity_id,
        actor_id: q.actor_id,
    };
    let page = PageRequest::from(&PageParams {
        limit: q.limit,
        cursor: q.cursor,
    });
    let sort = q.sort;
    let page = ctx
        .write(async |conn| audit::list(conn, &ctx.actor, &filter, sort, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(page, AuditEntryDto::from)))
}
