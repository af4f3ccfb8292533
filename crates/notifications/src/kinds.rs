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
        /// An announcement addressed to the member (the tenant, one of their groups, or a
        /// module they learn).
        Announcement => "ANNOUNCEMENT",
        /// Someone mentioned the member in a chat room they may read.
        ChatMention => "CHAT_MENTION",
        /// The member is registered for a live event (with its calendar invitation).
        EventRegistered => "EVENT_REGISTERED",
        /// A seat freed up and the member moved from an event's waitlist to its registrants.
        EventPromoted => "EVENT_PROMOTED",
        /// A live event the member registered for starts soon.
        EventReminder => "EVENT_REMINDER",
        /// The time or place of a live event the member registered for changed.
        EventChanged => "EVENT_CHANGED",
        /// A live event the member registered for was cancelled.
        EventCancelled => "EVENT_CANCELLED",
        /// A learning path was assigned to one of the member's groups.
        PathAssigned => "PATH_ASSIGNED",
        /// The member completed every module of a learning path.
        PathCompleted => "PATH_COMPLETED",
        /// One of the tenant's webhook endpoints was disabled after failing for too long.
        WebhookDisabled => "WEBHOOK_DISABLED",
        /// A coach scheduled a coaching session with the member (with its calendar invitation).
        CoachingSessionScheduled => "COACHING_SESSION_SCHEDULED",
        /// The time of a coaching session of the member changed.
        CoachingSessionChanged => "COACHING_SESSION_CHANGED",
        /// A coaching session of the member was cancelled.
        CoachingSessionCancelled => "COACHING_SESSION_CANCELLED",
        /// A coaching session of the member starts soon.
        CoachingSessionReminder => "COACHING_SESSION_REMINDER",
        /// An item of an action plan was given to the member.
        ActionItemAssigned => "ACTION_ITEM_ASSIGNED",
        /// An item of an action plan the member owns is past its due date.
        ActionItemOverdue => "ACTION_ITEM_OVERDUE",
        /// A member's question was escalated to the member, a mentor of its module.
        QuestionAssigned => "QUESTION_ASSIGNED",
        /// A mentor answered the member's question.
        QuestionAnswered => "QUESTION_ANSWERED",
        /// The asker accepted the member's answer, which became a confirmed answer.
        QuestionAccepted => "QUESTION_ACCEPTED",
        /// A report or export the member started is ready to download.
        ReportReady => "REPORT_READY",
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
        /// An entry of the platform changelog (`/v1/changelog`).
        ChangelogEntry => "CHANGELOG_ENTRY",
        /// A discussion thread of a module (`/v1/discussions/{id}`).
        DiscussionThread => "DISCUSSION_THREAD",
        /// An announcement (`/v1/announcements/{id}`).
        Announcement => "ANNOUNCEMENT",
        /// A chat room (`/v1/chat/rooms/{id}`).
        ChatRoom => "CHAT_ROOM",
        /// A post of the knowledge feed (`/v1/feed/posts/{id}`).
        RadarPost => "RADAR_POST",
        /// A knowledge suggestion (`/v1/suggestions/{id}`).
        Suggestion => "SUGGESTION",
        /// A live event (`/v1/events/{id}`).
        LiveEvent => "LIVE_EVENT",
        /// A learning path (`/v1/paths/{id}`).
        LearningPath => "LEARNING_PATH",
        /// A webhook endpoint (`/v1/webhooks/endpoints/{id}`).
        WebhookEndpoint => "WEBHOOK_ENDPOINT",
        /// A coaching session (`/v1/coaching/sessions/{id}`).
        CoachingSession => "COACHING_SESSION",
        /// An item of an action plan (`/v1/coaching/action-items/{id}`).
        ActionItem => "ACTION_ITEM",
        /// A question to mentors (`/v1/questions/{id}`).
        Question => "QUESTION",
        /// A background job (`/v1/jobs/{id}`).
        Job => "JOB",
    }
);

guild_kernel::string_enum!(
    /// The switch of a member's email preferences (`/v1/me/email-preferences`) that covers a
    /// notification type's emails, unless the member set that type on its own.
    EmailCategory {
        /// `new_modules`: content to learn.
        NewModules => "NEW_MODULES",
        /// `deadline_reminders`.
        DeadlineReminders => "DEADLINE_REMINDERS",
        /// `quiz_results`: quiz and assignment results.
        QuizResults => "QUIZ_RESULTS",
        /// `comment_replies`: answers to what the member shared.
        CommentReplies => "COMMENT_REPLIES",
        /// `certificates`: certificates, their expiry, and changes to the member's progress.
        Certificates => "CERTIFICATES",
        /// `rewards`: XP, ranks and the reward shop.
        Rewards => "REWARDS",
    }
);

impl NotificationType {
    /// The preference switch that covers this type's emails; `None` for platform messages
    /// (`SYSTEM`), the tenant's announcements (`ANNOUNCEMENT`), failing webhooks
    /// (`WEBHOOK_DISABLED`) and reports one asked for (`REPORT_READY`), which only their own
    /// per-type switch turns off.
    pub fn email_category(self) -> Option<EmailCategory> {
        use EmailCategory as C;
        Some(match self {
            Self::NewModule | Self::ModuleUpdated | Self::NewKnowledge | Self::PathAssigned => {
                C::NewModules
            }
            // Live events are the member's schedule, like their deadlines.
            Self::DeadlineReminder
            | Self::EventRegistered
            | Self::EventPromoted
            | Self::EventReminder
            | Self::EventChanged
            | Self::EventCancelled
            | Self::CoachingSessionScheduled
            | Self::CoachingSessionChanged
            | Self::CoachingSessionCancelled
            | Self::CoachingSessionReminder
            | Self::ActionItemAssigned
            | Self::ActionItemOverdue => C::DeadlineReminders,
            Self::QuizResult | Self::AssignmentGraded | Self::SubmissionReceived => C::QuizResults,
            Self::CommentReply
            | Self::ChatMention
            | Self::RadarApproved
            | Self::RadarRejected
            | Self::SuggestionPopular
            | Self::SuggestionStatusChanged
            | Self::QuestionAssigned
            | Self::QuestionAnswered
            | Self::QuestionAccepted => C::CommentReplies,
            Self::CertificateIssued
            | Self::ModuleExpiring
            | Self::ModuleExpired
            | Self::PathCompleted
            | Self::ProgressOverride => C::Certificates,
            Self::XpEarned | Self::RewardApproved | Self::RewardRejected | Self::RankUp => {
                C::Rewards
            }
            Self::System | Self::Announcement | Self::WebhookDisabled | Self::ReportReady => {
                return None;
            }
        })
    }
}
