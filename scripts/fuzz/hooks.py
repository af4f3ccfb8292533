"""schemathesis hooks for `make fuzz` (scripts/fuzz.sh loads them through SCHEMATHESIS_HOOKS).

Each hook narrows one thing the generator cannot know from the schema; every check stays on.
"""

import pathlib
import re
import tomllib
import uuid

import schemathesis
from schemathesis.core.parameters import ParameterLocation

# The `Idempotency-Key` schema: 1 to 255 visible ASCII characters.
_IDEMPOTENCY_KEY = re.compile(r"^[!-~]{1,255}$")


def _header(headers, name):
    for key in headers:
        if key.lower() == name.lower():
            return key
    return None


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    # `Idempotency-Key`: a key is reused only to retry the same request; the same key with another
    # request is 422 `idempotency_key_reused`. The generator draws keys independently of bodies,
    # so it reuses simple keys ("0", "A"…) across different requests. Each request gets a fresh
    # key here: only a valid key is replaced, by another valid one, so a case made invalid through
    # its key stays invalid.
    if case.headers:
        key = _header(case.headers, "Idempotency-Key")
        value = case.headers.get(key) if key else None
        if isinstance(value, str) and _IDEMPOTENCY_KEY.match(value):
            case.headers[key] = str(uuid.uuid4())

    # `cursor`: a page cursor is opaque, and only a `next_cursor` Guild made is valid (any other
    # string is 422 `invalid_cursor`); no JSON Schema keyword can state that. A generated cursor
    # is dropped from requests meant to be valid, so the rest of their query is still tested and
    # the 422 of a forged cursor stays covered by the tests of the lists. Requests whose query was
    # made invalid on purpose keep it (they are refused with 422 either way).
    if isinstance(case.query, dict) and "cursor" in case.query and not _negative_query(case):
        del case.query["cursor"]


def _negative_query(case):
    meta = getattr(case, "meta", None)
    if meta is None:
        return False
    return meta.is_negative_at(ParameterLocation.QUERY)


