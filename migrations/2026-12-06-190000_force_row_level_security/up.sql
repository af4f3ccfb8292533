-- Defence in depth for tenant isolation and least privilege for the application role.
--
-- * `outbox_events` and `jobs` carry a tenant and payloads with personal data: they get the same
--   policy as every tenant-owned table. Tenant transactions (as `guild_app`) see and write only
--   their tenant's rows; the worker and the identity lookups that deliberately span tenants run
--   as the connecting role, which owns the tables and has BYPASSRLS (see docs/SECURITY.md).
-- * FORCE ROW LEVEL SECURITY on every table with a tenant policy, so a connection as the tables'
--   owner without BYPASSRLS is held to the policies too.
-- * `guild_app` gets what tenant transactions need, nothing by default: no grant on tables
--   created from now on (each migration grants its own), no access to sign-in secrets
--   (`refresh_tokens`, `email_tokens`), and `users.password_hash` is writable (an invitation
--   creates an account without one) but never readable.
ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT DISTINCT tablename FROM pg_policies
             WHERE schemaname = 'public' AND policyname = 'tenant_isolation'
    LOOP
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM guild_app;
REVOKE ALL ON refresh_tokens, email_tokens FROM guild_app;
REVOKE SELECT ON users FROM guild_app;
GRANT SELECT (id, email, name, global_role, password_changed_at, created_at, updated_at,
              email_verified_at, session_generation) ON users TO guild_app;
