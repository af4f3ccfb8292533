-- The jobs members start and wait on (`/v1/jobs`): an export, an import, an AI build. Each is a
-- row of the internal queue (`jobs`, same id, enqueued in the same transaction) seen from the
-- member's side: who started it, where it is (QUEUED -> RUNNING -> SUCCEEDED | FAILED |
-- CANCELLED), how far it got, and what it produced or why it failed.
--
-- `state` moves only forward: the runner takes a QUEUED (or, after a crash, RUNNING) job to
-- RUNNING, reports progress and finishes it only while it is RUNNING, so a job the owner
-- cancelled is never started, and a running one stops at its next step.
CREATE TABLE member_jobs (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    -- The API key that started it, if one did: that key may follow the job.
    api_key_id uuid,
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z_.]{0,63}$'),
    state text NOT NULL DEFAULT 'QUEUED'
        CHECK (state IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    progress integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    message text NOT NULL DEFAULT '' CHECK (length(message) <= 500),
    -- What a SUCCEEDED job produced (JSON), and the blob of the file it produced, if any.
    result jsonb,
    result_blob text,
    -- Why a FAILED job failed: a problem (RFC 9457) without a request id.
    problem jsonb,
    created_at timestamptz NOT NULL,
    started_at timestamptz,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    CHECK ((state IN ('SUCCEEDED', 'FAILED', 'CANCELLED')) = (finished_at IS NOT NULL)),
    CHECK (state = 'FAILED' OR problem IS NULL),
    CHECK (state = 'SUCCEEDED' OR (result IS NULL AND result_blob IS NULL))
);
-- A member's jobs, newest first.
CREATE INDEX member_jobs_owner_idx ON member_jobs (tenant_id, user_id, id DESC);
-- A member's unfinished jobs (at most 5 at once).
CREATE INDEX member_jobs_unfinished_idx ON member_jobs (tenant_id, user_id)
    WHERE finished_at IS NULL;
-- The daily prune of finished jobs.
CREATE INDEX member_jobs_finished_idx ON member_jobs (tenant_id, finished_at)
    WHERE finished_at IS NOT NULL;

ALTER TABLE member_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON member_jobs
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON member_jobs TO guild_app;
