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
    let mut calendar = Calendar::new();
    calendar
        .append_property(Property::new("PRODID", "-//Guild//Live events//EN"))
        .append_property(Property::new("METHOD", method.as_str()))
        .push(vevent(event, host, now));
    calendar.done().to_string()
}
