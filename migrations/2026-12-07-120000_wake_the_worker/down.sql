DROP TRIGGER jobs_wake_worker ON jobs;
DROP TRIGGER outbox_events_wake_worker ON outbox_events;
DROP FUNCTION guild_wake_worker();
