//! A tenant's webhook endpoints: an `https` URL checked against the SSRF guard, a description,
//! the event types it wants, enabled or not, and its signing secret.
//!
//! Invariants:
//! - Only MANAGE_WEBHOOKS holders (ADMIN and above by role; an API key only when it holds it)
//!   see or change endpoints; another tenant's endpoint is `webhook_endpoint_not_found`.
//! - A tenant has at most [`MAX_ENDPOINTS`]; creating one takes a per-tenant lock first, so two
//!   creations racing for the last place do not both get it.
//! - The secret is returned once (on create and on rotate) and stored sealed under the keyring
//!   (`guild_kernel::sealed`), bound to the endpoint (`webhook_endpoint:<tenant>:<id>`).
//! - A rotation keeps the previous secret signing until the overlap it was given ends; at most
//!   two secrets sign at once.
//! - Every change names the revision it saw (`If-Match`) and bumps it; each is audited.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::webhook_endpoints as e;
use guild_kernel::ports::WebhookSender;
use guild_kernel::sealed::Keyring;
use guild_kernel::{Actor, Page, PageRequest, Permission, Target, TenantId, authorize};
use serde::Serialize;
use uuid::Uuid;

use crate::{WebhookError, catalog, signing};

/// The most endpoints a tenant has.
pub const MAX_ENDPOINTS: i64 = 20;

/// The longest overlap a rotation may give the previous secret.
pub const MAX_OVERLAP: Duration = Duration::days(7);

/// The overlap when a rotation names none.
pub const DEFAULT_OVERLAP: Duration = Duration::hours(24);

const NOT_FOUND: WebhookError = WebhookError::NotFound("webhook_endpoint_not_found");

/// An endpoint (never its secrets).
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = e)]
pub struct Endpoint {
    /// Id.
    pub id: Uuid,
    /// Where messages are POSTed (`https`).
    pub url: String,
    /// What it is for.
    pub description: String,
    /// The catalog's event types it receives.
    pub event_types: Vec<String>,
    /// Messages are sent to it.
    pub enabled: bool,
    /// Why it is disabled: `MANUAL` (by an admin) or `FAILING` (by the worker).
    pub disabled_reason: Option<String>,
    /// When it was disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// Until when the previous secret also signs (after a rotation).
    pub previous_secret_until: Option<DateTime<Utc>>,
    /// Deliveries that ran out of attempts since the last success.
    pub consecutive_dead: i32,
    /// Its revision (the `ETag`).
    pub revision: i32,
    /// Who created it.
    pub created_by: Uuid,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What an endpoint is made of.
#[derive(Debug, Clone)]
pub struct EndpointInput {
    /// The `https` URL.
    pub url: String,
    /// What it is for (up to 500 characters).
    pub description: String,
    /// The catalog's event types it wants (1 to 100; a repeat counts once).
    pub event_types: Vec<String>,
}

/// What an update changes (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    /// A new URL.
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New event types.
    pub event_types: Option<Vec<String>>,
    /// Enable (which also forgets past failures) or disable it.
    pub enabled: Option<bool>,
}

/// The sealing context of an endpoint's secrets.
pub(crate) fn context(tenant: TenantId, id: Uuid) -> String {
    format!("webhook_endpoint:{}:{id}", tenant.into_uuid())
}

/// Refuses an actor without MANAGE_WEBHOOKS tenant-wide.
pub fn require(actor: &Actor) -> Result<(), WebhookError> {
    authorize(actor, Permission::ManageWebhooks, Target::Tenant)?;
    Ok(())
}

fn check_url(sender: &dyn WebhookSender, url: &str) -> Result<String, WebhookError> {
    let url = url.trim();
    if !url.starts_with("https://") || url.len() > 2000 {
        return Err(WebhookError::invalid(
            "url",
            "invalid_url",
            "an https URL of at most 2000 characters",
        ));
    }
    sender
        .check_url(url)
        .map_err(|e| WebhookError::invalid("url", "url_not_allowed", &e.to_string()))?;
    Ok(url.to_owned())
}

