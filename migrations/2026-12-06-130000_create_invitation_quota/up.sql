-- Invitation emails a tenant sent per UTC day, counted in the invitation's own transaction with a
-- conditional upsert, so concurrent invitations never pass the plan's daily cap together.
CREATE TABLE invitation_quota (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    day date NOT NULL,
    sent integer NOT NULL DEFAULT 0 CHECK (sent >= 0),
    PRIMARY KEY (tenant_id, day)
);

ALTER TABLE invitation_quota ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitation_quota FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitation_quota
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON invitation_quota TO guild_app;
