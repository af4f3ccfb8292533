-- The transactional outbox: a domain write that others react to inserts its event here in the
-- same transaction, and the worker delivers it at least once to every registered handler.
--
-- A platform table, not a tenant-owned one: the worker reads across tenants, so it has no
-- row-level security policy and its index does not start with tenant_id.
--
-- Lifecycle: PENDING -> RUNNING (claimed; available_at is the end of the lease) -> DONE,
-- or back to PENDING with a backoff after a failure, or DEAD after max_attempts.
CREATE TABLE outbox_events (
    id uuid PRIMARY KEY,
    tenant_id uuid,
    kind text NOT NULL CHECK (kind <> ''),
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'RUNNING', 'DONE', 'DEAD')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 12 CHECK (max_attempts > 0),
    available_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- The worker's claim query: due rows that are not finished, oldest first.
CREATE INDEX outbox_events_due_idx ON outbox_events (available_at)
    WHERE status IN ('PENDING', 'RUNNING');
-- Retention pruning of finished rows.
CREATE INDEX outbox_events_finished_idx ON outbox_events (finished_at)
    WHERE status = 'DONE';
