-- Presence (who is online) lives in Redis or in process memory; what is kept here is who may see
-- it: whether the tenant shows presence at all (`presence_settings`, on unless a row says
-- otherwise) and which members hide theirs (`presence_preferences`).
CREATE TABLE presence_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    enabled boolean NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE presence_preferences (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    hidden boolean NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);

ALTER TABLE presence_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE presence_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON presence_settings
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE presence_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE presence_preferences FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON presence_preferences
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON presence_settings, presence_preferences TO guild_app;
