//! iCalendar (RFC 5545) files of live events, built with the `icalendar` crate.
//!
//! An event's entry keeps one UID for life (`<event id>@<host>`), so calendars update it in
//! place; its SEQUENCE is the event's revision minus one, bumped by every change; start and end
//! carry the organiser's IANA zone as `TZID`, defined by a VTIMEZONE built from the tz database
//! (its offsets and their changes from a year before to a year after); a cancelled event says
//! `STATUS:CANCELLED`. The calendar's METHOD is PUBLISH for a download, REQUEST or CANCEL for an
//! email invitation.

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
    let tz = zone_of(event);
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
    with_zones(calendar.done().to_string(), &zones_for([event]))
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
    with_zones(calendar.done().to_string(), &zones_for([event]))
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

/// The VTIMEZONE of `tz` (RFC 5545 §3.6.5) covering a year before `from` to a year after `to`:
/// the observance in force at the start, then each change of offset (daylight saving time and
/// back, or a change of the zone's rules) found in the tz database, with its local onset,
/// offsets and abbreviation. Calendar applications that do not know the IANA name (Outlook)
/// read the zone from it.
pub(crate) fn vtimezone(tz: chrono_tz::Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    use chrono::{Duration, Offset, TimeZone};
    use chrono_tz::{OffsetComponents, OffsetName};

    let start = from - Duration::days(366);
    let end = to + Duration::days(366);
    let at = |t: DateTime<Utc>| tz.offset_from_utc_datetime(&t.naive_utc());
    let same = |a: &chrono_tz::TzOffset, b: &chrono_tz::TzOffset| {
        a.fix() == b.fix() && a.dst_offset() == b.dst_offset()
    };
    let offset = |o: &chrono_tz::TzOffset| {
        let secs = o.fix().local_minus_utc();
        let sign = if secs < 0 { '-' } else { '+' };
        let secs = secs.unsigned_abs();
        let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
        if s == 0 {
            format!("{sign}{h:02}{m:02}")
        } else {
            format!("{sign}{h:02}{m:02}{s:02}")
        }
    };
    let observance =
        |onset: DateTime<Utc>, before: &chrono_tz::TzOffset, after: &chrono_tz::TzOffset| {
            let kind = if after.dst_offset().is_zero() {
                "STANDARD"
            } else {
                "DAYLIGHT"
            };
            let local = (onset + Duration::seconds(i64::from(before.fix().local_minus_utc())))
                .naive_utc()
                .format("%Y%m%dT%H%M%S");
            let mut block = format!(
                "BEGIN:{kind}\r\nDTSTART:{local}\r\nTZOFFSETFROM:{}\r\nTZOFFSETTO:{}\r\n",
                offset(before),
                offset(after)
            );
            if let Some(name) = after.abbreviation() {
                block.push_str(&format!("TZNAME:{name}\r\n"));
            }
            block.push_str(&format!("END:{kind}\r\n"));
            block
        };

    let mut previous = at(start);
    let mut out = format!("BEGIN:VTIMEZONE\r\nTZID:{}\r\n", tz.name());
    out.push_str(&observance(start, &previous, &previous));
    let mut day = start;
    while day < end {
        let next = day + Duration::days(1);
        let then = at(next);
        if !same(&then, &previous) {
            // The change is within this day: narrow it down to the second.
            let (mut lo, mut hi) = (day, next);
            while hi - lo > Duration::seconds(1) {
                let mid = lo + (hi - lo) / 2;
                if same(&at(mid), &previous) {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let after = at(hi);
            out.push_str(&observance(hi, &previous, &after));
            previous = after;
        }
        day = next;
    }
    out.push_str("END:VTIMEZONE\r\n");
    out
}

/// `ics` with `zones` (VTIMEZONE blocks) placed before its first component, as RFC 5545 wants
/// them: before any VEVENT that names them.
pub(crate) fn with_zones(ics: String, zones: &[String]) -> String {
    if zones.is_empty() {
        return ics;
    }
    let at = ics
        .find("BEGIN:VEVENT")
        .or_else(|| ics.find("END:VCALENDAR"))
        .unwrap_or(ics.len());
    let mut out = String::with_capacity(ics.len() + zones.iter().map(String::len).sum::<usize>());
    out.push_str(&ics[..at]);
    for zone in zones {
        out.push_str(zone);
    }
    out.push_str(&ics[at..]);
    out
}

/// The zone of `event`: its organiser's, or UTC for a name the tz database lacks.
fn zone_of(event: &Event) -> chrono_tz::Tz {
    event
        .time_zone
        .parse::<chrono_tz::Tz>()
        .unwrap_or(chrono_tz::UTC)
}

/// The VTIMEZONE blocks `events` need: one per zone, covering its events.
pub(crate) fn zones_for<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<String> {
    let mut spans: std::collections::BTreeMap<
        &'static str,
        (chrono_tz::Tz, DateTime<Utc>, DateTime<Utc>),
    > = std::collections::BTreeMap::new();
    for event in events {
        let tz = zone_of(event);
        let span = spans
            .entry(tz.name())
            .or_insert((tz, event.starts_at, event.ends_at));
        span.1 = span.1.min(event.starts_at);
        span.2 = span.2.max(event.ends_at);
    }
    spans
        .into_values()
        .map(|(tz, from, to)| vtimezone(tz, from, to))
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    #[test]
    fn a_zone_with_summer_time_lists_each_change_at_its_local_onset() {
        let block = vtimezone(chrono_tz::Europe::Paris, day(2031, 3, 4), day(2031, 3, 4));
        assert!(
            block.starts_with("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n"),
            "{block}"
        );
        assert!(block.ends_with("END:VTIMEZONE\r\n"), "{block}");
        // Summer time starts on the last Sunday of March at 02:00 local (01:00 UTC)…
        assert!(
            block.contains(
                "BEGIN:DAYLIGHT\r\nDTSTART:20310330T020000\r\nTZOFFSETFROM:+0100\r\n\
                 TZOFFSETTO:+0200\r\nTZNAME:CEST\r\nEND:DAYLIGHT\r\n"
            ),
            "{block}"
        );
        // …and ends on the last Sunday of October at 03:00 local summer time.
        assert!(
            block.contains(
                "BEGIN:STANDARD\r\nDTSTART:20311026T030000\r\nTZOFFSETFROM:+0200\r\n\
                 TZOFFSETTO:+0100\r\nTZNAME:CET\r\nEND:STANDARD\r\n"
            ),
            "{block}"
        );
        // From 366 days before (the winter time then in force) to 366 days after (March 2032,
        // before that year's change): 2030's and 2031's changes.
        assert_eq!(block.matches("BEGIN:DAYLIGHT").count(), 2, "{block}");
        assert_eq!(block.matches("BEGIN:STANDARD").count(), 3, "{block}");
        assert!(
            block.contains("DTSTART:20300303T130000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100"),
            "{block}"
        );
    }

    #[test]
    fn a_zone_without_changes_has_one_observance_and_odd_offsets_keep_their_minutes() {
        let tokyo = vtimezone(chrono_tz::Asia::Tokyo, day(2031, 3, 4), day(2031, 3, 5));
        assert_eq!(tokyo.matches("BEGIN:STANDARD").count(), 1, "{tokyo}");
        assert!(tokyo.contains("TZOFFSETFROM:+0900\r\nTZOFFSETTO:+0900\r\nTZNAME:JST"));
        assert!(!tokyo.contains("DAYLIGHT"));
        let kathmandu = vtimezone(chrono_tz::Asia::Kathmandu, day(2031, 3, 4), day(2031, 3, 5));
        assert!(kathmandu.contains("TZOFFSETTO:+0545"), "{kathmandu}");
        let newfoundland = vtimezone(
            chrono_tz::America::St_Johns,
            day(2031, 1, 4),
            day(2031, 1, 5),
        );
        assert!(
            newfoundland.contains("TZOFFSETFROM:-0330\r\nTZOFFSETTO:-0230"),
            "{newfoundland}"
        );
    }

    #[test]
    fn zones_go_before_the_first_event() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let out = with_zones(
            ics.to_owned(),
            &["BEGIN:VTIMEZONE\r\nEND:VTIMEZONE\r\n".to_owned()],
        );
        assert_eq!(
            out,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let empty = "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n";
        assert_eq!(with_zones(empty.to_owned(), &[]), empty);
    }
}
