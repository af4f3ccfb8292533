DROP TABLE live_event_materials;
DROP TABLE calendar_feeds;
DROP INDEX live_events_scheduled_starts_idx;
ALTER TABLE live_event_registrations
    DROP COLUMN reminded_day_for,
    DROP COLUMN reminded_hour_for;
