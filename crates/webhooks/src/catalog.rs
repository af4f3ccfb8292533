//! The event catalog: the public event types an endpoint subscribes to, each made from a domain
//! event of the outbox. Names are `noun.verb_past` and never renamed once shipped; each type's
//! fields are typed here, and the OpenAPI document's `webhooks` section publishes them as the
//! payload schema of that type (`guild_api::openapi`).

/// What a field holds, as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A UUID, as a string.
    Id,
    /// An array of UUIDs.
    Ids,
    /// A string; [`Field::values`] lists the values it takes when they are fixed.
    Text,
    /// A whole number.
    Integer,
    /// A decimal number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An RFC 3339 date and time.
    Time,
}

/// One field of a type's `data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Its name in `data` (the domain event's field of the same name).
    pub name: &'static str,
    /// What it holds.
    pub kind: Kind,
    /// It may be `null`.
    pub nullable: bool,
    /// The values a [`Kind::Text`] field takes; empty when free.
    pub values: &'static [&'static str],
    /// What it means.
    pub description: &'static str,
}

const fn field(name: &'static str, kind: Kind, description: &'static str) -> Field {
    Field {
        name,
        kind,
        nullable: false,
        values: &[],
        description,
    }
}

const fn id(name: &'static str, description: &'static str) -> Field {
    field(name, Kind::Id, description)
}

const fn nullable(mut f: Field) -> Field {
    f.nullable = true;
    f
}

const fn one_of(mut f: Field, values: &'static [&'static str]) -> Field {
    f.values = values;
    f
}

/// One public event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventType {
    /// The type, as sent in the envelope's `type`.
    pub name: &'static str,
    /// What happened.
    pub description: &'static str,
    /// The domain event (outbox kind) it is made from; `None` for `webhook.ping`.
    pub source: Option<&'static str>,
    /// Only the source events whose string field `.0` equals `.1` (one domain event telling
    /// several changes, such as `tenancy.member_changed`'s `change`); `None` for all of them.
    pub when: Option<(&'static str, &'static str)>,
    /// The fields of the domain event its `data` keeps (nothing else is sent: no tenant id, no
    /// internal flag).
    pub fields: &'static [Field],
}

/// The test message, sent on request to one endpoint whatever its subscriptions.
pub const PING: &str = "webhook.ping";

const USER: Field = id("user_id", "The member.");
const MODULE: Field = id("module_id", "The module.");
const GROUP: Field = id("group_id", "The group.");
const EVENT: Field = id("event_id", "The live event.");
const PATH: Field = id("path_id", "The learning path.");

const ROLES: &[&str] = &["OWNER", "SUPER_ADMIN", "ADMIN", "HR", "EMPLOYEE", "VIEWER"];
const STATUSES: &[&str] = &["INVITED", "ACTIVE", "DEACTIVATED", "REMOVED"];

const MEMBER_FIELDS: &[Field] = &[
    USER,
    field("email", Kind::Text, "Their email address."),
    field("name", Kind::Text, "Their name."),
    one_of(
        field("role", Kind::Text, "Their role in the tenant now."),
        ROLES,
    ),
    one_of(
        field("status", Kind::Text, "Their membership now."),
        STATUSES,
    ),
    nullable(id("manager_id", "Their manager now.")),
];

const GROUP_FIELDS: &[Field] = &[GROUP, field("name", Kind::Text, "Its name.")];

const GROUP_MEMBER_FIELDS: &[Field] = &[
    GROUP,
    field(
        "user_ids",
        Kind::Ids,
        "The members added or removed (only those whose membership changed).",
    ),
];

const QUIZ_FIELDS: &[Field] = &[
    USER,
    id("quiz_id", "The quiz."),
    MODULE,
    id("attempt_id", "The attempt (one message per attempt)."),
    field("score_points", Kind::Number, "Points scored."),
    field("max_points", Kind::Integer, "Points possible."),
    field(
        "score_percent",
        Kind::Number,
        "The score in percent, 0 to 100, two decimals.",
    ),
];

const REDEMPTION_FIELDS: &[Field] = &[
    USER,
    id("redemption_id", "The redemption."),
    id("reward_id", "The reward."),
    field("cost_xp", Kind::Integer, "What it costs, in XP."),
];

const fn member(name: &'static str, change: &'static str, description: &'static str) -> EventType {
    EventType {
        name,
        description,
        source: Some("tenancy.member_changed"),
        when: Some(("change", change)),
        fields: MEMBER_FIELDS,
    }
}

const fn group(
    name: &'static str,
    source: &'static str,
    change: &'static str,
    fields: &'static [Field],
    description: &'static str,
) -> EventType {
    EventType {
        name,
        description,
        source: Some(source),
        when: Some(("change", change)),
        fields,
    }
}

const fn plain(
    name: &'static str,
    source: &'static str,
    fields: &'static [Field],
    description: &'static str,
) -> EventType {
    EventType {
        name,
        description,
        source: Some(source),
        when: None,
        fields,
    }
}

