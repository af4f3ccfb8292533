-- Learning paths: an ordered list of published modules with a title, description, cover (an
-- image of the media library), an optional strict order (a module unlocks when the ones before
-- it are complete) and a validity for the path certificate. Assigned to groups with a deadline
-- and a mandatory flag like modules; completed once per member and cycle (`path_completions`,
-- one active row per member and path), certified by `path_certificates` (verified publicly like
-- module certificates). `enrolments` are members' own choices of modules and paths in a tenant
-- whose catalog is open (`tenants.catalog_open`).
CREATE TABLE learning_paths (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    cover_asset_id uuid,
    strict_order boolean NOT NULL DEFAULT false,
    validity_months integer CHECK (validity_months BETWEEN 1 AND 120),
    status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'PUBLISHED', 'ARCHIVED')),
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_by uuid NOT NULL,
    published_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, cover_asset_id) REFERENCES media_assets (tenant_id, id)
        ON DELETE SET NULL (cover_asset_id)
);
CREATE INDEX learning_paths_list_idx ON learning_paths (tenant_id, created_at DESC, id DESC);

-- The path's modules in order: positions 0..n-1, rewritten whole on every change.
CREATE TABLE learning_path_modules (
    tenant_id uuid NOT NULL,
    path_id uuid NOT NULL,
    module_id uuid NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    PRIMARY KEY (tenant_id, path_id, module_id),
    UNIQUE (tenant_id, path_id, position),
    FOREIGN KEY (tenant_id, path_id) REFERENCES learning_paths (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);
-- Which paths hold a module (strict-order locks, path completion after a module's).
CREATE INDEX learning_path_modules_module_idx ON learning_path_modules (tenant_id, module_id);

CREATE TABLE learning_path_groups (
    tenant_id uuid NOT NULL,
    path_id uuid NOT NULL,
    group_id uuid NOT NULL,
    deadline_days integer CHECK (deadline_days BETWEEN 1 AND 3650),
    is_mandatory boolean NOT NULL DEFAULT false,
    assigned_by uuid NOT NULL,
    assigned_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, path_id, group_id),
    FOREIGN KEY (tenant_id, path_id) REFERENCES learning_paths (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX learning_path_groups_group_idx ON learning_path_groups (tenant_id, group_id);

-- A completion per member, path and cycle: archived (not deleted) when one of the path's
-- modules starts a new cycle, so the member completes the path again.
CREATE TABLE path_completions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    path_id uuid NOT NULL,
    completed_at timestamptz NOT NULL,
    archived_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, path_id) REFERENCES learning_paths (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX path_completions_active_key ON path_completions (tenant_id, user_id, path_id)
    WHERE archived_at IS NULL;
CREATE INDEX path_completions_path_idx ON path_completions (tenant_id, path_id);

-- The certificate of a path completion. Codes are public and unguessable (`GP-…`); verification
-- looks them up across tenants, after the module certificates.
CREATE TABLE path_certificates (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    code text NOT NULL UNIQUE CHECK (length(code) BETWEEN 16 AND 64),
    user_id uuid NOT NULL,
    path_id uuid NOT NULL,
    completion_id uuid NOT NULL,
    holder_name text NOT NULL,
    path_title text NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz,
    renews_certificate_id uuid,
    revoked_at timestamptz,
    revoked_reason text CHECK (length(revoked_reason) <= 1000),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, completion_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, path_id) REFERENCES learning_paths (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, completion_id) REFERENCES path_completions (tenant_id, id)
        ON DELETE CASCADE,
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX path_certificates_user_idx ON path_certificates (tenant_id, user_id, issued_at DESC);

-- Self-enrolment: a member's own choice of a module or a path (one of them), once each.
CREATE TABLE enrolments (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid,
    path_id uuid,
    enrolled_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((module_id IS NULL) <> (path_id IS NULL)),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, path_id) REFERENCES learning_paths (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX enrolments_module_key ON enrolments (tenant_id, user_id, module_id)
    WHERE module_id IS NOT NULL;
CREATE UNIQUE INDEX enrolments_path_key ON enrolments (tenant_id, user_id, path_id)
    WHERE path_id IS NOT NULL;
CREATE INDEX enrolments_path_idx ON enrolments (tenant_id, path_id) WHERE path_id IS NOT NULL;

-- PATH_COMPLETED XP, a tenant setting like the others.
ALTER TABLE gamification_settings
    ADD COLUMN xp_path_completed integer NOT NULL DEFAULT 150 CHECK (xp_path_completed >= 0);
ALTER TABLE xp_transactions DROP CONSTRAINT xp_transactions_source_check;
ALTER TABLE xp_transactions ADD CONSTRAINT xp_transactions_source_check CHECK (source IN (
    'MODULE_COMPLETED', 'QUIZ_HIGH_SCORE', 'MENTOR_CONFIRMATION', 'TOP_SUGGESTION',
    'COMPLIANCE_RENEWAL', 'EVENT_ATTENDED', 'PATH_COMPLETED', 'MANUAL', 'REDEMPTION'));

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['learning_paths', 'learning_path_modules', 'learning_path_groups',
                             'path_completions', 'path_certificates', 'enrolments']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
    END LOOP;
END $$;
GRANT SELECT, INSERT, UPDATE, DELETE ON learning_paths, learning_path_modules,
    learning_path_groups, path_completions, path_certificates, enrolments TO guild_app;
