-- OpenID Connect single sign-on per tenant (`guild_tenancy::sso`).
--
-- `sso_settings`: the tenant's identity provider. The client secret is sealed with the kernel's
-- keyring (bound to `sso_settings:<tenant>`); `client_secret_key_id` names the key that sealed
-- it, so a rotation can find the values still under an old key. `sso_only` refuses password
-- sign-in to the tenant's members other than its owners.
CREATE TABLE sso_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    issuer text NOT NULL CHECK (length(issuer) BETWEEN 1 AND 500),
    client_id text NOT NULL CHECK (length(client_id) BETWEEN 1 AND 200),
    client_secret_sealed text NOT NULL,
    client_secret_key_id text NOT NULL,
    allowed_domains text[] NOT NULL,
    default_role text NOT NULL CHECK (default_role IN ('ADMIN', 'HR', 'EMPLOYEE', 'VIEWER')),
    groups_claim text CHECK (length(groups_claim) BETWEEN 1 AND 100),
    sso_only boolean NOT NULL DEFAULT false,
    enabled boolean NOT NULL DEFAULT false,
    revision integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
ALTER TABLE sso_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sso_settings
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_settings TO guild_app;

-- `sso_logins`: sign-ins started and not yet finished. The state is kept as its SHA-256, the
-- PKCE verifier sealed (bound to `sso_login:<tenant>:<id>`); a row is taken once by the
-- callback (`DELETE … RETURNING`) and is good for ten minutes.
CREATE TABLE sso_logins (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    state_hash text NOT NULL,
    nonce text NOT NULL,
    pkce_verifier_sealed text NOT NULL,
    redirect_uri text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, state_hash)
);
CREATE INDEX sso_logins_expiry_idx ON sso_logins (tenant_id, expires_at);
ALTER TABLE sso_logins ENABLE ROW LEVEL SECURITY;
ALTER TABLE sso_logins FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sso_logins
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, DELETE ON sso_logins TO guild_app;