/// Every public event type, in the order the catalog lists them.
pub const CATALOG: &[EventType] = &[
    member(
        "member.invited",
        "INVITED",
        "Someone was invited to the tenant (by an admin or a CSV import); they join on accepting.",
    ),
    member(
        "member.joined",
        "JOINED",
        "An invited member accepted and is now active.",
    ),
    member(
        "member.role_changed",
        "ROLE_CHANGED",
        "A member's role changed.",
    ),
    member(
        "member.manager_changed",
        "MANAGER_CHANGED",
        "A member's manager was set, changed or cleared.",
    ),
    member(
        "member.deactivated",
        "DEACTIVATED",
        "A member was deactivated: they cannot sign in to the tenant.",
    ),
    member(
        "member.reactivated",
        "REACTIVATED",
        "A deactivated member was reactivated.",
    ),
    member(
        "member.removed",
        "REMOVED",
        "A member was removed from the tenant (their history stays), or an invitation withdrawn.",
    ),
    group(
        "group.created",
        "tenancy.group_changed",
        "CREATED",
        GROUP_FIELDS,
        "A group was created.",
    ),
    group(
        "group.updated",
        "tenancy.group_changed",
        "UPDATED",
        GROUP_FIELDS,
        "A group was renamed or its description changed.",
    ),
    group(
        "group.deleted",
        "tenancy.group_changed",
        "DELETED",
        GROUP_FIELDS,
        "A group was deleted.",
    ),
    group(
        "group.members_added",
        "tenancy.group_members_changed",
        "ADDED",
        GROUP_MEMBER_FIELDS,
        "Members were added to a group.",
    ),
    group(
        "group.members_removed",
        "tenancy.group_members_changed",
        "REMOVED",
        GROUP_MEMBER_FIELDS,
        "Members were taken out of a group.",
    ),
    plain(
        "module.available",
        "learning.module_available",
        &[
            MODULE,
            nullable(id(
                "group_id",
                "The group it was just assigned to; `null` when it became available by being published.",
            )),
            field("at", Kind::Time, "When."),
        ],
        "A published module became available to members: it was published while assigned to \
groups (or in an open catalog), or assigned to a group while published.",
    ),
    plain(
        "module.updated",
        "learning.module_updated",
        &[
            MODULE,
            field("version", Kind::Integer, "The new version."),
            field("summary", Kind::Text, "What changed."),
        ],
        "A published module got a material new version.",
    ),
    plain(
        "module.completed",
        "learning.module_completed",
        &[
            USER,
            MODULE,
            id("completion_id", "The completion."),
            one_of(
                field(
                    "source",
                    Kind::Text,
                    "How: by progress, or set by an admin.",
                ),
                &["PROGRESS", "OVERRIDE"],
            ),
            field("completed_at", Kind::Time, "When."),
        ],
        "A member completed a module (once per member, module and cycle).",
    ),
    plain(
        "certificate.issued",
        "learning.certificate_issued",
        &[
            USER,
            MODULE,
            id("certificate_id", "The certificate."),
            nullable(field(
                "expires_at",
                Kind::Time,
                "When it expires; `null` when it does not.",
            )),
        ],
        "A member earned a certificate.",
    ),
    plain(
        "path.assigned",
        "progress.path_assigned",
        &[
            PATH,
            nullable(id(
                "group_id",
                "The group it was assigned to; `null` when a path assigned to groups was published.",
            )),
        ],
        "A learning path was assigned to a group, or a path assigned to groups was published.",
    ),
    plain(
        "path.completed",
        "progress.path_completed",
        &[
            USER,
            PATH,
            id("completion_id", "The path completion."),
            nullable(id(
                "certificate_id",
                "The path certificate, when one was issued.",
            )),
            field("completed_at", Kind::Time, "When."),
        ],
        "A member completed every module of a learning path.",
    ),
    plain(
        "quiz.passed",
        "assessment.quiz_passed",
        QUIZ_FIELDS,
        "A member's attempt was scored at or above the quiz's passing score.",
    ),
    plain(
        "quiz.failed",
        "assessment.quiz_failed",
        QUIZ_FIELDS,
        "A member's attempt was scored below the quiz's passing score.",
    ),
    plain(
        "assignment.submitted",
        "assessment.assignment_submitted",
        &[
            USER,
            id("assignment_id", "The assignment."),
            MODULE,
            id("submission_id", "The submission."),
            field(
                "number",
                Kind::Integer,
                "1 for the first submission, 2 for the first resubmission…",
            ),
            field("late", Kind::Boolean, "Submitted after the due date."),
        ],
        "A member submitted (or resubmitted) work for an assignment.",
    ),
    plain(
        "assignment.graded",
        "assessment.assignment_graded",
        &[
            USER,
            id("assignment_id", "The assignment."),
            MODULE,
            id("submission_id", "The submission."),
            field("score", Kind::Number, "The score, 0 to `max_score`."),
            field(
                "max_score",
                Kind::Integer,
                "The assignment's maximum score.",
            ),
            id("graded_by", "Who graded it."),
        ],
        "A member's submission was graded.",
    ),
    plain(
        "event.changed",
        "live.changed",
        &[
            EVENT,
            field(
                "revision",
                Kind::Integer,
                "Its revision after the change (one message per revision).",
            ),
        ],
        "A live event's time, place or details changed.",
    ),
    plain(
        "event.cancelled",
        "live.cancelled",
        &[EVENT],
        "A live event was cancelled.",
    ),
    plain(
        "event.completed",
        "live.completed",
        &[EVENT],
        "A live event was marked completed.",
    ),
    plain(
        "event.registered",
        "live.registered",
        &[
            EVENT,
            USER,
            one_of(
                field(
                    "status",
                    Kind::Text,
                    "A seat, or a place on the waiting list.",
                ),
                &["REGISTERED", "WAITLISTED"],
            ),
            field("position", Kind::Integer, "Their position."),
        ],
        "A member registered for a live event, or joined its waiting list.",
    ),
    plain(
        "event.promoted",
        "live.promoted",
        &[
            EVENT,
            USER,
            field("position", Kind::Integer, "Their position."),
        ],
        "A member on a live event's waiting list got a freed seat.",
    ),
    plain(
        "event.attended",
        "live.attended",
        &[EVENT, USER],
        "A member's attendance at a live event was confirmed.",
    ),
    plain(
        "rank.changed",
        "gamification.rank_changed",
        &[
            USER,
            field("from", Kind::Text, "The rank before."),
            field("to", Kind::Text, "The rank now."),
            field(
                "lifetime_xp",
                Kind::Integer,
                "The member's lifetime XP now.",
            ),
        ],
        "A member reached a new rank.",
    ),
    plain(
        "redemption.approved",
        "gamification.redemption_approved",
        REDEMPTION_FIELDS,
        "A member's reward redemption was approved.",
    ),
    plain(
        "redemption.rejected",
        "gamification.redemption_rejected",
        &[
            USER,
            id("redemption_id", "The redemption."),
            id("reward_id", "The reward."),
            field("cost_xp", Kind::Integer, "What it costs, in XP."),
            nullable(field("reason", Kind::Text, "Why.")),
        ],
        "A member's reward redemption was rejected.",
    ),
    plain(
        "suggestion.status_changed",
        "social.suggestion_status_changed",
        &[
            id("suggestion_id", "The suggestion."),
            one_of(
                field("status", Kind::Text, "Its status now."),
                &["APPROVED", "REJECTED", "CONVERTED"],
            ),
        ],
        "A knowledge suggestion was approved, rejected or converted into a module.",
    ),
    EventType {
        name: PING,
        description: "A test message sent on request (`POST /v1/webhooks/endpoints/{id}/ping`).",
        source: None,
        when: None,
        fields: &[id("endpoint_id", "The endpoint pinged.")],
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
            field.name.to_owned(),
            event
                .get(field.name)
                .cloned()
                .unwrap_or(serde_json::Value::Null),
        );
    }
    serde_json::Value::Object(data)
}

