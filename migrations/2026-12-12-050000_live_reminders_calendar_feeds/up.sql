-- Reminders of live events, 24 hours and 1 hour before: each registration records the start
-- time it was last reminded of, per reminder, so each goes out once — and again for a new
-- start time after a reschedule.
ALTER TABLE live_event_registrations
    ADD COLUMN reminded_day_for timestamptz,
    ADD COLUMN reminded_hour_for timestamptz;
-- The scan looks for SCHEDULED events starting within a day.
CREATE INDEX live_events_scheduled_starts_idx ON live_events (tenant_id, starts_at)
    WHERE status = 'SCHEDULED';

-- A member's personal calendar feed: one secret URL per member (stored as the SHA-256 of its
-- secret; shown once), for calendar applications to subscribe to. Replacing it revokes the old
-- URL; deleting it revokes it.
CREATE TABLE calendar_feeds (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    secret_hash bytea NOT NULL CHECK (length(secret_hash) = 32),
    created_at timestamptz NOT NULL,
    last_read_at timestamptz,
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, secret_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE calendar_feeds ENABLE ROW LEVEL SECURITY;
ALTER TABLE calendar_feeds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON calendar_feeds
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON calendar_feeds TO guild_app;

-- An event's materials: files of the media library its registrants, hosts and managers download
-- through short-lived signed links. Deleting the file removes it from the event.
CREATE TABLE live_event_materials (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    added_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, event_id, asset_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES live_events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES media_assets (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX live_event_materials_asset_idx ON live_event_materials (tenant_id, asset_id);
ALTER TABLE live_event_materials ENABLE ROW LEVEL SECURITY;
ALTER TABLE live_event_materials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON live_event_materials
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON live_event_materials TO guild_app;
