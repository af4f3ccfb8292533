GRANT SELECT ON users TO guild_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON refresh_tokens, email_tokens TO guild_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO guild_app;

DO $$
DECLARE t text;
BEGIN
    FOR t IN SELECT DISTINCT tablename FROM pg_policies
             WHERE schemaname = 'public' AND policyname = 'tenant_isolation'
    LOOP
        EXECUTE format('ALTER TABLE %I NO FORCE ROW LEVEL SECURITY', t);
    END LOOP;
END
$$;

DROP POLICY tenant_isolation ON jobs;
ALTER TABLE jobs DISABLE ROW LEVEL SECURITY;
DROP POLICY tenant_isolation ON outbox_events;
ALTER TABLE outbox_events DISABLE ROW LEVEL SECURITY;
