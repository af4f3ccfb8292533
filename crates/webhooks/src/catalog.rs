//! The event catalog: the public event types an endpoint subscribes to, each mapped from a
//! domain event of the outbox. Names are `noun.verb_past` and never renamed once shipped;
//! their payload schemas are published in the OpenAPI document's `webhooks` section.

/// One public event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    /// The type, as sent in the envelope's `type`.
    pub name: &'static str,
    /// What happened.
    pub description: &'static str,
    /// The domain event (outbox kind) it is made from; `None` for `webhook.ping`.
    pub source: Option<&'static str>,
}

/// The test message, sent on request to one endpoint whatever its subscriptions.
pub const PING: &str = "webhook.ping";

/// Every public event type, in the order the catalog lists them.
pub const CATALOG: &[EventType] = &[
    EventType {
        name: "module.published",
        description: "A module became available to its learners (published, or assigned to them).",
        source: Some("learning.module_available"),
    },
    EventType {
        name: "module.updated",
        description: "A published module got a new version (a changelog entry).",
        source: Some("learning.module_updated"),
    },
    EventType {
        name: "module.completed",
        description: "A member completed a module (once per member, module and cycle).",
        source: Some("learning.module_completed"),
    },
    EventType {
        name: "progress.overridden",
        description: "A manager overrode a member's progress in a module.",
        source: Some("learning.progress_overridden"),
    },
    EventType {
        name: "certificate.issued",
        description: "A member earned a certificate.",
        source: Some("learning.certificate_issued"),
    },
    EventType {
        name: "quiz.passed",
        description: "A member passed a quiz.",
        source: Some("assessment.quiz_passed"),
    },
    EventType {
        name: "rank.changed",
        description: "A member reached a new rank.",
        source: Some("gamification.rank_changed"),
    },
    EventType {
        name: "redemption.approved",
        description: "A member's reward redemption was approved.",
        source: Some("gamification.redemption_approved"),
    },
    EventType {
        name: "redemption.rejected",
        description: "A member's reward redemption was rejected.",
        source: Some("gamification.redemption_rejected"),
    },
    EventType {
        name: "suggestion.status_changed",
        description: "A knowledge suggestion was approved, rejected or converted into a module.",
        source: Some("social.suggestion_status_changed"),
    },
    EventType {
        name: PING,
        description: "A test message sent on request (`POST /v1/webhooks/endpoints/{id}/ping`).",
        source: None,
    },
];

/// The catalog entry named `name`.
pub fn find(name: &str) -> Option<&'static EventType> {
    CATALOG.iter().find(|t| t.name == name)
}

/// The catalog entries made from the domain event `kind`.
pub fn from_source(kind: &str) -> impl Iterator<Item = &'static EventType> + '_ {
    CATALOG.iter().filter(move |t| t.source == Some(kind))
}
