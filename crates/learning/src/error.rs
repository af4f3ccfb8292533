//! [`LearningError`]: what content operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{Denied, ErrorCode, FieldError};

/// A refused or failed content operation.
#[derive(Debug, thiserror::Error)]
pub enum LearningError {
    /// No such module visible to the actor (other tenants' and hidden ones included).
    #[error("module not found")]
    ModuleNotFound,
    /// No such section in the module.
    #[error("section not found")]
    SectionNotFound,
    /// No such category.
    #[error("category not found")]
    CategoryNotFound,
    /// No such group.
    #[error("group not found")]
    GroupNotFound,
    /// The mentor is not a member of the tenant.
    #[error("the mentor is not a member of this tenant")]
    MentorNotFound,
    /// The actor lacks a permission.
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// `If-Match` names another revision.
    #[error(
        "the resource changed since you read it (expected revision {expected}, current {current})"
    )]
    StaleRevision {
        /// What the client had.
        expected: i32,
        /// What is stored.
        current: i32,
    },
    /// Publishing a module without sections.
    #[error("a module needs at least one section to be published")]
    EmptyModule,
    /// The status change is not allowed (e.g. an archived module edited).
    #[error("{0}")]
    InvalidTransition(&'static str),
    /// Deleting a module that members completed, without `force`: archive it instead.
    #[error(
        "members completed this module ({completions} completion(s)); archive it instead, or have an administrator delete it with force, which revokes its certificates"
    )]
    ModuleHasCompletions {
        /// Completions of the module, active or archived.
        completions: i64,
    },
    /// The prerequisites would form a cycle.
    #[error("these prerequisites would form a cycle")]
    PrerequisiteCycle,
    /// A reorder that does not list exactly the module's sections.
    #[error("the order must list every section of the module exactly once")]
    BadOrder,
    /// A category with that name exists.
    #[error("a category with this name exists")]
    CategoryNameTaken,
    /// A new version of a module that did not change since its latest version.
    #[error("nothing changed since the latest version")]
    NoChanges,
    /// No such asset in the library (or not one the actor may download).
    #[error("asset not found")]
    AssetNotFound,
    /// No such attachment on the section.
    #[error("attachment not found")]
    AttachmentNotFound,
    /// The asset is not READY (still uploading, failed, or being deleted).
    #[error("the asset is not ready")]
    AssetNotReady,
    /// Deleting assets that sections use, without `force`.
    #[error("{0} section(s) use these assets; remove them first or delete with force")]
    AssetInUse(usize),
    /// The asset is already attached to the section.
    #[error("the asset is already attached to this section")]
    AlreadyAttached,
    /// The file's content is none of the accepted types.
    #[error("the file is not an accepted type (PDF, Word, PNG, JPEG, GIF, WebP, MP4, MOV, WebM)")]
    UnsupportedFileType,
    /// The file's content is another type than its name says.
    #[error("the file's name says .{extension} but its content is {actual}")]
    FileTypeMismatch {
        /// The name's extension.
        extension: String,
        /// What the content is.
        actual: &'static str,
    },
    /// The file is larger than its kind allows.
    #[error("{kind} files may be at most {max} bytes")]
    FileTooLarge {
        /// The kind.
        kind: &'static str,
        /// Its limit.
        max: u64,
    },
    /// A direct upload was completed but nothing was uploaded.
    #[error("nothing was uploaded to the upload URL")]
    UploadMissing,
    /// The module's prerequisites are not all completed.
    #[error("complete this module's prerequisites first")]
    ModuleLocked,
    /// Completing a VIDEO section before watching the share of it the tenant requires.
    #[error("watch at least {required} % of the video first (watched: {watched} %)")]
    VideoNotWatched {
        /// The tenant's required share, in percent.
        required: i32,
        /// The share watched, in percent (rounded down).
        watched: i32,
    },
    /// No such certificate (or not one the actor may see).
    #[error("certificate not found")]
    CertificateNotFound,
    /// The certificate is already revoked.
    #[error("the certificate is already revoked")]
    AlreadyRevoked,
    /// No such member in the tenant.
    #[error("member not found")]
    MemberNotFound,
    /// The member already completed the module.
    #[error("the member has already completed this module")]
    AlreadyCompleted,
    /// An override of one's own progress, or reverting one made on it (nobody certifies themselves).
    #[error("you cannot override your own progress")]
    CannotOverrideOwnProgress,
    /// No such override.
    #[error("override not found")]
    OverrideNotFound,
    /// The override was already reverted.
    #[error("the override was already reverted")]
    AlreadyReverted,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl LearningError {
    /// A `cursor` this list did not issue.
    pub fn bad_cursor() -> Self {
        Self::invalid("cursor", "invalid_cursor", "not a cursor this list issued")
    }

    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for LearningError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl ErrorCode for LearningError {
    fn code(&self) -> &'static str {
        match self {
            Self::ModuleNotFound => "module_not_found",
            Self::SectionNotFound => "section_not_found",
            Self::CategoryNotFound => "category_not_found",
            Self::GroupNotFound => "group_not_found",
            Self::MentorNotFound => "member_not_found",
            Self::Forbidden(e) => e.code(),
            Self::StaleRevision { .. } => "precondition_failed",
            Self::EmptyModule => "module_empty",
            Self::InvalidTransition(_) => "invalid_status_transition",
            Self::ModuleHasCompletions { .. } => "module_has_completions",
            Self::PrerequisiteCycle => "prerequisite_cycle",
            Self::BadOrder => "invalid_order",
            Self::CategoryNameTaken => "category_name_taken",
            Self::NoChanges => "no_changes",
            Self::ModuleLocked => "module_locked",
            Self::VideoNotWatched { .. } => "video_not_watched",
            Self::CertificateNotFound => "certificate_not_found",
            Self::AlreadyRevoked => "already_revoked",
            Self::MemberNotFound => "member_not_found",
            Self::AlreadyCompleted => "already_completed",
            Self::CannotOverrideOwnProgress => "cannot_override_own_progress",
            Self::OverrideNotFound => "override_not_found",
            Self::AlreadyReverted => "already_reverted",
            Self::AssetNotFound => "asset_not_found",
            Self::AttachmentNotFound => "attachment_not_found",
            Self::AssetNotReady => "asset_not_ready",
            Self::AssetInUse(_) => "asset_in_use",
            Self::AlreadyAttached => "already_attached",
            Self::UnsupportedFileType => "unsupported_file_type",
            Self::FileTypeMismatch { .. } => "file_type_mismatch",
            Self::FileTooLarge { .. } => "file_too_large",
            Self::UploadMissing => "upload_missing",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::ModuleNotFound
            | Self::SectionNotFound
            | Self::CategoryNotFound
            | Self::GroupNotFound
            | Self::MentorNotFound
            | Self::AssetNotFound
            | Self::AttachmentNotFound
            | Self::CertificateNotFound
            | Self::MemberNotFound
            | Self::OverrideNotFound => 404,
            Self::ModuleLocked
            | Self::VideoNotWatched { .. }
            | Self::ModuleHasCompletions { .. }
            | Self::AlreadyRevoked
            | Self::AlreadyCompleted
            | Self::AlreadyReverted => 409,
            Self::AssetNotReady | Self::AssetInUse(_) | Self::AlreadyAttached => 409,
            Self::FileTooLarge { .. } => 413,
            Self::UnsupportedFileType | Self::FileTypeMismatch { .. } | Self::UploadMissing => 422,
            Self::Forbidden(_) | Self::CannotOverrideOwnProgress => 403,
            Self::StaleRevision { .. } => 412,
            Self::CategoryNameTaken | Self::InvalidTransition(_) | Self::NoChanges => 409,
            Self::EmptyModule | Self::PrerequisiteCycle | Self::BadOrder | Self::Invalid(_) => 422,
            Self::Db(e) => e.status(),
        }
    }

    fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            _ => Vec::new(),
        }
    }
}

/// Maps a foreign-key violation to `err` (a referenced row is missing), passing every other error
/// through.
pub(crate) fn on_missing_reference(
    err: LearningError,
) -> impl FnOnce(diesel::result::Error) -> LearningError {
    move |e| match DbError::from(e) {
        DbError::ForeignKeyViolation { .. } => err,
        other => LearningError::Db(other),
    }
}
