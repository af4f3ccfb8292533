-- Video progress: what a member actually played of a VIDEO section (the union of the intervals
-- their player reported, seeking ahead adds nothing), where to resume, and the tenant's share of
-- a video that must be watched before the section can be completed (0 turns the rule off).
ALTER TABLE tenants ADD COLUMN video_completion_percent integer NOT NULL DEFAULT 90
    CHECK (video_completion_percent BETWEEN 0 AND 100);

CREATE TABLE video_progress (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    section_id uuid NOT NULL,
    module_id uuid NOT NULL,
    -- The longest duration reported: a client cannot shorten a video to finish it sooner.
    duration_seconds double precision NOT NULL
        CHECK (duration_seconds > 0 AND duration_seconds <= 86400),
    -- [[from, to], …] in seconds: sorted, disjoint, within the duration.
    watched jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(watched) = 'array'),
    watched_seconds double precision NOT NULL DEFAULT 0 CHECK (watched_seconds >= 0),
    position_seconds double precision NOT NULL DEFAULT 0 CHECK (position_seconds >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, section_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX video_progress_module_idx ON video_progress (tenant_id, user_id, module_id);

ALTER TABLE video_progress ENABLE ROW LEVEL SECURITY;
ALTER TABLE video_progress FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON video_progress
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON video_progress TO guild_app;
