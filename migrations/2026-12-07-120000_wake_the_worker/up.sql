-- An insert into the outbox or the job queue notifies `guild_worker` (once per statement; and
-- PostgreSQL folds identical notifications of one transaction into one, delivered at commit), so
-- an idle worker that LISTENs starts on the new row at once instead of at its next poll.
CREATE FUNCTION guild_wake_worker() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('guild_worker', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER outbox_events_wake_worker AFTER INSERT ON outbox_events
  FOR EACH STATEMENT EXECUTE FUNCTION guild_wake_worker();
CREATE TRIGGER jobs_wake_worker AFTER INSERT ON jobs
  FOR EACH STATEMENT EXECUTE FUNCTION guild_wake_worker();
