//! The closed sets of the inbox: what a notification is about and what it links to.

guild_kernel::string_enum!(
    /// What a notification is about.
    NotificationType {
        /// A module was assigned to one of the member's groups.
        NewModule => "NEW_MODULE",
        /// An assigned module is due soon or overdue.
        DeadlineReminder => "DEADLINE_REMINDER",
        /// A quiz attempt was scored or graded.
        QuizResult => "QUIZ_RESULT",
        /// Someone replied to the member's comment.
        CommentReply => "COMMENT_REPLY",
        /// The member earned a certificate.
        CertificateIssued => "CERTIFICATE_ISSUED",
        /// A manager marked the member's module complete or reset it.
        ProgressOverride => "PROGRESS_OVERRIDE",
        /// A module the member studies changed.
        ModuleUpdated => "MODULE_UPDATED",
        /// A message from the platform (what's new, maintenance).
        System => "SYSTEM",
        /// The member's radar post was approved.
        RadarApproved => "RADAR_APPROVED",
        /// The member's radar post was rejected.
        RadarRejected => "RADAR_REJECTED",
        /// New knowledge was shared in the feed.
        NewKnowledge => "NEW_KNOWLEDGE",
        /// The member earned XP.
        XpEarned => "XP_EARNED",
        /// The member's reward redemption was approved.
        RewardApproved => "REWARD_APPROVED",
        /// The member's reward redemption was rejected.
        RewardRejected => "REWARD_REJECTED",
        /// The member's knowledge suggestion is popular.
        SuggestionPopular => "SUGGESTION_POPULAR",
        /// The status of the member's knowledge suggestion changed.
        SuggestionStatusChanged => "SUGGESTION_STATUS_CHANGED",
        /// A completed module's validity ends soon (renewal due).
        ModuleExpiring => "MODULE_EXPIRING",
        /// A completed module's validity ended; it must be taken again.
        ModuleExpired => "MODULE_EXPIRED",
        /// The member reached a new rank.
        RankUp => "RANK_UP",
        /// The member's assignment submission was graded.
        AssignmentGraded => "ASSIGNMENT_GRADED",
        /// A submission to an assignment of a module the member mentors awaits grading.
        SubmissionReceived => "SUBMISSION_RECEIVED",
    }
);

guild_kernel::string_enum!(
    /// What a notification links to.
    EntityKind {
        /// A module (`/v1/modules/{id}`).
        Module => "MODULE",
        /// A certificate (`/v1/certificates/{id}`).
        Certificate => "CERTIFICATE",
        /// A quiz attempt (`/v1/attempts/{id}`).
        QuizAttempt => "QUIZ_ATTEMPT",
        /// An assignment submission (`/v1/submissions/{id}`).
        Submission => "SUBMISSION",
        /// A reward redemption (`/v1/redemptions/{id}`).
        Redemption => "REDEMPTION",
        /// A progress override (`/v1/progress-overrides/{id}`).
        Override => "OVERRIDE",
    }
);