# Rules no JSON Schema keyword can state: they depend on stored state, on uploaded bytes, or tie
# fields together. scripts/fuzz/schemathesis.toml lets these operations refuse a schema-valid
# request with 413 or 422; the check below holds them to the codes that name those rules. A
# problem code, or `validation_failed:<field error code>` when every field error of a
# `validation_failed` has one of the listed codes.
STATE_RULES = {
    # A SCIM token (PROVISION_SCIM) holds that permission alone and does not act as a member.
    "POST /v1/api-keys": {"validation_failed:scim_key_exclusive"},
    # A general question names the module whose mentors answer it; a question about a module goes
    # to that module's mentors only.
    "POST /v1/questions/{question_id}/escalate": {
        "validation_failed:required",
        "validation_failed:module_mismatch",
    },
    # An away period ends after it starts, in the future, at most 366 days later.
    "PUT /v1/me/away": {"validation_failed:range"},
    # A webhook URL must pass the SSRF guard (https on the default port, no private IP literal,
    # no credentials); event types name the catalog's.
    "POST /v1/webhooks/endpoints": {
        "validation_failed:invalid_url",
        "validation_failed:url_not_allowed",
        "validation_failed:unknown_event_type",
    },
    "PATCH /v1/webhooks/endpoints/{endpoint_id}": {
        "validation_failed:invalid_url",
        "validation_failed:url_not_allowed",
        "validation_failed:unknown_event_type",
    },
    # A single sign-on issuer passes the SSRF guard (https on the default port, a public host, no
    # query); allowed domains are host names (and some remain once duplicates are dropped); the
    # first configuration carries the client secret; a groups claim is not blank.
    "PUT /v1/tenant/sso": {
        "validation_failed:issuer_not_allowed",
        "validation_failed:invalid_domain",
        "validation_failed:length",
        "validation_failed:required",
    },
    # A replay window ends after it starts, at most 7 days later.
    "POST /v1/webhooks/endpoints/{endpoint_id}/replay-failed": {"validation_failed:invalid_window"},
    # Mentions name active members of the tenant.
    "POST /v1/discussions": {"validation_failed:member_not_found"},
    "POST /v1/discussions/{discussion_id}/posts": {"validation_failed:member_not_found"},
    # The groups are the tenant's; `group_ids` goes with GROUPS and `module_id` with MODULE; a
    # pin ends in the future.
    "POST /v1/announcements": {
        "validation_failed:group_not_found",
        "validation_failed:invalid",
        "validation_failed:in_the_past",
    },
    "PUT /v1/announcements/{announcement_id}/pin": {"validation_failed:in_the_past"},
    # A template may name only the variables its notification type (in the path) provides.
    "POST /v1/notification-templates/{notification_type}/preview": {"template_render_error"},
    # The file's real type is read from its bytes and must match its extension.
    # An empty file has no type at all.
    "POST /v1/media": {"unsupported_file_type", "file_type_mismatch", "validation_failed:empty"},
    # Completion reads what arrived at the upload URL (nothing yet, or other bytes).
    "POST /v1/media/{asset_id}/complete": {
        "upload_missing",
        "unsupported_file_type",
        "file_type_mismatch",
        "file_too_large",
    },
    # The assignment lists the file types it accepts; each member has a storage quota.
    "POST /v1/assignments/{assignment_id}/files": {
        "file_type_not_allowed",
        "unsupported_file_type",
        "file_type_mismatch",
        "file_too_large",
        "upload_quota_exceeded",
        "validation_failed:empty",
        # A text-only assignment takes no files; the part's file name is not in the schema.
        "validation_failed:not_accepted",
        "validation_failed:invalid_file_name",
    },
    # The assignment says whether it takes a text answer, files or both; the files are ones the
    # member uploaded for this assignment.
    "POST /v1/assignments/{assignment_id}/submissions": {
        "validation_failed:required",
        "validation_failed:not_allowed",
        "validation_failed:unknown",
    },
    # The CSV's header row and rows are read from the file; a row may name someone who is
    # already a member (the whole import is refused, with a report per row).
    "POST /v1/members/import": {
        "validation_failed:missing_columns",
        "validation_failed:invalid_csv",
        "import_invalid",
    },
    # Answers name the attempt's own questions (and their options), once each; a choice question
    # is answered with options (one, unless MULTIPLE_CHOICE), the others with text.
    "POST /v1/attempts/{attempt_id}/submit": {
        "validation_failed:unknown",
        "validation_failed:unique",
        "validation_failed:not_allowed",
        "validation_failed:count",
    },
    # An attempt needs a quiz with questions.
    "POST /v1/quizzes/{quiz_id}/attempts": {"quiz_empty"},
    # Options, correct answers and accepted answers depend on the question's kind.
    "POST /v1/quizzes/{quiz_id}/questions": {
        "validation_failed:not_allowed",
        "validation_failed:required",
        "validation_failed:count",
        "validation_failed:one_correct",
        "validation_failed:min_correct",
        "validation_failed:unique",
    },
    "PATCH /v1/quizzes/{quiz_id}/questions/{question_id}": {
        "validation_failed:not_allowed",
        "validation_failed:required",
        "validation_failed:count",
        "validation_failed:one_correct",
        "validation_failed:min_correct",
        "validation_failed:unique",
    },
    # A bank question follows the quiz question rules.
    "POST /v1/question-banks/{bank_id}/questions": {
        "validation_failed:not_allowed",
        "validation_failed:required",
        "validation_failed:count",
        "validation_failed:one_correct",
        "validation_failed:min_correct",
        "validation_failed:unique",
    },
    # A played interval and the position lie within the video's duration; only VIDEO sections
    # record video progress.
    "POST /v1/sections/{section_id}/video-progress": {
        "validation_failed:range",
        "validation_failed:not_a_video",
    },
    "PATCH /v1/question-banks/{bank_id}/questions/{question_id}": {
        "validation_failed:not_allowed",
        "validation_failed:required",
        "validation_failed:count",
        "validation_failed:one_correct",
        "validation_failed:min_correct",
        "validation_failed:unique",
    },
    # A learning path's cover is a ready image of the library, and names each module once; a
    # published path keeps at least one module, all published.
    "POST /v1/paths": {"validation_failed:not_an_image", "validation_failed:duplicate"},
    "PATCH /v1/paths/{path_id}": {
        "validation_failed:not_an_image",
        "validation_failed:duplicate",
        "path_not_publishable",
    },
    "POST /v1/paths/{path_id}/status": {"path_not_publishable"},
    # A new order lists every stored section or question exactly once.
    "PUT /v1/modules/{module_id}/sections/order": {"invalid_order"},
    "PUT /v1/quizzes/{quiz_id}/questions/order": {"invalid_order"},
    # A video reference must fit its source (a YouTube or Vimeo URL, a Stream uid, an id).
    "POST /v1/modules/{module_id}/sections": {"validation_failed:invalid_video", "validation_failed:required"},
    "PATCH /v1/modules/{module_id}/sections/{section_id}": {
        "validation_failed:invalid_video",
        "validation_failed:required",
    },
    # The best level of every rubric criterion adds up to max_score; levels lie within it; ids are
    # unique within their list (uniqueItems compares whole items, not one property).
    "POST /v1/modules/{module_id}/assignments": {
        "validation_failed:rubric_total",
        "validation_failed:range",
        "validation_failed:unique",
        # The section it belongs to is a section of this module; a format with files names the
        # file types it takes.
        "validation_failed:not_in_module",
        "validation_failed:required",
    },
    "PATCH /v1/assignments/{assignment_id}": {
        "validation_failed:rubric_total",
        "validation_failed:range",
        "validation_failed:unique",
        # The section it belongs to is a section of this module; a format with files names the
        # file types it takes.
        "validation_failed:not_in_module",
        "validation_failed:required",
    },
    # Rank thresholds rise: 0 < POMOCNIK < MOJSTER < MENTOR, whichever of them a request changes.
    "PATCH /v1/gamification/settings": {"validation_failed:rank_order"},
    # The current password is checked against the stored hash.
    "POST /v1/me/password": {"validation_failed:wrong_password"},
    # A direct upload's announced size is checked against its kind's limit.
    "POST /v1/media/uploads": {"file_too_large"},
    # A room's kind decides which id it needs; a direct conversation is with someone else, and a
    # member opens at most 30 new ones a day.
    "POST /v1/chat/rooms": {
        "validation_failed:required",
        "validation_failed:direct_with_self",
        "validation_failed:direct_room_limit_reached",
    },
    # Text is checked trimmed, mentions are counted in it, a reply names a message of the room,
    # attachments are media the sender may use, and members send MESSAGE or ACTION only.
    "POST /v1/chat/rooms/{room_id}/messages": {
        "validation_failed:length",
        "validation_failed:too_many_mentions",
        "validation_failed:not_in_room",
        "validation_failed:asset_not_found",
        "validation_failed:too_many",
        "validation_failed:not_allowed",
    },
    "PATCH /v1/chat/rooms/{room_id}/messages/{message_id}": {
        "validation_failed:length",
        "validation_failed:too_many_mentions",
        "validation_failed:not_editable",
    },
    # A history cursor is a message of the room, and only one direction is read at a time.
    "GET /v1/chat/rooms/{room_id}/messages": {
        "validation_failed:not_in_room",
        "validation_failed:exclusive",
    },
    # The query is checked trimmed.
    "GET /v1/chat/rooms/{room_id}/search": {"validation_failed:length"},
    # Only a reply by someone else, in a module's room, is an answer.
    "POST /v1/chat/rooms/{room_id}/messages/{message_id}/confirm": {
        "validation_failed:not_a_module_room",
        "validation_failed:not_an_answer",
        "validation_failed:not_a_reply",
    },
    # The marker moves to a message of the room.
    "PUT /v1/chat/rooms/{room_id}/read": {"validation_failed:not_in_room"},
    # An event is checked as a whole: it starts in the future (by the server's clock) and ends
    # after it starts, within 7 days; its time zone is an IANA name; its location type decides
    # whether a meeting URL and an address are needed or refused; only an event linked to a
    # module is required; hosts are active members and groups the tenant's (a mentor's, the
    # module's).
    "POST /v1/events": {
        "validation_failed:range",
        "validation_failed:order",
        "validation_failed:time_zone",
        "validation_failed:required",
        "validation_failed:not_allowed",
        "validation_failed:unknown",
        "validation_failed:url",
    },
    "PATCH /v1/events/{event_id}": {
        "validation_failed:range",
        "validation_failed:order",
        "validation_failed:time_zone",
        "validation_failed:required",
        "validation_failed:not_allowed",
        "validation_failed:unknown",
        "validation_failed:url",
    },
    # Coaching: a session starts in the future, its focus areas are named once and scored on the
    # tenant's scale; texts are not only spaces; the coachee, owner, coach or session named must
    # exist; an action item names a module or a path (published), not both, and moves by its
    # status flow; the scale's top is above its bottom.
    "POST /v1/coaching/sessions": {
        "validation_failed:range",
        "validation_failed:duplicate",
        "validation_failed:required",
        "validation_failed:length",
        "validation_failed:unknown",
    },
    "PATCH /v1/coaching/sessions/{session_id}": {
        "validation_failed:range",
        "validation_failed:duplicate",
        "validation_failed:required",
        "validation_failed:length",
        "validation_failed:unknown",
    },
    "PUT /v1/coaching/sessions/{session_id}/private-notes": {
        "validation_failed:required",
        "validation_failed:length",
    },
    "POST /v1/coaching/coachees/{user_id}/notes": {
        "validation_failed:required",
        "validation_failed:length",
    },
    "PUT /v1/coaching/coachees/{user_id}/coaches/{coach_id}": {
        "validation_failed:unknown",
    },
    "POST /v1/coaching/coachees/{user_id}/action-items": {
        "validation_failed:not_allowed",
        "validation_failed:unknown",
        "validation_failed:not_published",
        "validation_failed:required",
        "validation_failed:length",
    },
    "PATCH /v1/coaching/action-items/{item_id}": {
        "validation_failed:not_allowed",
        "validation_failed:unknown",
        "validation_failed:not_published",
        "validation_failed:required",
        "validation_failed:length",
        "validation_failed:transition",
    },
    "PUT /v1/coaching/settings": {
        "validation_failed:range",
        "validation_failed:order",
    },
    # The dashboard's period starts before it ends and spans at most 366 days.
    "GET /v1/manager-dashboard": {
        "validation_failed:range",
    },
    # A manual XP adjustment is not zero (the schema states the bounds, not the hole at 0).
    "POST /v1/xp/adjustments": {
        "validation_failed:range",
    },
    # Analytics' periods start before they end and span at most 366 days.
    "GET /v1/analytics/activity": {
        "validation_failed:range",
    },
    "GET /v1/analytics/completions": {
        "validation_failed:range",
    },
    "GET /v1/analytics/modules/{module_id}/funnel": {
        "validation_failed:range",
    },
    "GET /v1/analytics/quizzes/{quiz_id}/items": {
        "validation_failed:range",
    },
    "GET /v1/analytics/events": {
        "validation_failed:range",
    },
    "GET /v1/analytics/xp": {
        "validation_failed:range",
    },
    # A module is built from a PDF, DOCX or video of at most 25 MiB: the asset's stored type and
    # size decide, not the request.
    "POST /v1/ai/module-builds": {
        "validation_failed:unsupported_source",
        "validation_failed:too_large",
    },
    # A report's period too; and a PDF is made of the compliance report only.
    "POST /v1/reports": {
        "validation_failed:range",
        "validation_failed:pdf_compliance_only",
    },
}


