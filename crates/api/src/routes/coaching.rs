//! Coaching: `/v1/coaching`. A member's manager coaches them by default, and admins (MANAGE_USERS)
//! add more coaches; coaches schedule 1:1 sessions about focus areas scored before and after,
//! with an agenda and notes shared with the coachee and private notes of their own (sealed at
//! rest, every read audited), and write quick notes between sessions. A member's coaching is seen
//! by them, their coaches and the managers above them; anyone else gets 404. The coachee hears of
//! sessions through the worker ([`crate::reactions::coaching`]).

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, NaiveDate, Utc};
use guild_coaching::action_items::{
    self, ActionItem, ItemChanges, ItemInput, ItemStatus, Learning,
};
use guild_coaching::notes::{self, QuickNote};
use guild_coaching::overview::Overview;
use guild_coaching::relationships::{self, Person};
use guild_coaching::sessions::{
    self, FocusArea, Session, SessionChanges, SessionInput, SessionStatus,
};
use guild_coaching::settings::{self, Scale};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{IfMatch, Revised, Tagged, with_etag};
use crate::extract::ValidJson;
use crate::routes::common::{AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams};
use crate::routes::modules::PreconditionErrors;
use crate::routes::segment;

/// Registers `/v1/coaching`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/coaching")
            .service(get_coaching_settings)
            .service(update_coaching_settings)
            .service(list_my_coachees)
            .service(list_coaches)
            .service(add_coach)
            .service(remove_coach)
            .service(list_quick_notes)
            .service(create_quick_note)
            .service(get_coachee_overview)
            .service(list_action_items)
            .service(create_action_item)
            .service(get_action_item)
            .service(update_action_item)
            .service(list_coaching_sessions)
            .service(create_coaching_session)
            .service(get_coaching_session)
            .service(get_coaching_session_ics)
            .service(update_coaching_session)
            .service(set_coaching_session_status)
            .service(get_coaching_session_private_notes)
            .service(set_coaching_session_private_notes),
    );
}

/// The tenant's scoring scale.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "scale_min": 1, "scale_max": 5 }))]
pub(crate) struct CoachingSettingsDto {
    /// The lowest score, 0 to 100, at most two decimals.
    #[validate(range(min = 0.0, max = 100.0))]
    #[schema(minimum = 0.0, maximum = 100.0)]
    scale_min: f64,
    /// The highest score, above `scale_min`, at most 100.
    #[validate(range(min = 0.0, max = 100.0))]
    #[schema(minimum = 0.0, maximum = 100.0)]
    scale_max: f64,
}

impl From<Scale> for CoachingSettingsDto {
    fn from(s: Scale) -> Self {
        Self {
            scale_min: s.min,
            scale_max: s.max,
        }
    }
}

/// Get the coaching settings.
///
/// Every member reads the scale focus areas are scored on (1 to 5 until an admin changes it).
#[utoipa::path(tag = "coaching",
    responses((status = 200, body = CoachingSettingsDto, description = "The settings"), AuthErrors))]
#[get("/coaching/settings")]
pub(crate) async fn get_coaching_settings(
    ctx: Ctx,
) -> Result<web::Json<CoachingSettingsDto>, ApiError> {
    let tenant = ctx.actor.tenant_id;
    let scale = ctx
        .write(async |conn| settings::scale(conn, tenant).await)
        .await?;
    Ok(web::Json(scale.into()))
}

/// Change the coaching settings.
///
/// ADMIN and above (never an API key). A new scale applies to scores written afterwards; scores
/// already written keep their value.
#[utoipa::path(tag = "coaching", request_body = CoachingSettingsDto,
    responses((status = 200, body = CoachingSettingsDto, description = "The new settings"), AuthErrors, InputErrors))]
#[put("/coaching/settings")]
pub(crate) async fn update_coaching_settings(
    ctx: Ctx,
    body: ValidJson<CoachingSettingsDto>,
) -> Result<web::Json<CoachingSettingsDto>, ApiError> {
    let b = body.into_inner();
    let scale = Scale {
        min: b.scale_min,
        max: b.scale_max,
    };
    let now = ctx.now;
    let saved = ctx
        .write(async |conn| settings::set_scale(conn, &ctx.actor, scale, now).await)
        .await?;
    Ok(web::Json(saved.into()))
}

/// A coach or a coachee.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PersonDto {
    user_id: Uuid,
    name: String,
    /// `MANAGER` (the member's manager, a coach by default) or `ASSIGNED` (added by an admin).
    #[schema(value_type = String, example = "MANAGER")]
    source: &'static str,
}

