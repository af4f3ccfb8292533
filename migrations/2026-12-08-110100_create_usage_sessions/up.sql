-- Usage sessions (the seed's UserSession): when a member used Guild, per tenant. A heartbeat or an
-- open stream pings the member's latest session; a ping more than 30 minutes after the last one
-- starts a new session. `latest` marks the one session per member a ping may extend (a partial
-- unique index), so the usual ping is one upsert; the duration is `last_ping_at - started_at`.
CREATE TABLE usage_sessions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    started_at timestamptz NOT NULL,
    last_ping_at timestamptz NOT NULL,
    latest boolean NOT NULL DEFAULT true,
    CHECK (last_ping_at >= started_at),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX usage_sessions_latest_idx ON usage_sessions (tenant_id, user_id) WHERE latest;
-- A member's sessions, newest first.
CREATE INDEX usage_sessions_member_idx ON usage_sessions (tenant_id, user_id, started_at DESC, id DESC);

ALTER TABLE usage_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_sessions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON usage_sessions TO guild_app;
