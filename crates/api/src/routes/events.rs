//! Live events: `/v1/events`. Sessions at a time and place (an `https` meeting URL, an address,
//! or both) for groups or the whole tenant, created and edited by ADMINs and above and by the
//! mentors of a linked module (for its groups), with `ETag`/`If-Match`; members register while
//! seats remain, then wait on a waitlist promoted in order. Registrations, promotions, changes
//! of time or place and cancellations notify through the worker
//! ([`crate::reactions::events`]). Attendance confirmed from the emailed link is
//! [`super::event_attendance`].

use std::time::Duration;

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use guild_kernel::ports::RateRule;
use guild_live::events::{self, Event, EventChanges, EventInput, EventStatus, LocationType, Scope};
use guild_live::registrations::{self, BulkResult, Registration, RegistrationStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;
use validator::Validate;

use crate::ctx::{Ctx, Permitted};
use crate::error::ApiError;
use crate::etag::{IfMatch, Revised, Tagged, with_etag};
use crate::extract::ValidJson;
use crate::routes::common::{
    AuthErrors, Conflict, InputErrors, NotFound, PageOf, PageParams, double_option,
};
use crate::routes::modules::PreconditionErrors;
use crate::routes::segment;

/// How many times one member registers (or unregisters) per minute.
pub const REGISTRATIONS_PER_MINUTE: RateRule = RateRule {
    limit: 30,
    window: Duration::from_secs(60),
};

/// Registers `/v1/events`.
pub(crate) fn configure(cfg: &mut ServiceConfig<'_>) {
    cfg.service(
        segment("/events")
            .service(list_events)
            .service(create_event)
            .service(get_event)
            .service(get_event_ics)
            .service(list_event_materials)
            .service(add_event_material)
            .service(remove_event_material)
            .service(download_event_material)
            .service(update_event)
            .service(cancel_event)
            .service(complete_event)
            .service(create_event_registration)
            .service(delete_event_registration)
            .service(list_event_registrations)
            .service(add_event_registrations)
            .service(confirm_event_attendees),
    );
}

/// The asking member's place at an event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MyRegistrationDto {
    /// `REGISTERED` (a seat) or `WAITLISTED`.
    status: RegistrationStatus,
    /// Your place on the waitlist (1 = next to get a seat).
    waitlist_place: Option<i64>,
    /// When your attendance was confirmed.
    attended_at: Option<DateTime<Utc>>,
}

/// A live event. The `ETag` header carries `revision`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventDto {
    id: Uuid,
    title: String,
    /// Plain text.
    description: String,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    /// The organiser's IANA time zone, e.g. `Europe/Paris`.
    time_zone: String,
    location_type: LocationType,
    /// The `https` meeting URL (`ONLINE`, `HYBRID`).
    meeting_url: Option<String>,
    /// The address (`PHYSICAL`, `HYBRID`).
    address: Option<String>,
    /// Seats.
    capacity: i32,
    /// Seats taken.
    registered_count: i32,
    /// Members waiting for a seat.
    waitlist_count: i64,
    /// The module it belongs to.
    module_id: Option<Uuid>,
    /// Confirmed attendance counts toward the linked module's completion.
    required: bool,
    status: EventStatus,
    /// Bumped by every change: the `ETag`, and the iCalendar `SEQUENCE`.
    revision: i32,
    host_ids: Vec<Uuid>,
    /// The groups it is for; empty: the whole tenant.
    group_ids: Vec<Uuid>,
    created_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Your registration, if any.
    my_registration: Option<MyRegistrationDto>,
    /// You may edit, cancel and complete it, and add members.
    manageable: bool,
}

impl Revised for EventDto {
    fn revision(&self) -> i32 {
        self.revision
    }
}

