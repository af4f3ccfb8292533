DROP TABLE dev_mailbox;
DROP TABLE email_tokens;
DROP TABLE refresh_tokens;
DROP TABLE audit_log;
DROP TABLE email_preferences;
DROP TABLE api_keys;
DROP TABLE user_groups;
DROP TABLE groups;
DROP TABLE user_permissions;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE tenants;
DROP FUNCTION app_tenant_id();
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM guild_app;
REVOKE SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM guild_app;
REVOKE USAGE ON SCHEMA public FROM guild_app;
-- The guild_app role is cluster-wide and other databases may use it: it is kept.
