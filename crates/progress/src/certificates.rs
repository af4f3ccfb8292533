//! Certificates: issued automatically when a module is completed (or by an override that allows
//! it), with an unguessable public code, an expiry from the module's `validity_months`, and a
//! revocation with a reason. Anyone holding the code can verify it; verification shows the
//! holder's name, the module, the dates and the status, and nothing else.
//!
//! Certificates are never deleted: a module members completed can only be deleted when an
//! administrator forces it, which revokes its certificates first ([`revoke_all_of_module`]); the
//! rows stay, with the holder's name and the module's title copied at issue, and their module
//! and completion set to NULL by the database.

use chrono::{DateTime, Months, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use guild_db::schema::{certificates, modules, tenants, users};
use guild_kernel::{
    Actor, DomainEvent, Page, PageRequest, Permission, Target, TenantId, UserId, authorize,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::LearningError;

guild_kernel::string_enum!(
    /// Whether a certificate still certifies.
    CertificateStatus {
        /// Neither expired nor revoked.
        Valid => "VALID",
        /// Past its expiry.
        Expired => "EXPIRED",
        /// Revoked by an administrator (or with its module's deletion).
        Revoked => "REVOKED",
    }
);

/// A certificate.
#[derive(Debug, Clone, Serialize, Queryable, Selectable)]
#[diesel(table_name = certificates)]
pub struct Certificate {
    /// Id.
    pub id: Uuid,
    /// The public verification code.
    pub code: String,
    /// The holder.
    pub user_id: Uuid,
    /// The module; `None` once the module was deleted (the certificate was revoked then).
    pub module_id: Option<Uuid>,
    /// The completion it certifies; `None` once the module was deleted.
    pub completion_id: Option<Uuid>,
    /// The holder's name when issued.
    pub holder_name: String,
    /// The module's title when issued.
    pub module_title: String,
    /// Issued.
    pub issued_at: DateTime<Utc>,
    /// Expires (issue + the module's validity), if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// Revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Why.
    pub revoked_reason: Option<String>,
}

impl Certificate {
    /// VALID, EXPIRED or REVOKED at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> CertificateStatus {
        if self.revoked_at.is_some() {
            CertificateStatus::Revoked
        } else if self.expires_at.is_some_and(|e| e <= now) {
            CertificateStatus::Expired
        } else {
            CertificateStatus::Valid
        }
    }
}

/// A certificate was issued (notifications).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertificateIssued {
    /// The tenant.
    pub tenant_id: Uuid,
    /// The holder.
    pub user_id: Uuid,
    /// The module.
    pub module_id: Uuid,
    /// The certificate.
    pub certificate_id: Uuid,
    /// When it expires.
    pub expires_at: Option<DateTime<Utc>>,
}

impl DomainEvent for CertificateIssued {
    const KIND: &'static str = "learning.certificate_issued";
}

/// A new unguessable code: `GC-` and 20 characters of Crockford base32 (100 random bits).
pub fn new_code() -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random source");
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(b & 31)]))
        .collect();
    let groups: Vec<String> = chars.chunks(5).map(|c| c.iter().collect()).collect();
    format!("GC-{}", groups.join("-"))
}