fn check_types(types: &[String]) -> Result<Vec<String>, WebhookError> {
    let mut out: Vec<String> = Vec::new();
    for t in types {
        match catalog::find(t) {
            Some(found) if found.name != catalog::PING => {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
            _ => {
                return Err(WebhookError::invalid(
                    "event_types",
                    "unknown_event_type",
                    &format!("{t} is not in the catalog (GET /v1/webhooks/event-types)"),
                ));
            }
        }
    }
    if out.is_empty() || out.len() > 100 {
        return Err(WebhookError::invalid(
            "event_types",
            "invalid_length",
            "1 to 100 event types",
        ));
    }
    Ok(out)
}

fn check_description(text: &str) -> Result<String, WebhookError> {
    let text = text.trim();
    if text.chars().count() > 500 {
        return Err(WebhookError::invalid(
            "description",
            "invalid_length",
            "at most 500 characters",
        ));
    }
    Ok(text.to_owned())
}

/// Creates an endpoint with a new secret, returned this once.
pub async fn create(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    keys: &Keyring,
    sender: &dyn WebhookSender,
    input: &EndpointInput,
    now: DateTime<Utc>,
) -> Result<(Endpoint, String), WebhookError> {
    require(actor)?;
    let url = check_url(sender, &input.url)?;
    let description = check_description(&input.description)?;
    let types = check_types(&input.event_types)?;
    let tenant = actor.tenant_id.into_uuid();
    guild_db::lock_xact(conn, &format!("webhook_endpoints:{tenant}")).await?;
    let count: i64 = e::table
        .filter(e::tenant_id.eq(tenant))
        .count()
        .get_result(conn)
        .await?;
    if count >= MAX_ENDPOINTS {
        return Err(WebhookError::EndpointLimit);
    }
    let id = Uuid::now_v7();
    let secret = signing::new_secret()?;
    let sealed = keys.seal(&context(actor.tenant_id, id), secret.as_bytes())?;
    let endpoint = diesel::insert_into(e::table)
        .values((
            e::tenant_id.eq(tenant),
            e::id.eq(id),
            e::url.eq(&url),
            e::description.eq(&description),
            e::event_types.eq(&types),
            e::secret_sealed.eq(&sealed),
            e::created_by.eq(actor.user_id.into_uuid()),
            e::created_at.eq(now),
            e::updated_at.eq(now),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "WEBHOOK_ENDPOINT_CREATED",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({ "url": url, "event_types": types }),
    )
    .await?;
    Ok((endpoint, secret))
}

/// The tenant's endpoints, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    page: &PageRequest,
) -> Result<Page<Endpoint>, WebhookError> {
    require(actor)?;
    let limit = page.limit();
    let mut query = e::table
        .filter(e::tenant_id.eq(actor.tenant_id.into_uuid()))
        .select(Endpoint::as_select())
        .order(e::id.desc())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(before) = crate::cursor_uuid(page)? {
        query = query.filter(e::id.lt(before));
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |x: &Endpoint| {
        x.id.to_string()
    }))
}

/// One endpoint.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Endpoint, WebhookError> {
    require(actor)?;
    find(conn, actor.tenant_id, id, false).await
}

/// The endpoint `id` of `tenant`, its row locked when `lock` is set.
pub(crate) async fn find(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    id: Uuid,
    lock: bool,
) -> Result<Endpoint, WebhookError> {
    let query = e::table
        .filter(e::tenant_id.eq(tenant.into_uuid()))
        .filter(e::id.eq(id))
        .select(Endpoint::as_select());
    let found = if lock {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    };
    found.ok_or(NOT_FOUND)
}

async fn find_current(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
) -> Result<Endpoint, WebhookError> {
    let found = find(conn, actor.tenant_id, id, true).await?;
    if found.revision != expected {
        return Err(WebhookError::StaleRevision {
            current: found.revision,
        });
    }
    Ok(found)
}

