//! iCalendar (RFC 5545) files of live events, built with the `icalendar` crate.
//!
//! An event's entry keeps one UID for life (`<event id>@<host>`), so calendars update it in
//! place; its SEQUENCE is the event's revision minus one, bumped by every change; start and end
//! carry the organiser's IANA zone as `TZID`; a cancelled event says `STATUS:CANCELLED`. The
//! calendar's METHOD is PUBLISH for a download, REQUEST or CANCEL for an email invitation.

use chrono::{DateTime, Utc};
use icalendar::{
    Calendar, CalendarDateTime, Component, Event as IcsEvent, EventLike, EventStatus as IcsStatus,
    Property,
};

use crate::events::{Event, EventStatus, LocationType};

/// The iTIP method of a calendar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A file to import or subscribe to.
    Publish,
    /// An invitation (registration, change).
    Request,
    /// A cancellation.
    Cancel,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "PUBLISH",
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }
}

/// An empty calendar with its header: VERSION, Guild's PRODID (one: the crate's own default is
/// left out), CALSCALE and `method`.
pub(crate) fn calendar(product: &str, method: Method) -> Calendar {
    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", format!("-//Guild//{product}//EN")))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", method.as_str()));
    calendar
}

/// The VEVENT of `event`; `host` names the server in its UID, `now` stamps it.
pub fn vevent(event: &Event, host: &str, now: DateTime<Utc>) -> IcsEvent {
    let tz = event
        .time_zone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::UTC);
    let mut e = IcsEvent::new();
    e.uid(&format!("{}@{host}", event.id))
        .sequence(u32::try_from(event.revision - 1).unwrap_or(0))
        .timestamp(now)
        .summary(&event.title)
        .starts(CalendarDateTime::from_date_time(
            event.starts_at.with_timezone(&tz),
        ))
        .ends(CalendarDateTime::from_date_time(
            event.ends_at.with_timezone(&tz),
        ))
        .status(if event.status == EventStatus::Cancelled {
            IcsStatus::Cancelled
        } else {
            IcsStatus::Confirmed
        });
    if !event.description.is_empty() {
        e.description(&event.description);
    }
    match (event.location_type, &event.address, &event.meeting_url) {
        (LocationType::Online, _, Some(url)) => {
            e.location(url).url(url);
        }
        (_, Some(address), url) => {
            e.location(address);
            if let Some(url) = url {
                e.url(url);
            }
        }
        _ => {}
    }
    e.done()
}

/// A calendar file holding `event`.
pub fn event_file(event: &Event, host: &str, method: Method, now: DateTime<Utc>) -> String {
    let mut calendar = calendar("Live events", method);
    calendar.push(vevent(event, host, now));
    calendar.done().to_string()
}

/// A name and an email address in an invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Party {
    /// The display name (`CN`).
    pub name: String,
    /// The address.
    pub email: String,
}

impl Party {
    fn property(&self, key: &str) -> Property {
        // A CN is a parameter value: no double quote or control character fits in one.
        let name: String = self
            .name
            .chars()
            .filter(|c| *c != '"' && !c.is_control())
            .collect();
        let mut property = Property::new(key, format!("mailto:{}", self.email));
        if !name.trim().is_empty() {
            property.add_parameter("CN", name.trim());
        }
        property
    }
}

/// The calendar file of an emailed invitation (RFC 5546): `method` REQUEST for a seat and each
/// change, CANCEL for a cancellation; the event's creator is its ORGANIZER and the member its
/// one ATTENDEE, so calendars file it as an invitation they accepted by registering.
pub fn invitation_file(
    event: &Event,
    host: &str,
    method: Method,
    organizer: &Party,
    attendee: &Party,
    now: DateTime<Utc>,
) -> String {
    let mut vevent = vevent(event, host, now);
    let mut who = attendee.property("ATTENDEE");
    who.add_parameter("ROLE", "REQ-PARTICIPANT")
        .add_parameter(
            "PARTSTAT",
            if method == Method::Cancel {
                "DECLINED"
            } else {
                "ACCEPTED"
            },
        )
        .add_parameter("RSVP", "FALSE");
    vevent
        .append_property(organizer.property("ORGANIZER"))
        .append_property(who);
    if method == Method::Cancel {
        vevent.status(IcsStatus::Cancelled);
    }
    let mut calendar = calendar("Live events", method);
    calendar.push(vevent.done());
    calendar.done().to_string()
}

/// What an emailed invitation to an event needs, for one member.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The event.
    pub event: Event,
    /// The member's registration (`None`: they have none).
    pub status: Option<crate::registrations::RegistrationStatus>,
    /// The event's creator.
    pub organizer: Party,
    /// The member.
    pub attendee: Party,
}

/// The invitation of `user` to `event` of `tenant` (`None` when the event was deleted).
pub async fn invitation(
    conn: &mut diesel_async::AsyncPgConnection,
    tenant: guild_kernel::TenantId,
    event: uuid::Uuid,
    user: uuid::Uuid,
) -> Result<Option<Invitation>, crate::LiveError> {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use guild_db::schema::{live_event_registrations as r, live_events as e, users as u};

    let Some(row) = e::table
        .find((tenant.into_uuid(), event))
        .select(crate::events::EventRow::as_select())
        .first(conn)
        .await
        .optional()?
    else {
        return Ok(None);
    };
    let status: Option<String> = r::table
        .filter(r::tenant_id.eq(tenant.into_uuid()))
        .filter(r::event_id.eq(event))
        .filter(r::user_id.eq(user))
        .select(r::status)
        .first(conn)
        .await
        .optional()?;
    let people: Vec<(uuid::Uuid, String, String)> = u::table
        .filter(u::id.eq_any([row.created_by, user]))
        .select((u::id, u::name, u::email))
        .load(conn)
        .await?;
    let party = |id: uuid::Uuid| {
        people.iter().find(|p| p.0 == id).map(|p| Party {
            name: p.1.clone(),
            email: p.2.clone(),
        })
    };
    let (Some(organizer), Some(attendee)) = (party(row.created_by), party(user)) else {
        return Ok(None);
    };
    Ok(Some(Invitation {
        status: status.and_then(|s| s.parse().ok()),
        organizer,
        attendee,
        event: row.into(),
    }))
}