impl From<Event> for EventDto {
    fn from(e: Event) -> Self {
        Self {
            id: e.id,
            title: e.title,
            description: e.description,
            starts_at: e.starts_at,
            ends_at: e.ends_at,
            time_zone: e.time_zone,
            location_type: e.location_type,
            meeting_url: e.meeting_url,
            address: e.address,
            capacity: e.capacity,
            registered_count: e.registered_count,
            waitlist_count: e.waitlist_count,
            module_id: e.module_id,
            required: e.required,
            status: e.status,
            revision: e.revision,
            host_ids: e.host_ids,
            group_ids: e.group_ids,
            created_by: e.created_by,
            created_at: e.created_at,
            updated_at: e.updated_at,
            my_registration: e.mine.map(|m| MyRegistrationDto {
                status: m.status,
                waitlist_place: m.waitlist_place,
                attended_at: m.attended_at,
            }),
            manageable: e.manageable,
        }
    }
}

/// Which events a list shows.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ScopeParam {
    /// Events not ended yet that you may see, soonest first (cancelled ones too).
    #[default]
    Upcoming,
    /// Past events whose attendance was confirmed for you, latest first.
    Attended,
}

/// Which events, a page at a time.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventQuery {
    /// `upcoming` (default) or `attended`.
    #[serde(default)]
    #[param(inline)]
    scope: ScopeParam,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, default = 50)]
    #[serde(default, deserialize_with = "crate::routes::common::page_limit")]
    limit: Option<u32>,
    /// The previous page's `next_cursor` (for the same `scope`).
    #[param(max_length = 1024)]
    cursor: Option<String>,
}

/// List events.
///
/// `scope=upcoming` (default): events that have not ended and that you may see — those of your
/// groups, the tenant's events without groups, those you host, mentor or registered for (ADMINs
/// and above see all) — soonest first, cancelled ones included. `scope=attended`: past events
/// whose attendance was confirmed for you, latest first.
#[utoipa::path(tag = "events", params(EventQuery),
    responses((status = 200, body = PageOf<EventDto>, description = "The events"), AuthErrors, InputErrors))]
#[get("/events")]
pub(crate) async fn list_events(
    ctx: Ctx<Permitted>,
    query: web::Query<EventQuery>,
) -> Result<web::Json<PageOf<EventDto>>, ApiError> {
    let q = query.into_inner();
    let scope = match q.scope {
        ScopeParam::Upcoming => Scope::Upcoming,
        ScopeParam::Attended => Scope::Attended,
    };
    let page = guild_kernel::PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let now = ctx.now;
    let items = ctx
        .write(async |conn| events::list(conn, &ctx.actor, scope, &page, now).await)
        .await?;
    Ok(web::Json(PageOf::map(items, EventDto::from)))
}

/// A new live event.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "Fire safety walkthrough",
    "description": "We walk the evacuation routes together.",
    "starts_at": "2027-01-12T09:00:00Z",
    "ends_at": "2027-01-12T10:00:00Z",
    "time_zone": "Europe/Paris",
    "location_type": "HYBRID",
    "meeting_url": "https://meet.example.com/fire-safety",
    "address": "Building B, room 2",
    "capacity": 30,
    "group_ids": []
}))]
pub(crate) struct CreateEventBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: String,
    /// Plain text, up to 10000 characters.
    #[serde(default)]
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: String,
    /// In the future.
    starts_at: DateTime<Utc>,
    /// After `starts_at`, at most 7 days later.
    ends_at: DateTime<Utc>,
    /// An IANA time zone name, e.g. `Europe/Paris`.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    time_zone: String,
    location_type: LocationType,
    /// An `https://` URL; required for `ONLINE` and `HYBRID`, refused for `PHYSICAL`.
    #[schema(
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$"
    )]
    meeting_url: Option<String>,
    /// Required for `PHYSICAL` and `HYBRID`, refused for `ONLINE`; up to 500 characters.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_length = 1, max_length = 500)]
    address: Option<String>,
    /// Seats, 1 to 10000.
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    capacity: i32,
    /// The module it belongs to (you must see it; a mentor's event must name one they mentor).
    module_id: Option<Uuid>,
    /// Confirmed attendance counts toward the module's completion (needs `module_id`).
    #[serde(default)]
    required: bool,
    /// Who runs it (active members, not VIEWERs); you when left out. Up to 10.
    #[serde(default)]
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    host_ids: Vec<Uuid>,
    /// The groups it is for; empty: the whole tenant (ADMINs and above only: a mentor names
    /// groups the module is assigned to). Up to 50.
    #[serde(default)]
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    group_ids: Vec<Uuid>,
}

