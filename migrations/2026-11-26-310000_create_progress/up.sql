-- Progress: completed sections, module completions (recorded once per cycle), certificates,
-- administrators' progress overrides and members' self-assessments. Completions are archived,
-- not deleted, when a compliance cycle restarts (archived_at), so history stays readable; the
-- partial unique indexes allow one active row per member and section or module.

CREATE TABLE section_completions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    section_id uuid NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX section_completions_active_key ON section_completions (tenant_id, user_id, section_id)
    WHERE archived_at IS NULL;
CREATE INDEX section_completions_module_idx ON section_completions (tenant_id, user_id, module_id)
    WHERE archived_at IS NULL;

CREATE TABLE module_completions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    completed_at timestamptz NOT NULL DEFAULT now(),
    -- PROGRESS (sections and quizzes done) or OVERRIDE (an administrator).
    source text NOT NULL CHECK (source IN ('PROGRESS', 'OVERRIDE')),
    archived_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX module_completions_active_key ON module_completions (tenant_id, user_id, module_id)
    WHERE archived_at IS NULL;
CREATE INDEX module_completions_module_idx ON module_completions (tenant_id, module_id)
    WHERE archived_at IS NULL;

CREATE TABLE certificates (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    -- Public and unguessable: verification looks it up across tenants.
    code text NOT NULL UNIQUE CHECK (length(code) BETWEEN 16 AND 64),
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    completion_id uuid NOT NULL,
    holder_name text NOT NULL,
    module_title text NOT NULL,
    issued_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    revoked_at timestamptz,
    revoked_reason text CHECK (length(revoked_reason) <= 1000),
    revoked_by uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, completion_id) REFERENCES module_completions (tenant_id, id) ON DELETE CASCADE,
    CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
);
CREATE INDEX certificates_user_idx ON certificates (tenant_id, user_id, issued_at DESC);
CREATE INDEX certificates_expiry_idx ON certificates (tenant_id, expires_at) WHERE revoked_at IS NULL;

CREATE TABLE progress_overrides (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    -- COMPLETE marks the module complete; RESET archives the member's progress on it.
    action text NOT NULL CHECK (action IN ('COMPLETE', 'RESET')),
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    allow_certificate boolean NOT NULL DEFAULT false,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- What the override changed, so reverting it restores exactly that.
    completion_id uuid,
    certificate_id uuid,
    archived_at timestamptz,
    reverted_at timestamptz,
    reverted_by uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX progress_overrides_user_idx ON progress_overrides (tenant_id, user_id, module_id, created_at DESC);

CREATE TABLE module_self_assessments (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    rating integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 2000),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, module_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['section_completions', 'module_completions', 'certificates',
                             'progress_overrides', 'module_self_assessments']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
