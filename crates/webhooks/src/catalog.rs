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
    /// The fields of the domain event its `data` keeps (nothing else is sent: no tenant id, no
    /// internal flag), each an id, a number, a string or a time.
    pub fields: &'static [&'static str],
}

/// The test message, sent on request to one endpoint whatever its subscriptions.
pub const PING: &str = "webhook.ping";

/// Every public event type, in the order the catalog lists them.
pub const CATALOG: &[EventType] = &[
    EventType {
        name: "module.completed",
        description: "A member completed a module (once per member, module and cycle).",
        source: Some("learning.module_completed"),
        fields: &[
            "user_id",
            "module_id",
            "completion_id",
            "source",
            "completed_at",
        ],
    },
    EventType {
        name: "certificate.issued",
        description: "A member earned a certificate.",
        source: Some("learning.certificate_issued"),
        fields: &["user_id", "module_id", "certificate_id", "expires_at"],
    },
    EventType {
        name: "quiz.passed",
        description: "A member passed a quiz.",
        source: Some("assessment.quiz_passed"),
        fields: &[
            "user_id",
            "quiz_id",
            "module_id",
            "attempt_id",
            "score_points",
            "max_points",
            "score_percent",
        ],
    },
    EventType {
        name: "redemption.approved",
        description: "A member's reward redemption was approved.",
        source: Some("gamification.redemption_approved"),
        fields: &["user_id", "redemption_id", "reward_id", "cost_xp"],
    },
    EventType {
        name: "redemption.rejected",
        description: "A member's reward redemption was rejected.",
        source: Some("gamification.redemption_rejected"),
        fields: &["user_id", "redemption_id", "reward_id", "cost_xp", "reason"],
    },
    EventType {
        name: "suggestion.status_changed",
        description: "A knowledge suggestion was approved, rejected or converted into a module.",
        source: Some("social.suggestion_status_changed"),
        fields: &["suggestion_id", "status"],
    },
    EventType {
        name: PING,
        description: "A test message sent on request (`POST /v1/webhooks/endpoints/{id}/ping`).",
        source: None,
        fields: &["endpoint_id"],
    },
];

/// The catalog entry named `name`.
pub fn find(name: &str) -> Option<&'static EventType> {
    CATALOG.iter().find(|t| t.name == name)
}

/// The `data` of `event_type` made from a domain event's JSON: only the type's fields.
pub fn data_of(event_type: &EventType, event: &serde_json::Value) -> serde_json::Value {
    let mut data = serde_json::Map::new();
    for field in event_type.fields {
        data.insert(
            (*field).to_owned(),
            event
                .get(*field)
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        );
    }
    serde_json::Value::Object(data)
}

/// The catalog entries made from the domain event `kind`.
pub fn from_source(kind: &str) -> impl Iterator<Item = &'static EventType> + '_ {
    CATALOG.iter().filter(move |t| t.source == Some(kind))
}