/// Create a live event.
///
/// For MANAGE_ALL_MODULES holders (ADMIN and above; a grant scoped to the linked module), and
/// for the mentors of the linked module, whose event names at least one group and only groups the
/// module is assigned to. Checked as a whole (422 with every field at fault): an IANA time zone,
/// `ends_at` after `starts_at`, `starts_at` in the future, the meeting URL and address the
/// location type needs. At most 200 upcoming events per creator (409 `event_limit_reached`).
#[utoipa::path(tag = "events", request_body = CreateEventBody,
    responses((status = 201, body = EventDto, description = "Created; `ETag` is its revision",
        headers(("ETag" = String, description = "The revision, to send back as `If-Match`"))),
        AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/events")]
pub(crate) async fn create_event(
    ctx: Ctx<Permitted>,
    body: ValidJson<CreateEventBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let input = EventInput {
        title: b.title,
        description: b.description,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        time_zone: b.time_zone,
        location_type: b.location_type,
        meeting_url: b.meeting_url,
        address: b.address,
        capacity: b.capacity,
        module_id: b.module_id,
        required: b.required,
        host_ids: b.host_ids,
        group_ids: b.group_ids,
    };
    let now = ctx.now;
    let created = ctx
        .write(async |conn| events::create(conn, &ctx.actor, &input, now).await)
        .await?;
    let dto = EventDto::from(created);
    Ok(with_etag(HttpResponse::Created(), dto.revision, &dto))
}

/// Get a live event.
///
/// An event you may see (404 `event_not_found` otherwise, another tenant's included). `ETag`
/// carries its revision.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses((status = 200, body = EventDto, description = "The event; `ETag` is its revision"), AuthErrors, NotFound))]
#[get("/events/{event_id}")]
pub(crate) async fn get_event(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let found = ctx
        .write(async |conn| events::get(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(Tagged(EventDto::from(found)).into())
}

/// The host named in calendar UIDs: the API's public host.
pub(crate) fn uid_host(api_url: &str) -> &str {
    let rest = api_url.split_once("://").map_or(api_url, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// Get a live event as an iCalendar file.
///
/// An event you may see, as RFC 5545 (`METHOD:PUBLISH`): its UID stays the same for life
/// (`<id>@<host>`), `SEQUENCE` grows with every change, start and end carry the organiser's
/// time zone (`TZID`), and a cancelled event says `STATUS:CANCELLED`.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses((status = 200, content_type = "text/calendar", body = String, description = "The iCalendar file"), AuthErrors, NotFound))]
#[get("/events/{event_id}/ics")]
pub(crate) async fn get_event_ics(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let found = ctx
        .write(async |conn| events::get(conn, &ctx.actor, id, now).await)
        .await?;
    let file = guild_live::calendar::event_file(
        &found,
        uid_host(&ctx.state.api_url),
        guild_live::calendar::Method::Publish,
        now,
    );
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"event-{id}.ics\""),
        ))
        .body(file))
}

/// A change to a live event: the fields sent replace the event's.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "starts_at": "2027-01-12T10:00:00Z", "ends_at": "2027-01-12T11:00:00Z" }))]
pub(crate) struct UpdateEventBody {
    /// 1 to 200 characters, not only spaces (trimmed).
    #[validate(
        length(min = 1, max = 200),
        custom(function = "crate::extract::has_text")
    )]
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    title: Option<String>,
    /// Plain text, up to 10000 characters.
    #[validate(length(max = 10000))]
    #[schema(max_length = 10000)]
    description: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    /// An IANA time zone name.
    #[validate(length(min = 1, max = 64))]
    #[schema(min_length = 1, max_length = 64)]
    time_zone: Option<String>,
    location_type: Option<LocationType>,
    /// An `https://` URL; `null` removes it (a `PHYSICAL` event).
    #[serde(default, with = "double_option")]
    #[schema(
        value_type = Option<String>,
        max_length = 2048,
        pattern = r"^[Hh][Tt][Tt][Pp][Ss]://(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.:][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*|[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*:[0-9]*|(?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@.][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@]*)?:[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*\][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\/?#@:]*)(?:[/?#][^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\\]*)?$"
    )]
    meeting_url: Option<Option<String>>,
    /// The address; `null` removes it (an `ONLINE` event).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    address: Option<Option<String>>,
    /// Seats, 1 to 10000, not below the members registered (409 `capacity_below_registered`);
    /// more seats go to the waitlist's head at once.
    #[validate(range(min = 1, max = 10_000))]
    #[schema(minimum = 1, maximum = 10_000)]
    capacity: Option<i32>,
    required: Option<bool>,
    /// Up to 10 hosts.
    #[validate(length(max = 10))]
    #[schema(max_items = 10)]
    host_ids: Option<Vec<Uuid>>,
    /// Up to 50 groups.
    #[validate(length(max = 50))]
    #[schema(max_items = 50)]
    group_ids: Option<Vec<Uuid>>,
}