/// The catalog entries the domain event `kind` with JSON `event` becomes.
pub fn from_source<'a>(
    kind: &'a str,
    event: &'a serde_json::Value,
) -> impl Iterator<Item = &'static EventType> + 'a {
    CATALOG.iter().filter(move |t| {
        t.source == Some(kind)
            && t.when.is_none_or(|(name, value)| {
                event.get(name).and_then(serde_json::Value::as_str) == Some(value)
            })
    })
}

/// The domain event kinds the catalog is made from, each once.
pub fn sources() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = CATALOG.iter().filter_map(|t| t.source).collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_a_changing_source_is_told_apart_by_its_change() {
        let mut names: Vec<_> = CATALOG.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOG.len());
        let joined = serde_json::json!({ "change": "JOINED", "user_id": "u" });
        let made: Vec<_> = from_source("tenancy.member_changed", &joined)
            .map(|t| t.name)
            .collect();
        assert_eq!(made, ["member.joined"]);
        let passed = serde_json::json!({ "attempt_id": "a" });
        let made: Vec<_> = from_source("assessment.quiz_passed", &passed)
            .map(|t| t.name)
            .collect();
        assert_eq!(made, ["quiz.passed"]);
        assert_eq!(from_source("tenancy.member_changed", &passed).count(), 0);
    }

    #[test]
    fn the_listed_roles_and_statuses_are_the_kernels() {
        let roles: Vec<_> = guild_kernel::TenantRole::ALL
            .iter()
            .map(|r| r.as_str())
            .collect();
        assert_eq!(roles, ROLES);
        let statuses: Vec<_> = guild_kernel::MembershipStatus::ALL
            .iter()
            .map(|s| s.as_str())
            .collect();
        assert_eq!(statuses, STATUSES);
    }

    #[test]
    fn data_keeps_only_the_types_fields() {
        let t = find("event.attended").unwrap();
        let data = data_of(
            t,
            &serde_json::json!({ "tenant_id": "t", "event_id": "e", "user_id": "u" }),
        );
        assert_eq!(data, serde_json::json!({ "event_id": "e", "user_id": "u" }));
    }
}
