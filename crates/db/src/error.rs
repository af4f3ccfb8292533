//! [`DbError`]: database failures mapped to stable codes.
//!
//! Domain errors wrap it (`#[error(transparent)] Db(#[from] DbError)`) and forward its code, so a
//! unique violation is a 409 `already_exists` whichever domain hit it, and a dead database is a
//! 503 `database_unavailable`, never a 500 with driver text in it.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use guild_kernel::ErrorCode;

/// A failed database operation.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The row asked for does not exist (or belongs to another tenant).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write. (The messages name no constraint: they reach
    /// clients as a 4xx `detail`, and the schema is not theirs to learn; `Debug` keeps it for
    /// logs.)
    #[error("something with these values already exists")]
    UniqueViolation {
        /// The constraint's name, e.g. `tenants_slug_key`.
        constraint: String,
    },
    /// A foreign key refused the write: the referenced row is missing, or is still referenced.
    #[error("a referenced item does not exist, or is still in use")]
    ForeignKeyViolation {
        /// The constraint's name.
        constraint: String,
    },
    /// A CHECK or NOT NULL constraint refused the write.
    #[error("a value is not allowed here")]
    CheckViolation {
        /// The constraint's name.
        constraint: String,
    },
    /// A serialization failure or deadlock: the transaction may be retried.
    #[error("concurrent update, retry")]
    Conflict,
    /// No connection could be had: the pool timed out or the server is unreachable.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; logged, shown to clients only as `database_error`.
    #[error(transparent)]
    Other(DieselError),
}

impl ErrorCode for DbError {
    fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::UniqueViolation { .. } => "already_exists",
            Self::ForeignKeyViolation { .. } => "reference_conflict",
            Self::CheckViolation { .. } => "constraint_violated",
            Self::Conflict => "concurrent_update",
            Self::Unavailable(_) => "database_unavailable",
            Self::Other(_) => "database_error",
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::NotFound => 404,
            Self::UniqueViolation { .. } | Self::ForeignKeyViolation { .. } | Self::Conflict => 409,
            Self::CheckViolation { .. } => 422,
            Self::Unavailable(_) => 503,
            Self::Other(_) => 500,
        }
    }
}

impl From<DieselError> for DbError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => Self::NotFound,
            DieselError::DatabaseError(kind, info) => {
                let constraint = info.constraint_name().unwrap_or("unknown").to_owned();
                match kind {
                    DatabaseErrorKind::UniqueViolation => Self::UniqueViolation { constraint },
                    DatabaseErrorKind::ForeignKeyViolation => {
                        Self::ForeignKeyViolation { constraint }
                    }
                    DatabaseErrorKind::CheckViolation | DatabaseErrorKind::NotNullViolation => {
                        let constraint = info
                            .constraint_name()
                            .or(info.column_name())
                            .unwrap_or("unknown")
                            .to_owned();
                        Self::CheckViolation { constraint }
                    }
                    DatabaseErrorKind::SerializationFailure => Self::Conflict,
                    DatabaseErrorKind::ClosedConnection => {
                        Self::Unavailable("connection closed".into())
                    }
                    _ if info.message().contains("deadlock detected") => Self::Conflict,
                    _ => Self::Other(DieselError::DatabaseError(kind, info)),
                }
            }
            DieselError::BrokenTransactionManager => {
                Self::Unavailable("connection left in a broken transaction".into())
            }
            other => Self::Other(other),
        }
    }
}

impl From<crate::pool::PoolError> for DbError {
    fn from(err: crate::pool::PoolError) -> Self {
        use deadpool::managed::PoolError as P;
        use diesel_async::pooled_connection::PoolError as Backend;
        match err {
            P::Backend(Backend::QueryError(e)) => Self::from(e),
            P::Backend(Backend::ConnectionError(e)) => Self::Unavailable(e.to_string()),
            P::Timeout(kind) => Self::Unavailable(format!("pool timed out ({kind:?})")),
            P::Closed => Self::Unavailable("pool closed".into()),
            P::NoRuntimeSpecified => Self::Unavailable("pool has no runtime".into()),
            P::PostCreateHook(e) => Self::Unavailable(e.to_string()),
        }
    }
}