/// Update a live event; requires `If-Match` with its `ETag`.
///
/// Its managers (MANAGE_ALL_MODULES, the linked module's mentors), while it is `SCHEDULED` (409
/// `event_not_scheduled`). The result is checked as a whole. A change of time or place tells the
/// registrants and waitlist (EVENT_CHANGED, with the updated calendar entry). 412 when the
/// `ETag` is stale.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    request_body = UpdateEventBody,
    responses((status = 200, body = EventDto, description = "Updated; `ETag` is its new revision"), AuthErrors, InputErrors, NotFound, Conflict, PreconditionErrors))]
#[patch("/events/{event_id}")]
pub(crate) async fn update_event(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
    body: ValidJson<UpdateEventBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let changes = EventChanges {
        title: b.title,
        description: b.description,
        starts_at: b.starts_at,
        ends_at: b.ends_at,
        time_zone: b.time_zone,
        location_type: b.location_type,
        meeting_url: b.meeting_url,
        address: b.address,
        capacity: b.capacity,
        required: b.required,
        host_ids: b.host_ids,
        group_ids: b.group_ids,
    };
    let now = ctx.now;
    let updated = ctx
        .write(async |conn| events::update(conn, &ctx.actor, id, if_match.0, &changes, now).await)
        .await?;
    Ok(Tagged(EventDto::from(updated)).into())
}

/// Cancel a live event; requires `If-Match` with its `ETag`.
///
/// Its managers, while it is `SCHEDULED` (409 `event_not_scheduled`). The registrants and
/// waitlist are told (EVENT_CANCELLED).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 200, body = EventDto, description = "Cancelled; `ETag` is its new revision"), AuthErrors, NotFound, Conflict, PreconditionErrors))]
#[post("/events/{event_id}/cancel")]
pub(crate) async fn cancel_event(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let done = ctx
        .write(async |conn| events::cancel(conn, &ctx.actor, id, if_match.0, now).await)
        .await?;
    Ok(Tagged(EventDto::from(done)).into())
}

/// Mark a live event completed; requires `If-Match` with its `ETag`.
///
/// Its managers, once it has started (409 `event_not_started`) and while it is `SCHEDULED` (409
/// `event_not_scheduled`).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), ("If-Match" = String, Header, description = "The `ETag` you read, e.g. `\"3\"`", pattern = "^(W/)?\"[0-9]{1,9}\"$")),
    responses((status = 200, body = EventDto, description = "Completed; `ETag` is its new revision"), AuthErrors, NotFound, Conflict, PreconditionErrors))]
