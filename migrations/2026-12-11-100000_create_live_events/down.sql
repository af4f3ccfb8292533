DROP TABLE live_event_registrations;
DROP TABLE live_event_groups;
DROP TABLE live_event_hosts;
DROP TABLE live_events;