def _widened_operations():
    """The operations scripts/fuzz/schemathesis.toml lets refuse valid data with 413 or 422."""
    config = tomllib.loads(
        (pathlib.Path(__file__).with_name("schemathesis.toml")).read_text(encoding="utf-8")
    )
    names = set()
    for block in config.get("operations", []):
        statuses = block.get("checks", {}).get("positive_data_acceptance", {}).get("expected-statuses", [])
        if "413" in statuses or "422" in statuses:
            included = block.get("include-name", [])
            names.update([included] if isinstance(included, str) else included)
    return names


if _widened_operations() != set(STATE_RULES):
    raise RuntimeError(
        "scripts/fuzz/schemathesis.toml and STATE_RULES in scripts/fuzz/hooks.py name different operations: "
        f"{sorted(_widened_operations() ^ set(STATE_RULES))}"
    )


@schemathesis.check
def refusals_name_a_state_rule(ctx, response, case):
    """A schema-valid request refused by an operation of STATE_RULES names one of its rules."""
    rules = STATE_RULES.get(case.operation.label)
    meta = getattr(case, "meta", None)
    if rules is None or meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code not in (413, 422):
        return None
    try:
        problem = response.json()
    except ValueError:
        raise AssertionError(f"{response.status_code} without a problem body")
    code = problem.get("code")
    if code in rules:
        return None
    if code == "validation_failed":
        fields = problem.get("errors") or []
        found = {f"validation_failed:{error.get('code')}" for error in fields}
        if fields and found <= rules:
            return None
        raise AssertionError(
            f"schema-valid request refused for fields {sorted(found)}; "
            f"this operation's state rules are {sorted(rules)}"
        )
    raise AssertionError(
        f"schema-valid request refused with `{code}`; this operation's state rules are {sorted(rules)}"
    )


