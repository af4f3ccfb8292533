//! Guild's shared vocabulary, depended on by every other crate.
//!
//! It stays tiny and rarely edited: typed ids, the [`ErrorCode`] trait that lets the API render any
//! domain error, the [`Clock`], cursor pagination, the [`DomainEvent`] trait for the outbox and the keyring that seals secrets
//! at rest ([`sealed`]).
//! Nothing here knows about HTTP, SQL or any external service.

pub mod auth;
pub mod clock;
pub mod enums;
pub mod error;
pub mod event;
pub mod ids;
pub mod links;
pub mod page;
pub mod ports;
pub mod sealed;

pub use auth::{
    Actor, Denied, GlobalRole, Grant, GrantScope, MemberScope, MembershipStatus, Permission,
    Target, TenantRole, authorize, member_scope,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use enums::UnknownValue;
pub use error::{ErrorCode, FieldError};
pub use event::DomainEvent;
pub use ids::{
    AssetId, AttemptId, EventId, GroupId, JobId, ModuleId, QuizId, RewardId, SectionId, TenantId,
    UserId,
};
pub use links::check_link;
pub use page::{Cursor, CursorError, Keyset, Page, PageRequest};
