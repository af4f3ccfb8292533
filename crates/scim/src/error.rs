//! [`ScimError`]: a refusal as SCIM states it (RFC 7644 §3.12): an HTTP status, an optional
//! `scimType` and a human-readable `detail`, rendered as an `Error` resource.

use guild_kernel::ErrorCode;
use guild_tenancy::TenancyError;
use serde_json::{Value, json};

/// The `Error` resource's schema.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    /// The HTTP status.
    pub status: u16,
    /// RFC 7644's `scimType` (`invalidFilter`, `uniqueness`, `mutability`, `invalidValue`, …).
    pub scim_type: Option<&'static str>,
    /// What went wrong.
    pub detail: String,
}

impl std::fmt::Display for ScimError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.detail)
    }
}

impl std::error::Error for ScimError {}

impl ScimError {
    /// A 400 with `scimType`.
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    /// A 400 `invalidFilter`.
    pub fn filter(detail: impl Into<String>) -> Self {
        Self::bad("invalidFilter", detail)
    }

    /// A 400 `invalidValue`.
    pub fn value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }

    /// A 400 `invalidSyntax`.
    pub fn syntax(detail: impl Into<String>) -> Self {
        Self::bad("invalidSyntax", detail)
    }

    /// A 400 `invalidPath`.
    pub fn path(detail: impl Into<String>) -> Self {
        Self::bad("invalidPath", detail)
    }

    /// A 400 `mutability`.
    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad("mutability", detail)
    }

    /// A status without `scimType`.
    pub fn status(status: u16, detail: impl Into<String>) -> Self {
        Self {
            status,
            scim_type: None,
            detail: detail.into(),
        }
    }

    /// 404 for a resource that does not exist (or is another tenant's).
    pub fn not_found(what: &str) -> Self {
        Self::status(404, format!("{what} not found"))
    }

    /// The `Error` resource.
    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        body
    }
}

impl From<guild_db::DbError> for ScimError {
    fn from(e: guild_db::DbError) -> Self {
        TenancyError::Db(e).into()
    }
}

impl From<TenancyError> for ScimError {
    fn from(e: TenancyError) -> Self {
        let detail = e.to_string();
        match &e {
            TenancyError::MemberNotFound | TenancyError::MemberRemoved => Self::not_found("User"),
            TenancyError::GroupNotFound => Self::not_found("Group"),
            TenancyError::AlreadyMember | TenancyError::GroupNameTaken => Self {
                status: 409,
                scim_type: Some("uniqueness"),
                detail,
            },
            TenancyError::ManagerCycle => Self::value(detail),
            TenancyError::Invalid(fields) => {
                let detail = fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join("; ");
                if fields.iter().any(|f| f.code == "external_id_taken") {
                    Self {
                        status: 409,
                        scim_type: Some("uniqueness"),
                        detail,
                    }
                } else if fields.iter().any(|f| f.code == "name_is_the_account_s") {
                    Self::mutability(detail)
                } else {
                    Self::value(detail)
                }
            }
            TenancyError::InvitationPending => Self::mutability(
                "the member has not accepted their invitation yet; it can be deleted, not deactivated",
            ),
            _ => {
                let status = e.status();
                if status >= 500 {
                    Self::status(status, "the server failed; try again")
                } else {
                    Self::status(status, detail)
                }
            }
        }
    }
}