# Operations whose 503 is allowed only as "no model is configured" (scripts/fuzz/schemathesis.toml).
NEEDS_A_MODEL = {
    "POST /v1/ai-assist/modules/{module_id}/titles",
    "POST /v1/ai-assist/modules/{module_id}/tags",
    "POST /v1/ai-assist/modules/{module_id}/sections/{section_id}/questions",
    "POST /v1/ai-assist/modules/{module_id}/cover-images",
    "POST /v1/ai-assist/attempts/{attempt_id}/essays/{question_id}/grade",
    "POST /v1/ai-assist/submissions/{submission_id}/grade",
}


@schemathesis.check
def unavailable_only_without_a_model(ctx, response, case):
    """A 503 of an operation that needs a model says that no model is configured."""
    if case.operation.label not in NEEDS_A_MODEL or response.status_code != 503:
        return None
    try:
        code = response.json().get("code")
    except ValueError:
        raise AssertionError("503 without a problem body")
    if code != "ai_not_configured":
        raise AssertionError(f"503 `{code}`; only `ai_not_configured` is expected without a model")
    return None


# The inbound mail operation takes a raw email (`message/rfc822`, a binary string in the spec),
# a media type schemathesis has no serializer for: its bytes go as they are, like
# `application/octet-stream`.
schemathesis.serializer.alias("message/rfc822", "application/octet-stream")

# Operations whose 503 is allowed only as "inbound mail is not configured"
# (scripts/fuzz/schemathesis.toml).
NEEDS_AN_INBOUND_SECRET = {"POST /v1/inbound/email"}


@schemathesis.check
def unavailable_only_without_an_inbound_secret(ctx, response, case):
    """A 503 of the inbound mail operation says that no inbound secret is configured."""
    if case.operation.label not in NEEDS_AN_INBOUND_SECRET or response.status_code != 503:
        return None
    try:
        code = response.json().get("code")
    except ValueError:
        raise AssertionError("503 without a problem body")
    if code != "inbound_mail_not_configured":
        raise AssertionError(
            f"503 `{code}`; only `inbound_mail_not_configured` is expected without an inbound secret"
        )
    return None