/// Changes an endpoint of revision `expected`. Enabling a disabled one forgets its failures.
pub async fn update(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    sender: &dyn WebhookSender,
    id: Uuid,
    changes: &EndpointChanges,
    expected: i32,
    now: DateTime<Utc>,
) -> Result<Endpoint, WebhookError> {
    require(actor)?;
    let url = changes
        .url
        .as_deref()
        .map(|u| check_url(sender, u))
        .transpose()?;
    let description = changes
        .description
        .as_deref()
        .map(check_description)
        .transpose()?;
    let types = changes
        .event_types
        .as_deref()
        .map(check_types)
        .transpose()?;
    let current = find_current(conn, actor, id, expected).await?;
    let (enabled, reason, disabled_at, dead) = match changes.enabled {
        Some(true) if !current.enabled => (true, None, None, 0),
        Some(false) if current.enabled => (
            false,
            Some("MANUAL".to_owned()),
            Some(now),
            current.consecutive_dead,
        ),
        _ => (
            current.enabled,
            current.disabled_reason.clone(),
            current.disabled_at,
            current.consecutive_dead,
        ),
    };
    let endpoint = diesel::update(e::table)
        .filter(e::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(e::id.eq(id))
        .set((
            e::url.eq(url.as_deref().unwrap_or(&current.url)),
            e::description.eq(description.as_deref().unwrap_or(&current.description)),
            e::event_types.eq(types.as_ref().unwrap_or(&current.event_types)),
            e::enabled.eq(enabled),
            e::disabled_reason.eq(reason),
            e::disabled_at.eq(disabled_at),
            e::consecutive_dead.eq(dead),
            e::revision.eq(current.revision + 1),
            e::updated_at.eq(now),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "WEBHOOK_ENDPOINT_UPDATED",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({
            "url": endpoint.url,
            "event_types": endpoint.event_types,
            "enabled": endpoint.enabled,
        }),
    )
    .await?;
    Ok(endpoint)
}

/// Deletes an endpoint of revision `expected`, with its deliveries.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    expected: i32,
) -> Result<(), WebhookError> {
    require(actor)?;
    let current = find_current(conn, actor, id, expected).await?;
    diesel::delete(e::table)
        .filter(e::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(e::id.eq(id))
        .execute(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "WEBHOOK_ENDPOINT_DELETED",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({ "url": current.url }),
    )
    .await?;
    Ok(())
}

/// Gives an endpoint a new secret, returned this once; the one it replaces keeps signing for
/// `overlap` (0 to [`MAX_OVERLAP`]; zero: it stops at once).
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    keys: &Keyring,
    id: Uuid,
    overlap: Duration,
    now: DateTime<Utc>,
) -> Result<(Endpoint, String), WebhookError> {
    require(actor)?;
    if overlap < Duration::zero() || overlap > MAX_OVERLAP {
        return Err(WebhookError::invalid(
            "overlap_seconds",
            "out_of_range",
            "0 to 604800 seconds",
        ));
    }
    let current = find(conn, actor.tenant_id, id, true).await?;
    let tenant = actor.tenant_id.into_uuid();
    let old_sealed: String = e::table
        .filter(e::tenant_id.eq(tenant))
        .filter(e::id.eq(id))
        .select(e::secret_sealed)
        .first(conn)
        .await?;
    let secret = signing::new_secret()?;
    let sealed = keys.seal(&context(actor.tenant_id, id), secret.as_bytes())?;
    let (previous, until) = if overlap > Duration::zero() {
        (Some(old_sealed), Some(now + overlap))
    } else {
        (None, None)
    };
    let endpoint = diesel::update(e::table)
        .filter(e::tenant_id.eq(tenant))
        .filter(e::id.eq(id))
        .set((
            e::secret_sealed.eq(&sealed),
            e::previous_secret_sealed.eq(previous),
            e::previous_secret_until.eq(until),
            e::revision.eq(current.revision + 1),
            e::updated_at.eq(now),
        ))
        .returning(Endpoint::as_returning())
        .get_result(conn)
        .await?;
    guild_db::audit::record(
        conn,
        actor,
        "WEBHOOK_SECRET_ROTATED",
        "webhook_endpoint",
        Some(id.to_string()),
        serde_json::json!({ "overlap_seconds": overlap.num_seconds() }),
    )
    .await?;
    Ok((endpoint, secret))
}

/// The secrets that sign for an endpoint at `now`: the current one, then the previous one while
/// its overlap lasts.
pub(crate) async fn signing_secrets(
    conn: &mut AsyncPgConnection,
    keys: &Keyring,
    tenant: TenantId,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<String>, WebhookError> {
    let (current, previous, until): (String, Option<String>, Option<DateTime<Utc>>) = e::table
        .filter(e::tenant_id.eq(tenant.into_uuid()))
        .filter(e::id.eq(id))
        .select((
            e::secret_sealed,
            e::previous_secret_sealed,
            e::previous_secret_until,
        ))
        .first(conn)
        .await
        .optional()?
        .ok_or(NOT_FOUND)?;
    let ctx = context(tenant, id);
    let open = |sealed: &str| -> Result<String, WebhookError> {
        let bytes = keys.open(&ctx, sealed)?;
        String::from_utf8(bytes).map_err(|_| guild_kernel::sealed::SealError::Malformed.into())
    };
    let mut out = vec![open(&current)?];
    if let (Some(previous), Some(until)) = (previous, until)
        && until > now
    {
        out.push(open(&previous)?);
    }
    Ok(out)
}

/// Re-seals every endpoint secret (current and previous) not sealed under `keys`' current key,
/// for `guild rekey`: outside any tenant (the connecting role), 500 endpoints per transaction,
/// each secret opened for its own endpoint and sealed again for it. Returns how many secrets
/// moved; a second run moves none.
pub async fn rekey(conn: &mut AsyncPgConnection, keys: &Keyring) -> Result<u64, WebhookError> {
    use diesel_async::AsyncConnection;
    // `_` is a LIKE wildcard, and may be part of a key id.
    let current = format!("{}.%", keys.sealing_key_id().replace('_', "\\_"));
    let mut moved = 0_u64;
    loop {
        let batch = conn
            .transaction::<_, WebhookError, _>(async |conn| {
                let rows: Vec<(Uuid, Uuid, String, Option<String>)> = e::table
                    .filter(
                        e::secret_sealed
                            .not_like(&current)
                            .or(e::previous_secret_sealed
                                .is_not_null()
                                .and(e::previous_secret_sealed.not_like(&current))),
                    )
                    .order((e::tenant_id, e::id))
                    .limit(500)
                    .select((
                        e::tenant_id,
                        e::id,
                        e::secret_sealed,
                        e::previous_secret_sealed,
                    ))
                    .for_update()
                    .load(conn)
                    .await?;
                let mut secrets = 0_u64;
                for (tenant, id, secret, previous) in &rows {
                    let ctx = context(TenantId(*tenant), *id);
                    let mut again = |sealed: &str| -> Result<String, WebhookError> {
                        if sealed.starts_with(&format!("{}.", keys.sealing_key_id())) {
                            return Ok(sealed.to_owned());
                        }
                        secrets += 1;
                        Ok(keys.seal(&ctx, &keys.open(&ctx, sealed)?)?)
                    };
                    let secret = again(secret)?;
                    let previous = previous.as_deref().map(&mut again).transpose()?;
                    diesel::update(e::table.find((*tenant, *id)))
                        .set((
                            e::secret_sealed.eq(secret),
                            e::previous_secret_sealed.eq(previous),
                        ))
                        .execute(conn)
                        .await?;
                }
                Ok((rows.len(), secrets))
            })
            .await?;
        moved += batch.1;
        if batch.0 < 500 {
            break;
        }
    }
    Ok(moved)
}
