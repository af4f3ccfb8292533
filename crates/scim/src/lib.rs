//! SCIM 2.0 provisioning (RFC 7643, RFC 7644) for one tenant: an identity provider creates,
//! reads, replaces, patches and deletes Users (members) and Groups, finds them with filters and
//! pages, and reads the discovery documents.
//!
//! This crate reads SCIM: filters ([`filter`]), PATCH operations ([`patch`]), the resources
//! ([`resource`]) and discovery ([`discovery`]), all pure and unit-tested; and it runs the
//! provisioning flows ([`service`]) through tenancy's own member and group functions, so the
//! rules, audit rows, events and limits are the ones an admin meets. It depends on tenancy for
//! that alone. The HTTP side (the `/scim/v2` routes, the SCIM token, content types) is the api
//! crate's.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod patch;
pub mod resource;
pub mod service;

pub use error::ScimError;

/// The most resources a page holds (`count` above it is lowered to it).
pub const MAX_PAGE: i64 = 200;

/// The most members one request may name for a group.
pub const MAX_MEMBERS_PER_REQUEST: usize = 1000;
