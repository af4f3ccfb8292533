DROP INDEX outbox_events_due_idx;
CREATE INDEX outbox_events_due_idx ON outbox_events (available_at)
    WHERE status IN ('PENDING', 'RUNNING');
