-- A member's own notes on sections (private: read and written by the member only, searchable
-- in full text), their bookmarks of sections, and the last section they opened in each module
-- ("continue where you left off"). Each row names its section's module, so lists by module
-- and the dashboard read one index.
CREATE TABLE section_notes (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    section_id uuid NOT NULL,
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, body)) STORED,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX section_notes_member_idx
    ON section_notes (tenant_id, user_id, module_id, created_at DESC, id DESC);
CREATE INDEX section_notes_recent_idx
    ON section_notes (tenant_id, user_id, created_at DESC, id DESC);
CREATE INDEX section_notes_search_idx ON section_notes USING gin (search);

CREATE TABLE section_bookmarks (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    section_id uuid NOT NULL,
    module_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, section_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX section_bookmarks_member_idx
    ON section_bookmarks (tenant_id, user_id, created_at DESC, section_id DESC);

CREATE TABLE last_sections (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    section_id uuid NOT NULL,
    opened_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, module_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE section_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE section_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON section_notes
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE section_bookmarks ENABLE ROW LEVEL SECURITY;
ALTER TABLE section_bookmarks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON section_bookmarks
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE last_sections ENABLE ROW LEVEL SECURITY;
ALTER TABLE last_sections FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON last_sections
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON section_notes, section_bookmarks, last_sections TO guild_app;