impl From<Person> for PersonDto {
    fn from(p: Person) -> Self {
        Self {
            user_id: p.user_id,
            name: p.name,
            source: p.source.as_str(),
        }
    }
}

/// The members someone coaches, or the coaches of a member.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PeopleDto {
    data: Vec<PersonDto>,
}

/// List your coachees.
///
/// The active members you manage directly and those an admin made you coach, by name.
#[utoipa::path(tag = "coaching",
    responses((status = 200, body = PeopleDto, description = "Your coachees"), AuthErrors))]
#[get("/coaching/coachees")]
pub(crate) async fn list_my_coachees(ctx: Ctx) -> Result<web::Json<PeopleDto>, ApiError> {
    let people = ctx
        .write(async |conn| relationships::coachees(conn, &ctx.actor).await)
        .await?;
    Ok(web::Json(PeopleDto {
        data: people.into_iter().map(PersonDto::from).collect(),
    }))
}

/// List a member's coaches.
///
/// Their manager (a coach by default) and the coaches an admin added. For the member, their
/// coaches and the managers above them, and for MANAGE_USERS holders; 404 `coachee_not_found`
/// for anyone else.
#[utoipa::path(tag = "coaching",
    params(("user_id" = Uuid, Path, description = "The coachee")),
    responses((status = 200, body = PeopleDto, description = "The coaches"), AuthErrors, NotFound))]
#[get("/coaching/coachees/{user_id}/coaches")]
pub(crate) async fn list_coaches(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<PeopleDto>, ApiError> {
    let coachee = path.into_inner();
    let people = ctx
        .write(async |conn| relationships::coaches_of(conn, &ctx.actor, coachee).await)
        .await?;
    Ok(web::Json(PeopleDto {
        data: people.into_iter().map(PersonDto::from).collect(),
    }))
}

/// Add a coach to a member.
///
/// MANAGE_USERS holders (tenant-wide; an API key holding it too). The coach must be an active
/// member who is not a VIEWER (422), never the member themselves (403 `cannot_coach_self`); at
/// most 20 added coaches per member (409 `coach_limit_reached`). Adding twice changes nothing.
#[utoipa::path(tag = "coaching",
    params(("user_id" = Uuid, Path, description = "The coachee"), ("coach_id" = Uuid, Path, description = "The coach")),
    responses((status = 200, body = PeopleDto, description = "The member's coaches"), AuthErrors, InputErrors, NotFound, Conflict))]
#[put("/coaching/coachees/{user_id}/coaches/{coach_id}")]
pub(crate) async fn add_coach(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<PeopleDto>, ApiError> {
    let (coachee, coach) = path.into_inner();
    let now = ctx.now;
    let people = ctx
        .write(async |conn| relationships::add_coach(conn, &ctx.actor, coachee, coach, now).await)
        .await?;
    Ok(web::Json(PeopleDto {
        data: people.into_iter().map(PersonDto::from).collect(),
    }))
}

/// Remove a coach from a member.
///
/// MANAGE_USERS holders. Only coaches an admin added (404 `coach_not_found` otherwise: a manager
/// stays their reports' coach).
#[utoipa::path(tag = "coaching",
    params(("user_id" = Uuid, Path, description = "The coachee"), ("coach_id" = Uuid, Path, description = "The coach")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound))]
