-- Tenancy and identity: tenants, global users, memberships with roles and a manager tree, scoped
-- permission grants, groups, API keys, email preferences, the audit log, and the identity tables
-- (refresh tokens, email tokens) that are looked up before any tenant is known.
--
-- Row-level security: tenant transactions (guild_db::tenant_transaction) run as the role
-- `guild_app`, which is not the tables' owner and has no BYPASSRLS, with app.tenant_id set; the
-- policies below make every tenant-owned row of another tenant invisible to it. Identity lookups
-- that must span tenants (login, a user's memberships) run outside tenant transactions, in the
-- tenancy crate only.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'guild_app') THEN
        CREATE ROLE guild_app NOLOGIN NOBYPASSRLS;
    END IF;
END
$$;
-- The connecting role must be able to switch to guild_app (a superuser always can).
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT guild_app TO %I', current_user);
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO guild_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO guild_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO guild_app;

-- The tenant of the current transaction, or NULL outside tenant transactions.
CREATE FUNCTION app_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    plan text NOT NULL DEFAULT 'FREE' CHECK (plan IN ('FREE', 'STARTER', 'PRO')),
    locale text NOT NULL DEFAULT 'en' CHECK (locale ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    theme text NOT NULL DEFAULT 'DEFAULT' CHECK (theme IN ('DEFAULT', 'OCEAN', 'SUNSET')),
    archived_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = app_tenant_id()) WITH CHECK (id = app_tenant_id());

CREATE TABLE users (
    id uuid PRIMARY KEY,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254 AND position('@' IN email) > 1),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    password_hash text,
    global_role text NOT NULL DEFAULT 'EMPLOYEE'
        CHECK (global_role IN ('OWNER', 'SUPER_ADMIN', 'ADMIN', 'EMPLOYEE')),
    password_changed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE memberships (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('OWNER', 'SUPER_ADMIN', 'ADMIN', 'HR', 'EMPLOYEE', 'VIEWER')),
    manager_id uuid,
    status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('INVITED', 'ACTIVE', 'DEACTIVATED')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    CHECK (manager_id IS NULL OR manager_id <> user_id),
    FOREIGN KEY (tenant_id, manager_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE SET NULL (manager_id)
);
CREATE INDEX memberships_tenant_role_idx ON memberships (tenant_id, role);
CREATE INDEX memberships_tenant_manager_idx ON memberships (tenant_id, manager_id);
-- The one cross-tenant lookup: a user's own memberships (sign-in, /me, switching tenants).
CREATE INDEX memberships_user_idx ON memberships (user_id);
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE user_permissions (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    permission text NOT NULL CHECK (permission IN (
        'MANAGE_ALL_MODULES', 'MANAGE_OWN_MODULES', 'VIEW_ALL_PROGRESS', 'VIEW_GROUP_PROGRESS',
        'MANAGE_USERS', 'MANAGE_GROUPS', 'MANAGE_QUIZZES', 'OVERRIDE_PROGRESS', 'VIEW_ANALYTICS',
        'VIEW_AUDIT_LOG', 'EXPORT_REPORTS', 'MANAGE_REWARDS', 'VIEW_MANAGER_DASHBOARD',
        'MANAGE_SUGGESTIONS')),
    scope jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, permission),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE user_permissions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_permissions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE groups (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    color text NOT NULL DEFAULT '#6366F1' CHECK (color ~ '^#[0-9A-Fa-f]{6}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX groups_name_key ON groups (tenant_id, lower(name));
ALTER TABLE groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON groups
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE user_groups (
    tenant_id uuid NOT NULL,
    group_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX user_groups_user_idx ON user_groups (tenant_id, user_id);
ALTER TABLE user_groups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_groups
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE api_keys (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_by uuid NOT NULL,
    permissions text[] NOT NULL,
    key_hash bytea NOT NULL,
    last_used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, key_hash),
    FOREIGN KEY (tenant_id, created_by) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE email_preferences (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    new_modules boolean NOT NULL DEFAULT true,
    deadline_reminders boolean NOT NULL DEFAULT true,
    quiz_results boolean NOT NULL DEFAULT true,
    comment_replies boolean NOT NULL DEFAULT true,
    certificates boolean NOT NULL DEFAULT true,
    rewards boolean NOT NULL DEFAULT true,
    digest text NOT NULL DEFAULT 'INSTANT' CHECK (digest IN ('INSTANT', 'DAILY', 'WEEKLY', 'NEVER')),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE email_preferences ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON email_preferences
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

CREATE TABLE audit_log (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    actor_id uuid,
    impersonated_by uuid,
    api_key_id uuid,
    action text NOT NULL,
    entity_type text NOT NULL,
    entity_id text,
    metadata jsonb NOT NULL DEFAULT '{}',
    request_id text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_entity_idx ON audit_log (tenant_id, entity_type, entity_id);
CREATE INDEX audit_log_actor_idx ON audit_log (tenant_id, actor_id, id);
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Identity tables, looked up by token hash before any tenant is known.
CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    active_tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE email_tokens (
    id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('PASSWORD_RESET', 'INVITE')),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    invite_tenant_id uuid REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'INVITE') = (invite_tenant_id IS NOT NULL))
);
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id, kind);

-- What the development mailer recorded, when no SMTP server is configured.
CREATE TABLE dev_mailbox (
    id uuid PRIMARY KEY,
    to_address text NOT NULL,
    subject text NOT NULL,
    text_body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO guild_app;