#[post("/events/{event_id}/complete")]
pub(crate) async fn complete_event(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = ctx.now;
    let done = ctx
        .write(async |conn| events::complete(conn, &ctx.actor, id, if_match.0, now).await)
        .await?;
    Ok(Tagged(EventDto::from(done)).into())
}

/// A member's registration for an event.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RegistrationDto {
    event_id: Uuid,
    user_id: Uuid,
    name: String,
    status: RegistrationStatus,
    /// Arrival order among the event's registrations.
    position: i64,
    /// The place on the waitlist (1 = next), while `WAITLISTED`.
    waitlist_place: Option<i64>,
    /// Who added them, when not themselves.
    added_by: Option<Uuid>,
    created_at: DateTime<Utc>,
    /// When a freed seat went to them.
    promoted_at: Option<DateTime<Utc>>,
    /// When their attendance was confirmed.
    attended_at: Option<DateTime<Utc>>,
}

impl From<Registration> for RegistrationDto {
    fn from(r: Registration) -> Self {
        Self {
            event_id: r.event_id,
            user_id: r.user_id,
            name: r.name,
            status: r.status,
            position: r.position,
            waitlist_place: r.waitlist_place,
            added_by: r.added_by,
            created_at: r.created_at,
            promoted_at: r.promoted_at,
            attended_at: r.attended_at,
        }
    }
}

