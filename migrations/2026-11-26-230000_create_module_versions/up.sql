-- Module versions: every publish of a changed module records a changelog entry; each member's
-- last access and the version they last acknowledged drive "updated since you last read".

-- The latest published version (0 = never published) and when the content last changed (the
-- module's own fields or any of its sections), which decides whether a publish is a new version.
ALTER TABLE modules ADD COLUMN version integer NOT NULL DEFAULT 0 CHECK (version >= 0);
ALTER TABLE modules ADD COLUMN content_changed_at timestamptz NOT NULL DEFAULT now();

CREATE TABLE module_changelog (
    tenant_id uuid NOT NULL,
    module_id uuid NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 2000),
    kind text NOT NULL CHECK (kind IN ('MINOR', 'MATERIAL')),
    published_by uuid NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, module_id, version),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);

-- One row per member and module they opened: when they last did, and the version they have seen
-- (set to the current version on first access and on acknowledging an update).
CREATE TABLE user_module_access (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    last_accessed_at timestamptz NOT NULL DEFAULT now(),
    seen_version integer NOT NULL CHECK (seen_version >= 0),
    acknowledged_at timestamptz,
    PRIMARY KEY (tenant_id, user_id, module_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_module_access_recent_idx ON user_module_access (tenant_id, user_id, last_accessed_at DESC);
CREATE INDEX user_module_access_module_idx ON user_module_access (tenant_id, module_id);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['module_changelog', 'user_module_access']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
