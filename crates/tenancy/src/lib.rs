//! Tenancy, identity and access: tenants, global users and their memberships (role, manager),
//! scoped permission grants, groups, sign-in sessions, API keys, email preferences (and who gets a
//! deadline reminder), the development mailbox, the audit log, and single sign-on through each
//! tenant's OpenID provider (`sso`).
//!
//! Every tenant-scoped function takes an [`Actor`](guild_kernel::Actor) and starts with
//! [`authorize`](guild_kernel::authorize); every mutation writes its audit row in the same
//! transaction. Cross-tenant identity lookups (sign-in, a user's memberships) live here and only
//! here.

pub mod actor;
pub mod api_keys;
pub mod audit;
pub mod demo;
pub mod dev_mailbox;
pub mod error;
pub mod events;
pub mod groups;
pub mod import;
pub mod invitations;
pub mod members;
pub mod preferences;
pub mod provisioning;
pub mod quota;
pub mod recovery;
pub mod secrets;
pub mod sessions;
pub mod sso;
pub mod tenants;

#[cfg(test)]
mod tests;

pub use error::TenancyError;

use guild_kernel::PageRequest;

diesel::define_sql_function! {
    /// SQL `lower(text)`.
    #[sql_name = "lower"]
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// Reads a closed-set TEXT column read as a string into its enum; a value outside the set (which
/// the column's CHECK constraint rules out) is a deserialization error.
pub(crate) fn parse_column<T: std::str::FromStr<Err = guild_kernel::UnknownValue>>(
    value: &str,
) -> Result<T, TenancyError> {
    value.parse().map_err(|e: guild_kernel::UnknownValue| {
        TenancyError::from(guild_db::DbError::Other(
            diesel::result::Error::DeserializationError(Box::new(e)),
        ))
    })
}

/// The keyset position a list sorted by `sort` continues after.
pub(crate) fn cursor_keyset(
    page: &PageRequest,
    sort: &str,
) -> Result<Option<guild_kernel::Keyset>, TenancyError> {
    page.keyset(sort).map_err(|_| invalid_cursor())
}

pub(crate) fn invalid_cursor() -> TenancyError {
    TenancyError::invalid("cursor", "invalid_cursor", "the cursor is not valid")
}

/// The UUID a list's cursor points after.
pub(crate) fn cursor_uuid(page: &PageRequest) -> Result<Option<uuid::Uuid>, TenancyError> {
    let invalid = || TenancyError::invalid("cursor", "invalid_cursor", "the cursor is not valid");
    match page.cursor().map_err(|_| invalid())? {
        None => Ok(None),
        Some(c) => c.0.parse().map(Some).map_err(|_| invalid()),
    }
}