/// Register for a live event.
///
/// Any member who sees the event but a VIEWER (API keys only with `act_as_member`), while it is
/// `SCHEDULED` (409 `event_not_scheduled`) and has not started (409 `registration_closed`): a
/// seat while one remains, else a place on the waitlist (promoted in order when a seat frees).
/// Registering again changes nothing. At most 100 upcoming registrations per member (409
/// `registration_limit_reached`), 30 registrations or cancellations a minute (429
/// `rate_limited`).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses((status = 200, body = RegistrationDto, description = "Registered or waitlisted"), AuthErrors, NotFound, Conflict))]
#[put("/events/{event_id}/registration")]
pub(crate) async fn create_event_registration(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<web::Json<RegistrationDto>, ApiError> {
    let id = path.into_inner();
    let key = format!(
        "event_registrations:{}:{}",
        ctx.actor.tenant_id, ctx.actor.user_id
    );
    crate::routes::auth::rate_limit(&ctx.state, &key, REGISTRATIONS_PER_MINUTE).await?;
    let now = ctx.now;
    let reg = ctx
        .write(async |conn| registrations::register(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(web::Json(reg.into()))
}

/// Cancel your registration for a live event.
///
/// Gives your seat (or waitlist place) back while the event is `SCHEDULED` and has not started
/// (409 `registration_closed`); a freed seat goes to the first member waiting, who is told
/// (EVENT_PROMOTED). 404 `registration_not_found` when you are not registered.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses((status = 204, description = "Unregistered"), AuthErrors, NotFound, Conflict))]
#[delete("/events/{event_id}/registration")]
pub(crate) async fn delete_event_registration(
    ctx: Ctx,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let key = format!(
        "event_registrations:{}:{}",
        ctx.actor.tenant_id, ctx.actor.user_id
    );
    crate::routes::auth::rate_limit(&ctx.state, &key, REGISTRATIONS_PER_MINUTE).await?;
    let now = ctx.now;
    ctx.write(async |conn| registrations::unregister(conn, &ctx.actor, id, now).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List an event's registrations.
///
/// Its managers and hosts: registered and waiting members in arrival order (`position`).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), PageParams),
    responses((status = 200, body = PageOf<RegistrationDto>, description = "The registrations"), AuthErrors, InputErrors, NotFound))]
#[get("/events/{event_id}/registrations")]
pub(crate) async fn list_event_registrations(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    query: web::Query<PageParams>,
) -> Result<web::Json<PageOf<RegistrationDto>>, ApiError> {
    let id = path.into_inner();
    let page = guild_kernel::PageRequest::from(&query.into_inner());
    let items = ctx
        .write(async |conn| registrations::list(conn, &ctx.actor, id, &page).await)
        .await?;
    Ok(web::Json(PageOf::map(items, RegistrationDto::from)))
}

/// Members to add to an event.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "user_ids": ["0193f2a4-7c1e-7000-8000-000000000001"] }))]
pub(crate) struct AddRegistrationsBody {
    /// 1 to 500 members, seated in this order while seats remain, then waitlisted.
    #[validate(length(min = 1, max = 500))]
    #[schema(min_items = 1, max_items = 500)]
    user_ids: Vec<Uuid>,
}

/// What a bulk addition did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AddRegistrationsDto {
    /// Given a seat.
    registered: Vec<Uuid>,
    /// Put on the waitlist.
    waitlisted: Vec<Uuid>,
    /// Already registered or waiting, or not active members.
    skipped: Vec<Uuid>,
}

impl From<BulkResult> for AddRegistrationsDto {
    fn from(b: BulkResult) -> Self {
        Self {
            registered: b.registered,
            waitlisted: b.waitlisted,
            skipped: b.skipped,
        }
    }
}

/// Add members to a live event.
///
/// Its managers (MANAGE_ALL_MODULES, the linked module's mentors), while it is `SCHEDULED` and
/// has not started: seats while they remain, then the waitlist, in the order given; each member
/// placed is told (EVENT_REGISTERED).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    request_body = AddRegistrationsBody,
    responses((status = 200, body = AddRegistrationsDto, description = "Added"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/events/{event_id}/registrations")]
pub(crate) async fn add_event_registrations(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<AddRegistrationsBody>,
) -> Result<web::Json<AddRegistrationsDto>, ApiError> {
    let id = path.into_inner();
    let users = body.into_inner().user_ids;
    let now = ctx.now;
    let done = ctx
        .write(async |conn| registrations::add_members(conn, &ctx.actor, id, &users, now).await)
        .await?;
    Ok(web::Json(done.into()))
}

/// Members whose attendance to confirm.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({ "user_ids": ["0193f2a4-7c1e-7000-8000-000000000001"] }))]
pub(crate) struct ConfirmAttendeesBody {
    /// 1 to 500 registered members (never yourself).
    #[validate(length(min = 1, max = 500))]
    #[schema(min_items = 1, max_items = 500)]
    user_ids: Vec<Uuid>,
}

/// What a bulk confirmation did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConfirmAttendeesDto {
    /// Confirmed now (each earns EVENT_ATTENDED XP once).
    confirmed: Vec<Uuid>,
    /// Confirmed before, or not registered.
    skipped: Vec<Uuid>,
}

/// Confirm attendees of a live event.
///
/// Its hosts and managers, once it started and unless it was cancelled (409), for registered
/// members — never yourself (403 `cannot_confirm_own_attendance`: another host or an admin
/// does).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    request_body = ConfirmAttendeesBody,
    responses((status = 200, body = ConfirmAttendeesDto, description = "Confirmed"), AuthErrors, InputErrors, NotFound, Conflict))]
#[post("/events/{event_id}/attendance")]
pub(crate) async fn confirm_event_attendees(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
    body: ValidJson<ConfirmAttendeesBody>,
) -> Result<web::Json<ConfirmAttendeesDto>, ApiError> {
    let id = path.into_inner();
    let users = body.into_inner().user_ids;
    let now = ctx.now;
    let done = ctx
        .write(async |conn| {
            guild_live::attendance::confirm_bulk(conn, &ctx.actor, id, &users, now).await
        })
        .await?;
    Ok(web::Json(ConfirmAttendeesDto {
        confirmed: done.confirmed,
        skipped: done.skipped,
    }))
}

/// One of a live event's materials (download it with `GET …/materials/{asset_id}/download`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MaterialDto {
    /// The media library's asset.
    asset_id: Uuid,
    /// Its title.
    title: String,
    /// Its file name.
    file_name: String,
    /// Its content type.
    content_type: String,
    /// Its size in bytes.
    size_bytes: i64,
    /// When it was added to the event.
    added_at: DateTime<Utc>,
}

