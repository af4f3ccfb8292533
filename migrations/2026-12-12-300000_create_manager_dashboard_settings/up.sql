-- The manager dashboard's thresholds per tenant (`guild_analytics::settings`; the defaults apply
-- without a row): a member is at risk after `inactive_days` without activity, or after
-- `failed_attempts` failed attempts at a quiz they have not passed.
CREATE TABLE manager_dashboard_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    inactive_days integer NOT NULL CHECK (inactive_days BETWEEN 1 AND 365),
    failed_attempts integer NOT NULL CHECK (failed_attempts BETWEEN 1 AND 100),
    updated_at timestamptz NOT NULL
);
ALTER TABLE manager_dashboard_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE manager_dashboard_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON manager_dashboard_settings
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON manager_dashboard_settings TO guild_app;

-- The dashboard and analytics read a period of many members' activity: each member's rows by
-- time, so a period costs the rows in it, not the member's whole history.
CREATE INDEX module_completions_member_time_idx ON module_completions (tenant_id, user_id, completed_at);
CREATE INDEX section_completions_member_time_idx ON section_completions (tenant_id, user_id, completed_at);
CREATE INDEX quiz_attempts_member_time_idx ON quiz_attempts (tenant_id, user_id, started_at);