/// Issues the certificate of a completion (once: a second call returns the first); `renews` is
/// the member's valid certificate it replaces, if any.
pub(crate) async fn issue(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    completion: Uuid,
    renews: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Certificate, LearningError> {
    if let Some(existing) = by_completion(conn, tenant, completion).await? {
        return Ok(existing);
    }
    let (title, validity): (String, Option<i32>) = modules::table
        .find((tenant.into_uuid(), module))
        .select((modules::title, modules::validity_months))
        .first(conn)
        .await?;
    let holder: String = users::table
        .find(user.into_uuid())
        .select(users::name)
        .first(conn)
        .await?;
    let issued_at = now;
    let expires_at = validity.and_then(|months| {
        issued_at.checked_add_months(Months::new(u32::try_from(months).unwrap_or(0)))
    });
    let certificate: Certificate = diesel::insert_into(certificates::table)
        .values((
            certificates::tenant_id.eq(tenant.into_uuid()),
            certificates::id.eq(Uuid::now_v7()),
            certificates::code.eq(new_code()),
            certificates::user_id.eq(user.into_uuid()),
            certificates::module_id.eq(module),
            certificates::completion_id.eq(completion),
            certificates::holder_name.eq(holder),
            certificates::module_title.eq(title),
            certificates::issued_at.eq(issued_at),
            certificates::expires_at.eq(expires_at),
            certificates::renews_certificate_id.eq(renews),
        ))
        .returning(Certificate::as_returning())
        .get_result(conn)
        .await?;
    guild_db::outbox::publish(
        conn,
        Some(tenant),
        &CertificateIssued {
            tenant_id: tenant.into_uuid(),
            user_id: user.into_uuid(),
            module_id: module,
            certificate_id: certificate.id,
            expires_at,
        },
    )
    .await?;
    Ok(certificate)
}

/// The certificate of a completion.
pub(crate) async fn by_completion(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    completion: Uuid,
) -> Result<Option<Certificate>, LearningError> {
    Ok(certificates::table
        .filter(certificates::tenant_id.eq(tenant.into_uuid()))
        .filter(certificates::completion_id.eq(completion))
        .select(Certificate::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// The member's latest certificate of the module that is neither revoked nor expired at `now`.
pub(crate) async fn latest_valid(
    conn: &mut AsyncPgConnection,
    tenant: TenantId,
    user: UserId,
    module: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<Uuid>, LearningError> {
    Ok(certificates::table
        .filter(certificates::tenant_id.eq(tenant.into_uuid()))
        .filter(certificates::user_id.eq(user.into_uuid()))
        .filter(certificates::module_id.eq(module))
        .filter(certificates::revoked_at.is_null())
        .filter(certificates::expires_at.gt(now))
        .order(certificates::issued_at.desc())
        .select(certificates::id)
        .first(conn)
        .await
        .optional()?)
}

/// May see every member's certificates: VIEW_ALL_PROGRESS or OVERRIDE_PROGRESS.
fn may_see_all(actor: &Actor) -> bool {
    authorize(actor, Permission::ViewAllProgress, Target::Tenant).is_ok()
        || authorize(actor, Permission::OverrideProgress, Target::Tenant).is_ok()
}

/// Whether `holder` is the actor acting for themselves (an API key that does not act as a
/// member reads a certificate only through its permissions, even its creator's).
fn own(actor: &Actor, holder: Uuid) -> bool {
    holder == actor.user_id.into_uuid() && actor.acts_as_member()
}

/// A member's certificates, newest first, a page at a time: one's own, or anyone's with
/// VIEW_ALL_PROGRESS.
pub async fn list(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    user: UserId,
    page: &PageRequest,
) -> Result<Page<Certificate>, LearningError> {
    if !own(actor, user.into_uuid()) && !may_see_all(actor) {
        authorize(actor, Permission::ViewAllProgress, Target::Tenant)?;
    }
    crate::overrides::check_member(conn, actor, user).await?;
    let limit = page.limit();
    let mut query = certificates::table
        .filter(certificates::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(certificates::user_id.eq(user.into_uuid()))
        .order((certificates::issued_at.desc(), certificates::id.desc()))
        .select(Certificate::as_select())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some((key, id)) = guild_learning::keyset(page)? {
        let before = guild_learning::cursor_time(&key)?;
        query = query.filter(
            certificates::issued_at
                .lt(before)
                .or(certificates::issued_at
                    .eq(before)
                    .and(certificates::id.lt(id))),
        );
    }
    let rows = query.load(conn).await?;
    Ok(Page::from_overfetch(rows, limit, |c: &Certificate| {
        guild_learning::keyset_key(guild_learning::time_key(c.issued_at), c.id)
    }))
}

/// One certificate: its holder's, or anyone's with VIEW_ALL_PROGRESS.
pub async fn get(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<Certificate, LearningError> {
    let certificate = certificates::table
        .find((actor.tenant_id.into_uuid(), id))
        .select(Certificate::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(LearningError::CertificateNotFound)?;
    if !own(actor, certificate.user_id) && !may_see_all(actor) {
        return Err(LearningError::CertificateNotFound);
    }
    Ok(certificate)
}

/// The tenant's display name (for the PDF).
pub async fn tenant_name(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
) -> Result<String, LearningError> {
    Ok(tenants::table
        .find(actor.tenant_id.into_uuid())
        .select(tenants::name)
        .first(conn)
        .await?)
}

/// Revokes a certificate (OVERRIDE_PROGRESS), with a reason; audited.
pub async fn revoke(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Certificate, LearningError> {
    authorize(actor, Permission::OverrideProgress, Target::Tenant)?;
    let current = get(conn, actor, id).await?;
    if current.revoked_at.is_some() {
        return Err(LearningError::AlreadyRevoked);
    }
    let revoked = revoke_row(conn, actor, id, reason, now).await?;
    guild_learning::audit(
        conn,
        actor,
        "CERTIFICATE_REVOKED",
        "certificate",
        id,
        serde_json::json!({ "reason": reason, "user_id": current.user_id }),
    )
    .await?;
    Ok(revoked)
}

pub(crate) async fn revoke_row(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Certificate, LearningError> {
    Ok(
        diesel::update(certificates::table.find((actor.tenant_id.into_uuid(), id)))
            .filter(certificates::revoked_at.is_null())
            .set((
                certificates::revoked_at.eq(now),
                certificates::revoked_reason.eq(reason),
                certificates::revoked_by.eq(actor.user_id.into_uuid()),
            ))
            .returning(Certificate::as_returning())
            .get_result(conn)
            .await?,
    )
}

/// Revokes every certificate of `module` that is not revoked yet, with `reason`, before the
/// module is deleted; returns how many.
pub(crate) async fn revoke_all_of_module(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    module: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<usize, LearningError> {
    Ok(diesel::update(certificates::table)
        .filter(certificates::tenant_id.eq(actor.tenant_id.into_uuid()))
        .filter(certificates::module_id.eq(module))
        .filter(certificates::revoked_at.is_null())
        .set((
            certificates::revoked_at.eq(now),
            certificates::revoked_reason.eq(reason),
            certificates::revoked_by.eq(actor.user_id.into_uuid()),
        ))
        .execute(conn)
        .await?)
}

/// What a public verification shows.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The holder's name.
    pub holder_name: String,
    /// The module.
    pub module_title: String,
    /// Issued.
    pub issued_at: DateTime<Utc>,
    /// Expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// VALID, EXPIRED or REVOKED.
    pub status: CertificateStatus,
}

/// Looks a code up across tenants (outside any tenant transaction), module certificates then
/// learning paths' (`module_title` is then the path's title): `None` when no certificate has it.
pub async fn verify(
    conn: &mut AsyncPgConnection,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Verification>, LearningError> {
    if code.len() > 64 {
        return Ok(None);
    }
    let found = certificates::table
        .filter(certificates::code.eq(code.to_ascii_uppercase()))
        .select(Certificate::as_select())
        .first(conn)
        .await
        .optional()?;
    match found {
        Some(c) => Ok(Some(Verification {
            status: c.status(now),
            holder_name: c.holder_name,
            module_title: c.module_title,
            issued_at: c.issued_at,
            expires_at: c.expires_at,
        })),
        // A learning path's certificate (`GP-…`): the same answer, the path's title.
        None => crate::paths::verify(conn, code, now).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_long_random_and_readable() {
        let a = new_code();
        let b = new_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), "GC-".len() + 20 + 3);
        assert!(a.starts_with("GC-"));
        assert!(
            a[3..]
                .chars()
                .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase())
        );
        assert!(!a.contains(['I', 'L', 'O', 'U']));
    }
}