#[delete("/coaching/coachees/{user_id}/coaches/{coach_id}")]
pub(crate) async fn remove_coach(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (coachee, coach) = path.into_inner();
    ctx.write(async |conn| relationships::remove_coach(conn, &ctx.actor, coachee, coach).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A quick note.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuickNoteDto {
    id: Uuid,
    coachee_id: Uuid,
    body: String,
    created_at: DateTime<Utc>,
}

impl From<QuickNote> for QuickNoteDto {
    fn from(n: QuickNote) -> Self {
        Self {
            id: n.id,
            coachee_id: n.coachee_id,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

/// A new quick note.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "body": "Handled the escalation calmly; ask about the new script." }))]
pub(crate) struct CreateQuickNoteBody {
    /// 1 to 5000 characters, not only spaces (trimmed).
    #[validate(
        length(min = 1, max = 5000),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 5000, pattern = "\\S")]
    body: String,
}

/// List your quick notes on a coachee.
///
/// The notes you wrote on the member, latest first (only their author reads a note). For their
/// coaches and the managers above them; the member themselves is refused (403), anyone else gets
/// 404 `coachee_not_found`. Every read is written to the audit log.
#[utoipa::path(tag = "coaching",
    params(("user_id" = Uuid, Path, description = "The coachee"), PageParams),
    responses((status = 200, body = PageOf<QuickNoteDto>, description = "Your notes"), AuthErrors, InputErrors, NotFound))]
#[get("/coaching/coachees/{user_id}/notes")]
pub(crate) async fn list_quick_notes(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<QuickNoteDto>>, ApiError> {
    let coachee = path.into_inner();
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let keys = ctx.state.keyring.clone();
    let items = ctx
        .write(async |conn| notes::list(conn, &keys, &ctx.actor, coachee, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(items, QuickNoteDto::from)))
}

/// Write a quick note on a coachee.
///
/// Their coaches (never on yourself: 403 `cannot_coach_self`). Sealed at rest; at most 50 notes
/// per coach and coachee in 24 hours (409 `note_limit_reached`).
#[utoipa::path(tag = "coaching", request_body = CreateQuickNoteBody,
    params(("user_id" = Uuid, Path, description = "The coachee")),
    responses((status = 201, body = QuickNoteDto, description = "Written"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/coaching/coachees/{user_id}/notes")]
pub(crate) async fn create_quick_note(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<CreateQuickNoteBody>,
) -> Result<HttpResponse, ApiError> {
    let coachee = path.into_inner();
    let text = body.into_inner().body;
    let keys = ctx.state.keyring.clone();
    let now = ctx.now;
    let note = ctx
        .write(async |conn| notes::add(conn, &keys, &ctx.actor, coachee, &text, now).await)
        .await?;
    Ok(HttpResponse::Created().json(QuickNoteDto::from(note)))
}

/// A focus area with its scores on the tenant's scale.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FocusAreaDto {
    /// 1 to 100 characters, once per session.
    #[validate(length(min = 1, max = 100))]
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// The score before the session, on the tenant's scale, at most two decimals.
    score_before: Option<f64>,
    /// The score after it.
    score_after: Option<f64>,
}

impl From<FocusAreaDto> for FocusArea {
    fn from(f: FocusAreaDto) -> Self {
        Self {
            name: f.name,
            score_before: f.score_before,
            score_after: f.score_after,
        }
    }
}

impl From<FocusArea> for FocusAreaDto {
    fn from(f: FocusArea) -> Self {
        Self {
            name: f.name,
            score_before: f.score_before,
            score_after: f.score_after,
        }
    }
}

/// A coaching session (never its private notes). The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionDto {
    id: Uuid,
    coach_id: Uuid,
    coachee_id: Uuid,
    scheduled_at: DateTime<Utc>,
    duration_minutes: i32,
    status: SessionStatus,
    /// Shared with the coachee.
    agenda: String,
    /// Notes coach and coachee share.
    shared_notes: String,
    focus_areas: Vec<FocusAreaDto>,
    /// Bumped by every change: the `ETag`, and the iCalendar `SEQUENCE`.
    revision: i32,
    status_changed_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// You are its coach: you change it and keep its private notes.
    manageable: bool,
}

impl Revised for SessionDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl From<Session> for SessionDto {
    fn from(s: Session) -> Self {
        Self {
            id: s.id,
            coach_id: s.coach_id,
            coachee_id: s.coachee_id,
            scheduled_at: s.scheduled_at,
            duration_minutes: s.duration_minutes,
            status: s.status,
            agenda: s.agenda,
            shared_notes: s.shared_notes,
            focus_areas: s.focus_areas.into_iter().map(FocusAreaDto::from).collect(),
            revision: s.revision,
            status_changed_at: s.status_changed_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            manageable: s.mine_to_manage,
        }
    }
}

/// Which sessions, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SessionQuery {
    /// A coachee whose sessions to list (you must see their coaching); without it, your own
    /// sessions as coach or coachee.
    coachee_id: Option<Uuid>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor`.
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List coaching sessions.
///
/// Latest first: a coachee's (`coachee_id`, for them, their coaches and the managers above them;
/// 404 `coachee_not_found` for anyone else), or without it your own as coach or coachee.
#[utoipa::path(tag = "coaching", params(SessionQuery),
    responses((status = 200, body = PageOf<SessionDto>, description = "The sessions"), AuthErrors, InputErrors, NotFound))]
#[get("/coaching/sessions")]
pub(crate) async fn list_coaching_sessions(
    ctx: Ctx,
    query: web::Query<SessionQuery>,
) -> Result<web::Json<PageOf<SessionDto>>, ApiError> {
    let q = query.into_inner();
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let items = ctx
        .write(async |conn| sessions::list(conn, &ctx.actor, q.coachee_id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(items, SessionDto::from)))
}

/// A new coaching session.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "coachee_id": "0193f2a4-7c1e-7000-8000-000000000001",
    "scheduled_at": "2027-01-12T09:00:00Z",
    "duration_minutes": 45,
    "agenda": "Review last month's calls; plan the next certification.",
    "focus_areas": [{ "name": "Active listening", "score_before": 3 }]
}))]
pub(crate) struct CreateSessionBody {
    /// A member you coach (never yourself).
    coachee_id: Uuid,
    /// In the future.
    scheduled_at: DateTime<Utc>,
    /// 5 to 480 minutes.
    #[validate(range(min = 5, max = 480))]
    #[schema(minimum = 5, maximum = 480)]
    duration_minutes: i32,
    /// Shared with the coachee, up to 5000 characters.
    #[serde(default)]
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    agenda: String,
    /// Up to 10, each named once.
    #[serde(default)]
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10)]
    focus_areas: Vec<FocusAreaDto>,
}

/// Schedule a coaching session.
///
/// A coach of the coachee (their manager, or a coach an admin added) schedules it; nobody
/// coaches themselves (403 `cannot_coach_self`); someone who only sees the coachee's coaching
/// gets 403, anyone else 404 `coachee_not_found`. Scores must be on the tenant's scale. At most 5
/// sessions per coachee in 24 hours (409 `session_limit_reached`). The coachee is told
/// (COACHING_SESSION_SCHEDULED) with a calendar invitation.
#[utoipa::path(tag = "coaching", request_body = CreateSessionBody,
    responses((status = 201, body = SessionDto, description = "Scheduled; `ETag` is its revision",
        headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))),
        AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/coaching/sessions")]
pub(crate) async fn create_coaching_session(
    ctx: Ctx,
    body: ValidJson<CreateSessionBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = SessionInput {
        coachee_id: b.coachee_id,
        scheduled_at: b.scheduled_at,
        duration_minutes: b.duration_minutes,
        agenda: b.agenda,
        focus_areas: b.focus_areas.into_iter().map(FocusArea::from).collect(),
    };
    let now = ctx.now;
    let created = ctx
        .write(async |conn| sessions::create(conn, &ctx.actor, &input, now).await)
        .await?;
    let dto = SessionDto::from(created);
    Ok(with_etag(HttpResponse::Created(), dto.revision, &dto))
}

/// Get a coaching session.
///
/// For its coach, the coachee, their other coaches and the managers above them (404
/// `coaching_session_not_found` otherwise, another tenant's included). Never its private notes.
#[utoipa::path(tag = "coaching",
    params(("session_id" = Uuid, Path, description = "The session")),
    responses((status = 200, body = SessionDto, description = "The session; `ETag` is its revision"), AuthErrors, NotFound))]
#[get("/coaching/sessions/{session_id}")]
pub(crate) async fn get_coaching_session(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let found = ctx
        .write(async |conn| sessions::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(Tagged(SessionDto::from(found)).into())
}

/// A change to a coaching session: the fields sent replace the session's.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "shared_notes": "Agreed to shadow two calls.", "focus_areas": [{ "name": "Active listening", "score_before": 3, "score_after": 3.5 }] }))]
pub(crate) struct UpdateSessionBody {
    /// A new time, in the future (while `SCHEDULED`).
    scheduled_at: Option<DateTime<Utc>>,
    /// 5 to 480 minutes (while `SCHEDULED`).
    #[validate(range(min = 5, max = 480))]
    #[schema(minimum = 5, maximum = 480)]
    duration_minutes: Option<i32>,
    /// Up to 5000 characters.
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    agenda: Option<String>,
    /// Up to 20000 characters.
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    shared_notes: Option<String>,
    /// Replaces the focus areas and their scores whole; up to 10.
    #[validate(length(max = 10), nested)]
    #[schema(max_items = 10)]
    focus_areas: Option<Vec<FocusAreaDto>>,
}

/// Update a coaching session; requires `If-Match` with its `ETag`.
///
/// Its coach. Time and duration change while it is `SCHEDULED`; agenda, shared notes and scores
/// until it is cancelled (409 `coaching_session_closed`). A new time or duration tells the coachee
/// (COACHING_SESSION_CHANGED) with the updated invitation. 412 when the `ETag` is stale.
#[utoipa::path(tag = "coaching",
    params(("session_id" = Uuid, Path, description = "The session"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateSessionBody,
    responses((status = 200, body = SessionDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[patch("/coaching/sessions/{session_id}")]
pub(crate) async fn update_coaching_session(
    ctx: Ctx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateSessionBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let changes = SessionChanges {
        scheduled_at: b.scheduled_at,
        duration_minutes: b.duration_minutes,
        agenda: b.agenda,
        shared_notes: b.shared_notes,
        focus_areas: b
            .focus_areas
            .map(|areas| areas.into_iter().map(FocusArea::from).collect()),
    };
    let now = ctx.now;
    let updated = ctx
        .write(async |conn| sessions::update(conn, &ctx.actor, id, if_match.0, &changes, now).await)
        .await?;
    Ok(Tagged(SessionDto::from(updated)).into())
}

/// A session's new status.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "COMPLETED" }))]
pub(crate) struct SessionStatusBody {
    /// `COMPLETED`, `NO_SHOW` (once it started) or `CANCELLED`.
    status: SessionStatus,
}

/// Complete, cancel or mark a no-show; requires `If-Match` with its `ETag`.
///
/// Its coach, while it is `SCHEDULED` (409 `coaching_session_closed`): `CANCELLED` any time
/// (the coachee is told, COACHING_SESSION_CANCELLED, with a calendar cancellation), `COMPLETED`
/// and `NO_SHOW` once it started (409 `coaching_session_not_started`).
#[utoipa::path(tag = "coaching",
    params(("session_id" = Uuid, Path, description = "The session"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = SessionStatusBody,
    responses((status = 200, body = SessionDto, description = "Changed; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[post("/coaching/sessions/{session_id}/status")]
pub(crate) async fn set_coaching_session_status(
    ctx: Ctx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<SessionStatusBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let status = body.into_inner().status;
    let now = ctx.now;
    let done = ctx
        .write(async |conn| {
            sessions::set_status(conn, &ctx.actor, id, if_match.0, status, now).await
        })
        .await?;
    Ok(Tagged(SessionDto::from(done)).into())
}

/// A session's private notes.
#[derive(Debug, Serialize, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "private_notes": "Seems tired; ask about the workload next time." }))]
pub(crate) struct PrivateNotesDto {
    /// Up to 20000 characters; empty removes them.
    #[validate(length(max = 20000))]
    #[schema(max_length = 20000)]
    private_notes: String,
}

/// Read a session's private notes.
///
/// Its coach only (403 to the coachee and the managers who see the session; 404 to anyone else).
/// Every read is written to the audit log (`coaching_session.private_notes_read`).
#[utoipa::path(tag = "coaching",
    params(("session_id" = Uuid, Path, description = "The session")),
    responses((status = 200, body = PrivateNotesDto, description = "The private notes"), AuthErrors, NotFound))]
#[get("/coaching/sessions/{session_id}/private-notes")]
pub(crate) async fn get_coaching_session_private_notes(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<PrivateNotesDto>, ApiError> {
    let id = path.into_inner();
    let keys = ctx.state.keyring.clone();
    let notes = ctx
        .write(async |conn| sessions::private_notes(conn, &keys, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(PrivateNotesDto {
        private_notes: notes,
    }))
}

/// Replace a session's private notes.
///
/// Its coach, until it is cancelled. Sealed at rest (AES-256-GCM under the current key of
/// `GUILD_ENCRYPTION_KEYS`); the write is audited without the text.
#[utoipa::path(tag = "coaching", request_body = PrivateNotesDto,
    params(("session_id" = Uuid, Path, description = "The session")),
    responses((status = 200, body = PrivateNotesDto, description = "Saved"), AuthErrors, InputErrors, NotFound, Conflict))]
#[put("/coaching/sessions/{session_id}/private-notes")]
pub(crate) async fn set_coaching_session_private_notes(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<PrivateNotesDto>,
) -> Result<web::Json<PrivateNotesDto>, ApiError> {
    let id = path.into_inner();
    let text = body.into_inner().private_notes;
    let keys = ctx.state.keyring.clone();
    let now = ctx.now;
    let notes = ctx
        .write(async |conn| {
            sessions::set_private_notes(conn, &keys, &ctx.actor, id, &text, now).await
        })
        .await?;
    Ok(web::Json(PrivateNotesDto {
        private_notes: notes,
    }))
}

/// Get a coaching session as an iCalendar file.
///
/// A session you may see, as RFC 5545 (`METHOD:PUBLISH`): its UID stays the same for life
/// (`coaching-<id>@<host>`), `SEQUENCE` grows with every change, the coach is the organizer and
/// the coachee the attendee, and a cancelled session says `STATUS:CANCELLED`.
#[utoipa::path(tag = "coaching",
    params(("session_id" = Uuid, Path, description = "The session")),
    responses((status = 200, content_type = "text/calendar", body = String, description = "The iCalendar file"), AuthErrors, NotFound))]
#[get("/coaching/sessions/{session_id}/ics")]
pub(crate) async fn get_coaching_session_ics(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let tenant = ctx.actor.tenant_id;
    let found = ctx
        .write(async |conn| {
            sessions::visible(conn, &ctx.actor, id, false).await?;
            sessions::notice(conn, tenant, id).await
        })
        .await?
        .ok_or_else(|| {
            ApiError::from(guild_coaching::CoachingError::NotFound(
                "coaching_session_not_found",
            ))
        })?;
    let file = guild_coaching::calendar::session_file(
        &found,
        crate::routes::events::uid_host(&ctx.state.api_url),
        guild_coaching::calendar::Method::Publish,
        ctx.now,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"coaching-{id}.ics\""),
        ))
        .body(file))
}

/// An item of an action plan. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActionItemDto {
    id: Uuid,
    coachee_id: Uuid,
    /// Who owns it: the coachee or their coach.
    owner_id: Uuid,
    created_by: Uuid,
    /// The session it came out of.
    session_id: Option<Uuid>,
    title: String,
    description: String,
    due_date: Option<NaiveDate>,
    status: ItemStatus,
    /// The module whose completion by the coachee closes it.
    module_id: Option<Uuid>,
    /// The learning path whose completion by the coachee closes it.
    path_id: Option<Uuid>,
    closed_at: Option<DateTime<Utc>>,
    /// Closed by the coachee's completion of its module or path.
    closed_by_completion: bool,
    revision: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Revised for ActionItemDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl From<ActionItem> for ActionItemDto {
    fn from(a: ActionItem) -> Self {
        Self {
            id: a.id,
            coachee_id: a.coachee_id,
            owner_id: a.owner_id,
            created_by: a.created_by,
            session_id: a.session_id,
            title: a.title,
            description: a.description,
            due_date: a.due_date,
            status: a.status,
            module_id: a.module_id,
            path_id: a.path_id,
            closed_at: a.closed_at,
            closed_by_completion: a.closed_by_completion,
            revision: a.revision,
            created_at: a.created_at,
            updated_at: a.updated_at,
        }
    }
}

/// A new action item.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "title": "Complete the de-escalation module", "due_date": "2027-02-01", "module_id": "0193f2a4-7c1e-7000-8000-000000000002" }))]
pub(crate) struct CreateActionItemBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// Up to 5000 characters.
    #[serde(default)]
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    description: String,
    /// When it is due (`YYYY-MM-DD`).
    due_date: Option<NaiveDate>,
    /// The coachee (default) or you.
    owner_id: Option<Uuid>,
    /// A published module the coachee may see: they are enrolled, and completing it closes the
    /// item. Not with `path_id`.
    module_id: Option<Uuid>,
    /// A published learning path the coachee may see: as `module_id`.
    path_id: Option<Uuid>,
    /// A session of this coachee it came out of.
    session_id: Option<Uuid>,
}

/// List a coachee's action plan.
///
/// Latest first. For the member, their coaches and the managers above them (404
/// `coachee_not_found` for anyone else).
#[utoipa::path(tag = "coaching",
    params(("user_id" = Uuid, Path, description = "The coachee"), PageParams),
    responses((status = 200, body = PageOf<ActionItemDto>, description = "The items"), AuthErrors, InputErrors, NotFound))]
#[get("/coaching/coachees/{user_id}/action-items")]
pub(crate) async fn list_action_items(
    ctx: Ctx,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<ActionItemDto>>, ApiError> {
    let coachee = path.into_inner();
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let items = ctx
        .write(async |conn| action_items::list(conn, &ctx.actor, coachee, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(items, ActionItemDto::from)))
}

/// Add an item to a coachee's action plan.
///
/// Their coaches (never on your own plan: 403 `cannot_coach_self`). An item naming a module or
/// path enrols the coachee in it (422 when they cannot see it or it is not published), and their
/// completion of it closes the item. The owner, when not you, is told (ACTION_ITEM_ASSIGNED). At
/// most 100 open items per coachee (409 `action_item_limit_reached`).
#[utoipa::path(tag = "coaching", request_body = CreateActionItemBody,
    params(("user_id" = Uuid, Path, description = "The coachee")),
    responses((status = 201, body = ActionItemDto, description = "Created; `ETag` is its revision"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/coaching/coachees/{user_id}/action-items")]
pub(crate) async fn create_action_item(
    ctx: Ctx,
    path: web::Path<Uuid>,
    body: ValidJson<CreateActionItemBody>,
) -> Result<HttpResponse, ApiError> {
    let coachee = path.into_inner();
    let b = body.into_inner();
    let learning = match (b.module_id, b.path_id) {
        (Some(_), Some(_)) => {
            return Err(guild_coaching::CoachingError::invalid(
                "path_id",
                "not_allowed",
                "an item names a module or a path, not both",
            )
            .into());
        }
        (Some(m), None) => Some(Learning::Module(m)),
        (None, Some(p)) => Some(Learning::Path(p)),
        (None, None) => None,
    };
    let input = ItemInput {
        title: b.title,
        description: b.description,
        due_date: b.due_date,
        owner_id: b.owner_id,
        learning,
        session_id: b.session_id,
    };
    let now = ctx.now;
    let item = ctx
        .write(async |conn| action_items::create(conn, &ctx.actor, coachee, &input, now).await)
        .await?;
    let dto = ActionItemDto::from(item);
    Ok(with_etag(HttpResponse::Created(), dto.revision, &dto))
}

/// Get an action item.
///
/// For those who see its coachee's coaching (404 `action_item_not_found` otherwise).
#[utoipa::path(tag = "coaching",
    params(("item_id" = Uuid, Path, description = "The item")),
    responses((status = 200, body = ActionItemDto, description = "The item; `ETag` is its revision"), AuthErrors, NotFound))]
#[get("/coaching/action-items/{item_id}")]
pub(crate) async fn get_action_item(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let item = ctx
        .write(async |conn| action_items::get(conn, &ctx.actor, id).await)
        .await?;
    Ok(Tagged(ActionItemDto::from(item)).into())
}

/// A change to an action item: the fields sent replace the item's.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "status": "IN_PROGRESS" }))]
pub(crate) struct UpdateActionItemBody {
    /// 1 to 200 characters (coaches).
    #[validate(length(min = 1, max = 200))]
    #[schema(min_length = 1, max_length = 200)]
    title: Option<String>,
    /// Up to 5000 characters (coaches).
    #[validate(length(max = 5000))]
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// The due date; `null` removes it (coaches).
    #[serde(default, with = "crate::routes::common::double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    due_date: Option<Option<NaiveDate>>,
    /// `IN_PROGRESS`, `DONE` or `CANCELLED` (coaches and the item's owner).
    status: Option<ItemStatus>,
}

/// Update an action item; requires `If-Match` with its `ETag`.
///
/// The coachee's coaches change anything; its owner moves its status (OPEN → IN_PROGRESS →
/// DONE or CANCELLED). A closed item changes no more (409 `action_item_closed`).
#[utoipa::path(tag = "coaching",
    params(("item_id" = Uuid, Path, description = "The item"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateActionItemBody,
    responses((status = 200, body = ActionItemDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[patch("/coaching/action-items/{item_id}")]
pub(crate) async fn update_action_item(
    ctx: Ctx,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateActionItemBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let changes = ItemChanges {
        title: b.title,
        description: b.description,
        due_date: b.due_date,
        status: b.status,
    };
    let now = ctx.now;
    let item = ctx
        .write(async |conn| {
            action_items::update(conn, &ctx.actor, id, if_match.0, &changes, now).await
        })
        .await?;
    Ok(Tagged(ActionItemDto::from(item)).into())
}

/// One session's scores of a focus area.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScorePointDto {
    session_id: Uuid,
    scheduled_at: DateTime<Utc>,
    before: Option<f64>,
    after: Option<f64>,
}

/// A focus area's scores across sessions, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScoreSeriesDto {
    focus_area: String,
    points: Vec<ScorePointDto>,
}

/// A module the coachee has and how far they are.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CoacheeModuleDto {
    module_id: Uuid,
    title: String,
    sections_total: i64,
    sections_done: i64,
    /// 0 to 100.
    percent: i64,
    completed_at: Option<DateTime<Utc>>,
}

/// A month's quiz results.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QuizMonthDto {
    /// The month's first day (UTC).
    month: DateTime<Utc>,
    /// The average score, in percent.
    average_percent: f64,
    attempts: i64,
}

/// A week's XP.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct XpWeekDto {
    /// The week's Monday (UTC).
    week: DateTime<Utc>,
    earned: i64,
}

/// A mandatory module's or learning path's state, by the compliance matrix's rule.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ComplianceItemDto {
    /// `MODULE` or `PATH`.
    #[schema(value_type = String, example = "MODULE")]
    kind: &'static str,
    /// The module, or the path for a path's item.
    module_id: Uuid,
    title: String,
    status: guild_progress::compliance::ComplianceStatus,
    due_at: Option<DateTime<Utc>>,
    /// The certificate's expiry, when there is one.
    expires_at: Option<DateTime<Utc>>,
}

/// The action plan by status.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlanCountsDto {
    open: i64,
    in_progress: i64,
    done: i64,
    cancelled: i64,
    /// Open or in progress, past their due date.
    overdue: i64,
}

/// A coachee's overview: chart-ready series.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct OverviewDto {
    coachee_id: Uuid,
    /// Scores per focus area across the latest 50 sessions (cancelled ones left out).
    scores: Vec<ScoreSeriesDto>,
    /// Modules assigned to, enrolled in or started by the coachee (up to 100).
    modules: Vec<CoacheeModuleDto>,
    /// Quiz averages per month, the last 12 months.
    quiz_averages: Vec<QuizMonthDto>,
    /// XP earned per week, the last 12 weeks (weeks without XP left out).
    xp_weeks: Vec<XpWeekDto>,
    /// The mandatory modules and learning paths of the coachee's groups (up to 100), as the
    /// compliance matrix shows them.
    compliance: Vec<ComplianceItemDto>,
    action_items: PlanCountsDto,
}

impl From<Overview> for OverviewDto {
    fn from(o: Overview) -> Self {
        Self {
            coachee_id: o.coachee_id,
            scores: o
                .scores
                .into_iter()
                .map(|s| ScoreSeriesDto {
                    focus_area: s.focus_area,
                    points: s
                        .points
                        .into_iter()
                        .map(|p| ScorePointDto {
                            session_id: p.session_id,
                            scheduled_at: p.scheduled_at,
                            before: p.before,
                            after: p.after,
                        })
                        .collect(),
                })
                .collect(),
            modules: o
                .modules
                .into_iter()
                .map(|m| CoacheeModuleDto {
                    percent: if m.completed_at.is_some() {
                        100
                    } else if m.sections_total == 0 {
                        0
                    } else {
                        (m.sections_done * 100 / m.sections_total).min(100)
                    },
                    module_id: m.module_id,
                    title: m.title,
                    sections_total: m.sections_total,
                    sections_done: m.sections_done,
                    completed_at: m.completed_at,
                })
                .collect(),
            quiz_averages: o
                .quiz_averages
                .into_iter()
                .map(|q| QuizMonthDto {
                    month: q.month,
                    average_percent: (q.average_percent * 10.0).round() / 10.0,
                    attempts: q.attempts,
                })
                .collect(),
            xp_weeks: o
                .xp_weeks
                .into_iter()
                .map(|x| XpWeekDto {
                    week: x.week,
                    earned: x.earned,
                })
                .collect(),
            compliance: o
                .compliance
                .into_iter()
                .map(|c| ComplianceItemDto {
                    kind: match c.kind {
                        guild_coaching::overview::ComplianceKind::Module => "MODULE",
                        guild_coaching::overview::ComplianceKind::Path => "PATH",
                    },
                    module_id: c.module_id,
                    title: c.title,
                    status: c.status,
                    due_at: c.due_at,
                    expires_at: c.expires_at,
                })
                .collect(),
            action_items: PlanCountsDto {
                open: o.action_items.open,
                in_progress: o.action_items.in_progress,
                done: o.action_items.done,
                cancelled: o.action_items.cancelled,
                overdue: o.action_items.overdue,
            },
        }
    }
}

/// Get a coachee's overview.
///
/// The series a coach reads before a session: scores per focus area across sessions, module
/// progress, quiz averages per month, XP per week, the mandatory modules' compliance and the
/// action plan by status. For the member, their coaches and the managers above them (404
/// `coachee_not_found` for anyone else).
#[utoipa::path(tag = "coaching",
    params(("user_id" = Uuid, Path, description = "The coachee")),
    responses((status = 200, body = OverviewDto, description = "The overview"), AuthErrors, NotFound))]
#[get("/coaching/coachees/{user_id}/overview")]
pub(crate) async fn get_coachee_overview(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<OverviewDto>, ApiError> {
    let coachee = path.into_inner();
    let now = ctx.now;
    let overview = ctx
        .write(async |conn| guild_coaching::overview::of(conn, &ctx.actor, coachee, now).await)
        .await?;
    Ok(web::Json(overview.into()))
}
