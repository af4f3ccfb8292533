//! Chat: the tenant's room, a room per module and direct conversations between two members
//! ([`rooms`]), their messages ([`messages`]) and the answers a module's mentors confirm.
//!
//! Who may read a room: every active member the tenant's room; a module's room exactly whoever
//! sees the module (`guild_learning::access::visible`: its audience, creator, mentors and those
//! who manage all modules); a direct conversation its two members only (no moderator reads it).
//! A room the actor may not read is 404 `room_not_found`, as if it did not exist.
//!
//! Who moderates (deletes anyone's message, reads edit histories): ADMIN and above in the
//! tenant's and every module's room, and a module's mentors in its room.
//!
//! Order: a room's messages are numbered from its row (`chat_rooms.last_seq`), whose lock the
//! sending transaction holds until it commits, so numbers follow commit order. The api layer
//! appends each change to the stream of every member in [`rooms::audience`] in that same
//! transaction, locking their stream heads after the room, so every member's stream receives a
//! room's changes in one order.

use guild_kernel::{Actor, TenantRole};
use guild_learning::LearningError;

use crate::SocialError;

pub mod demo;
pub mod messages;
pub mod rooms;

pub use messages::{AnswerConfirmed, message_visible_to};

/// Most characters in a message.
pub const MAX_TEXT: usize = 4000;
/// Most attachments on a message.
pub const MAX_ATTACHMENTS: usize = 5;
/// Most members one message mentions.
pub const MAX_MENTIONS: usize = 20;
/// Most direct conversations a member opens in 24 hours.
pub const MAX_NEW_DIRECT_PER_DAY: i64 = 30;

/// ADMIN and above: moderators of every room they can read (direct conversations aside).
pub(crate) fn is_admin(actor: &Actor) -> bool {
    matches!(
        actor.role,
        TenantRole::Owner | TenantRole::SuperAdmin | TenantRole::Admin
    )
}

/// Only members speak and keep markers: the platform owner visiting a tenant they do not belong
/// to reads rooms but writes nothing in them (403).
pub(crate) fn check_member(actor: &Actor) -> Result<(), SocialError> {
    if actor.impersonating {
        Err(SocialError::Forbidden)
    } else {
        Ok(())
    }
}

/// A learning refusal as chat shows it: an invisible module is a room that does not exist.
pub(crate) fn from_learning(e: LearningError, not_found: &'static str) -> SocialError {
    match e {
        LearningError::ModuleNotFound => SocialError::NotFound(not_found),
        LearningError::Db(db) => SocialError::Db(db),
        other => SocialError::invalid("module_id", "invalid", &other.to_string()),
    }
}
