//! [`AssessmentError`]: what quiz and assignment operations refuse, with stable codes.

use guild_db::DbError;
use guild_kernel::{Denied, ErrorCode, FieldError};
use guild_learning::LearningError;

/// A refused or failed quiz or assignment operation.
#[derive(Debug, thiserror::Error)]
pub enum AssessmentError {
    /// No such module visible to the actor.
    #[error("module not found")]
    ModuleNotFound,
    /// No such quiz visible to the actor (other tenants' and hidden modules' included).
    #[error("quiz not found")]
    QuizNotFound,
    /// No such question in the quiz.
    #[error("question not found")]
    QuestionNotFound,
    /// No such attempt the actor may see.
    #[error("attempt not found")]
    AttemptNotFound,
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
    /// A reorder that does not list exactly the quiz's questions.
    #[error("the order must list every question of the quiz exactly once")]
    BadOrder,
    /// Starting a quiz of a module whose prerequisites the actor has not completed.
    #[error("complete this module's prerequisites first")]
    ModuleLocked,
    /// Starting a quiz that has no questions.
    #[error("the quiz has no questions yet")]
    QuizEmpty,
    /// Every attempt the quiz allows has been used.
    #[error("you have used every attempt this quiz allows")]
    MaxAttemptsReached,
    /// The attempt was already submitted (or closed).
    #[error("the attempt is no longer in progress")]
    AttemptNotInProgress,
    /// The attempt's time ran out (deadline plus the grace period).
    #[error("the attempt's time limit has passed; it was closed as timed out")]
    AttemptTimedOut,
    /// Grading an attempt that is not waiting for review.
    #[error("the attempt is not waiting for review")]
    AttemptNotPendingReview,
    /// No such assignment visible to the actor (other tenants' and hidden modules' included).
    #[error("assignment not found")]
    AssignmentNotFound,
    /// No such submission the actor may see.
    #[error("submission not found")]
    SubmissionNotFound,
    /// The due date has passed and the assignment does not accept late submissions.
    #[error("the assignment's due date has passed and it does not accept late submissions")]
    AssignmentClosed,
    /// The member's submission was graded: no more submissions.
    #[error("your submission was graded; the assignment takes no more submissions")]
    AssignmentAlreadyGraded,
    /// A grader grading their own submission (nobody grades their own work).
    #[error("you cannot grade your own submission")]
    CannotGradeOwnSubmission,
    /// A grader grading essays of their own quiz attempt (nobody grades their own work).
    #[error("you cannot grade your own quiz attempt")]
    CannotGradeOwnAttempt,
    /// Grading a submission that already has its grade (grades are final).
    #[error("the submission is already graded")]
    SubmissionAlreadyGraded,
    /// Grading a submission that a resubmission replaced.
    #[error("a newer submission replaced this one; grade the latest")]
    SubmissionSuperseded,
    /// A file whose type the assignment does not accept.
    #[error("this assignment accepts only these file types: {allowed}")]
    FileTypeNotAllowed {
        /// The accepted extensions, comma-separated.
        allowed: String,
    },
    /// A file whose content is none of the accepted media types.
    #[error("the file's type is not supported")]
    UnsupportedFileType,
    /// A file whose name's extension names another type than its content.
    #[error("the file name ends in .{extension} but the file is {actual}")]
    FileTypeMismatch {
        /// The name's extension.
        extension: String,
        /// The type found in the bytes.
        actual: &'static str,
    },
    /// A file larger than the assignment (or its kind) allows.
    #[error("the file is larger than the {max} bytes allowed")]
    FileTooLarge {
        /// The limit in bytes.
        max: u64,
    },
    /// The member's assignment files would pass their upload quota in this tenant.
    #[error("your assignment files may take {quota} bytes in all; {used} are used")]
    UploadQuotaExceeded {
        /// The quota in bytes.
        quota: u64,
        /// Bytes the member's files take already.
        used: u64,
    },
    /// No such question bank in the actor's tenant.
    #[error("question bank not found")]
    QuestionBankNotFound,
    /// The tenant holds as many question banks as it may.
    #[error("the tenant has as many question banks as it may")]
    QuestionBankLimitReached,
    /// The bank holds as many questions as it may.
    #[error("the question bank has as many questions as it may")]
    BankQuestionLimitReached,
    /// Deleting a bank a quiz draws from.
    #[error("a quiz draws questions from this bank; change its draws first")]
    QuestionBankInUse,
    /// Input that breaks a rule.
    #[error("the request has invalid fields")]
    Invalid(Vec<FieldError>),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl AssessmentError {
    /// One invalid field.
    pub fn invalid(field: &str, code: &str, message: &str) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<diesel::result::Error> for AssessmentError {
    fn from(err: diesel::result::Error) -> Self {
        Self::Db(DbError::from(err))
    }
}

impl From<LearningError> for AssessmentError {
    fn from(err: LearningError) -> Self {
        match err {
            LearningError::Forbidden(denied) => Self::Forbidden(denied),
            LearningError::Db(db) => Self::Db(db),
            LearningError::UnsupportedFileType => Self::UnsupportedFileType,
            LearningError::FileTypeMismatch { extension, actual } => {
                Self::FileTypeMismatch { extension, actual }
            }
            LearningError::FileTooLarge { max, .. } => Self::FileTooLarge { max },
            // The module checks only ever refuse with "not found" or "forbidden".
            _ => Self::ModuleNotFound,
        }
    }
}

impl ErrorCode for AssessmentError {
    fn code(&self) -> &'static str {
        match self {
            Self::ModuleNotFound => "module_not_found",
            Self::QuizNotFound => "quiz_not_found",
            Self::QuestionNotFound => "question_not_found",
            Self::AttemptNotFound => "attempt_not_found",
            Self::Forbidden(e) => e.code(),
            Self::StaleRevision { .. } => "precondition_failed",
            Self::BadOrder => "invalid_order",
            Self::QuizEmpty => "quiz_empty",
            Self::ModuleLocked => "module_locked",
            Self::MaxAttemptsReached => "quiz_max_attempts_reached",
            Self::AttemptNotInProgress => "attempt_not_in_progress",
            Self::AttemptTimedOut => "attempt_timed_out",
            Self::AttemptNotPendingReview => "attempt_not_pending_review",
            Self::AssignmentNotFound => "assignment_not_found",
            Self::SubmissionNotFound => "submission_not_found",
            Self::AssignmentClosed => "assignment_closed",
            Self::AssignmentAlreadyGraded => "assignment_already_graded",
            Self::CannotGradeOwnSubmission => "cannot_grade_own_submission",
            Self::CannotGradeOwnAttempt => "cannot_grade_own_attempt",
            Self::SubmissionAlreadyGraded => "submission_already_graded",
            Self::SubmissionSuperseded => "submission_superseded",
            Self::FileTypeNotAllowed { .. } => "file_type_not_allowed",
            Self::UnsupportedFileType => "unsupported_file_type",
            Self::FileTypeMismatch { .. } => "file_type_mismatch",
            Self::FileTooLarge { .. } => "file_too_large",
            Self::UploadQuotaExceeded { .. } => "upload_quota_exceeded",
            Self::QuestionBankNotFound => "question_bank_not_found",
            Self::QuestionBankLimitReached => "question_bank_limit_reached",
            Self::BankQuestionLimitReached => "bank_question_limit_reached",
            Self::QuestionBankInUse => "question_bank_in_use",
            Self::Invalid(_) => "validation_failed",
            Self::Db(e) => e.code(),
        }
    }

    fn status(&self) -> u16 {
        match self {
            Self::ModuleNotFound
            | Self::QuizNotFound
            | Self::QuestionNotFound
            | Self::AttemptNotFound
            | Self::AssignmentNotFound
            | Self::SubmissionNotFound
            | Self::QuestionBankNotFound => 404,
            Self::Forbidden(_) | Self::CannotGradeOwnSubmission | Self::CannotGradeOwnAttempt => {
                403
            }
            Self::StaleRevision { .. } => 412,
            Self::MaxAttemptsReached
            | Self::ModuleLocked
            | Self::AttemptNotInProgress
            | Self::AttemptTimedOut
            | Self::AttemptNotPendingReview
            | Self::AssignmentClosed
            | Self::AssignmentAlreadyGraded
            | Self::SubmissionAlreadyGraded
            | Self::SubmissionSuperseded
            | Self::QuestionBankLimitReached
            | Self::BankQuestionLimitReached
            | Self::QuestionBankInUse => 409,
            Self::FileTooLarge { .. } | Self::UploadQuotaExceeded { .. } => 413,
            Self::FileTypeNotAllowed { .. }
            | Self::UnsupportedFileType
            | Self::FileTypeMismatch { .. } => 422,
            Self::BadOrder | Self::QuizEmpty | Self::Invalid(_) => 422,
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
