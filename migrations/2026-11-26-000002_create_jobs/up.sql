-- Durable background jobs, claimed by any number of workers with FOR UPDATE SKIP LOCKED.
--
-- Same lifecycle columns as outbox_events (PENDING -> RUNNING -> DONE | DEAD), plus a result for
-- jobs a user waits on and a dedupe_key: a scheduled job is inserted once per tick under the key
-- `schedule:<name>:<tick>`, so several instances ticking at once create one job.
--
-- A platform table like the outbox: jobs of a tenant carry its tenant_id, but the worker reads
-- across tenants.
CREATE TABLE jobs (
    id uuid PRIMARY KEY,
    tenant_id uuid,
    kind text NOT NULL CHECK (kind <> ''),
    payload jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'PENDING'
        CHECK (status IN ('PENDING', 'RUNNING', 'DONE', 'DEAD')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
    available_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    result jsonb,
    dedupe_key text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

CREATE INDEX jobs_due_idx ON jobs (available_at) WHERE status IN ('PENDING', 'RUNNING');
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE status IN ('DONE', 'DEAD');
CREATE INDEX jobs_tenant_id_idx ON jobs (tenant_id, created_at) WHERE tenant_id IS NOT NULL;
