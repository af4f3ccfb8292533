//! Typed ids. All ids are UUIDv7, generated in Rust, so they sort by creation time and never need a
//! database sequence.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn into_uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A tenant: one company using Guild.
    TenantId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// An outbox event.
    EventId
);
id_type!(
    /// A background job.
    JobId
);
id_type!(
    /// A learning module.
    ModuleId
);
id_type!(
    /// A section of a module.
    SectionId
);
id_type!(
    /// A quiz of a module.
    QuizId
);
id_type!(
    /// A member's attempt at a quiz.
    AttemptId
);
id_type!(
    /// A reward of the shop.
    RewardId
);
id_type!(
    /// A group of members.
    GroupId
);
id_type!(
    /// A media asset.
    AssetId
);