/// An event's materials, in the order they were added.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MaterialList {
    data: Vec<MaterialDto>,
}

impl From<Vec<guild_live::materials::Material>> for MaterialList {
    fn from(items: Vec<guild_live::materials::Material>) -> Self {
        Self {
            data: items
                .into_iter()
                .map(|m| MaterialDto {
                    asset_id: m.asset_id,
                    title: m.title,
                    file_name: m.file_name,
                    content_type: m.content_type,
                    size_bytes: m.size_bytes,
                    added_at: m.added_at,
                })
                .collect(),
        }
    }
}

/// List a live event's materials.
///
/// For the event's managers and hosts and the members holding a seat (403 `forbidden` for
/// others who see the event; 404 `event_not_found` for those who do not).
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event")),
    responses((status = 200, body = MaterialList, description = "The materials"), AuthErrors, NotFound))]
#[get("/events/{event_id}/materials")]
pub(crate) async fn list_event_materials(
    ctx: Ctx<Permitted>,
    path: web::Path<Uuid>,
) -> Result<web::Json<MaterialList>, ApiError> {
    let id = path.into_inner();
    let items = ctx
        .write(async |conn| guild_live::materials::list(conn, &ctx.actor, id).await)
        .await?;
    Ok(web::Json(items.into()))
}

/// Add a file of the media library to a live event's materials.
///
/// The event's managers, with a file they may use (404 `asset_not_found`; 409 `asset_not_ready`
/// while it is processing). Idempotent; up to 20 per event (409 `material_limit_reached`).
/// Answers the materials.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), ("asset_id" = Uuid, Path, description = "The media library's asset")),
    responses((status = 200, body = MaterialList, description = "The materials"), AuthErrors, NotFound, Conflict))]
#[put("/events/{event_id}/materials/{asset_id}")]
pub(crate) async fn add_event_material(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<web::Json<MaterialList>, ApiError> {
    let (id, asset) = path.into_inner();
    let now = ctx.now;
    let items = ctx
        .write(async |conn| guild_live::materials::add(conn, &ctx.actor, id, asset, now).await)
        .await?;
    Ok(web::Json(items.into()))
}

/// Remove a file from a live event's materials.
///
/// The event's managers; the file stays in the media library. 404 `material_not_found` when it
/// is not one of the event's materials.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), ("asset_id" = Uuid, Path, description = "The media library's asset")),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound))]
#[delete("/events/{event_id}/materials/{asset_id}")]
pub(crate) async fn remove_event_material(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, asset) = path.into_inner();
    ctx.write(async |conn| guild_live::materials::remove(conn, &ctx.actor, id, asset).await)
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Download one of a live event's materials: get a signed download URL.
///
/// For those who list the materials. The URL is valid five minutes and needs no credentials.
/// 404 `material_not_found` when the asset is not one of the event's materials.
#[utoipa::path(tag = "events",
    params(("event_id" = Uuid, Path, description = "The event"), ("asset_id" = Uuid, Path, description = "The media library's asset")),
    responses((status = 200, body = crate::routes::media::DownloadDto, description = "The link"), AuthErrors, NotFound))]
#[get("/events/{event_id}/materials/{asset_id}/download")]
pub(crate) async fn download_event_material(
    ctx: Ctx<Permitted>,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, asset) = path.into_inner();
    let found = ctx
        .write(async |conn| guild_live::materials::download(conn, &ctx.actor, id, asset).await)
        .await?;
    let ttl = guild_learning::media::DOWNLOAD_URL_TTL;
    let url = ctx
        .state
        .blobs
        .signed_get_url(&found.blob_key, ttl)
        .await
        .map_err(crate::routes::media::blob_error)?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(crate::routes::media::DownloadDto {
            url,
            expires_at: Utc::now() + chrono::Duration::from_std(ttl).unwrap_or_default(),
            file_name: found.file_name,
            content_type: found.content_type,
        }))
}
