//! iCalendar (RFC 5545) entries of coaching sessions, built with the `icalendar` crate.
//!
//! A session's entry keeps one UID for life (`coaching-<session id>@<host>`), so calendars update
//! it in place; its SEQUENCE is the session's revision minus one, rising with every change; start
//! and end are in UTC; the coach is the ORGANIZER and the coachee the ATTENDEE. An invitation is
//! METHOD:REQUEST; a cancelled session is METHOD:CANCEL with STATUS:CANCELLED; a download is
//! METHOD:PUBLISH.

use chrono::{DateTime, Duration, Utc};
use icalendar::{
    Calendar, Component, Event as IcsEvent, EventLike, EventStatus as IcsStatus, Property,
};

use crate::sessions::{Notice, SessionStatus};

/// The iTIP method of a calendar file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A file to import.
    Publish,
    /// An invitation (scheduled, changed).
    Request,
    /// A cancellation.
    Cancel,
}

impl Method {
    /// Its name, as in `METHOD:` and the attachment's content type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Publish => "PUBLISH",
            Self::Request => "REQUEST",
            Self::Cancel => "CANCEL",
        }
    }

    /// The method an email about `session` uses: CANCEL once it was cancelled, else REQUEST.
    pub fn for_email(session: &Notice) -> Self {
        if session.status == SessionStatus::Cancelled {
            Self::Cancel
        } else {
            Self::Request
        }
    }
}

/// A calendar file holding `session`; `host` names the server in its UID, `now` stamps it.
pub fn session_file(session: &Notice, host: &str, method: Method, now: DateTime<Utc>) -> String {
    let mut e = IcsEvent::new();
    e.uid(&format!("coaching-{}@{host}", session.id))
        .sequence(u32::try_from(session.revision - 1).unwrap_or(0))
        .timestamp(now)
        .summary(&format!("Coaching with {}", session.coach_name))
        .starts(session.scheduled_at)
        .ends(session.scheduled_at + Duration::minutes(i64::from(session.duration_minutes)))
        .status(if session.status == SessionStatus::Cancelled {
            IcsStatus::Cancelled
        } else {
            IcsStatus::Confirmed
        });
    e.append_property(Property::new(
        "ORGANIZER",
        format!("mailto:{}", session.coach_email),
    ));
    e.append_property(Property::new(
        "ATTENDEE",
        format!("mailto:{}", session.coachee_email),
    ));
    if !session.agenda.is_empty() {
        e.description(&session.agenda);
    }
    let mut calendar = Calendar::new();
    calendar
        .append_property(Property::new("PRODID", "-//Guild//Coaching//EN"))
        .append_property(Property::new("METHOD", method.as_str()))
        .push(e.done());
    calendar.done().to_string()
}
