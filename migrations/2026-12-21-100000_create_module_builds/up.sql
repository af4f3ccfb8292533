-- The AI module builder: a build turns a media-library file (PDF, DOCX, video) into a DRAFT
-- module. It keeps the text extracted from the file (so a retry does not extract again), how far
-- it got, the module it created, and for each section and quiz question the span of the source
-- it came from (a page, a paragraph, or a stretch of time), for the module's editors.
CREATE TABLE module_builds (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    asset_id uuid,
    -- The member job of the current run (jobs are pruned a week after they end: no reference).
    job_id uuid NOT NULL,
    language text CHECK (char_length(language) BETWEEN 2 AND 35),
    hints text CHECK (char_length(hints) <= 2000),
    status text NOT NULL CHECK (status IN ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    source_kind text CHECK (source_kind IN ('PDF', 'DOCX', 'VIDEO')),
    -- [{"text", "heading", "span": {"kind", "start", "end"}}, …] in reading order.
    extracted jsonb CHECK (jsonb_typeof(extracted) = 'array'),
    extracted_chars integer NOT NULL DEFAULT 0 CHECK (extracted_chars >= 0),
    summary text,
    method text CHECK (method IN ('MODEL', 'STRUCTURE')),
    module_id uuid,
    problem jsonb,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES media_assets (tenant_id, id)
        ON DELETE SET NULL (asset_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id)
        ON DELETE SET NULL (module_id)
);
CREATE INDEX module_builds_user_idx ON module_builds (tenant_id, user_id, created_at);
CREATE INDEX module_builds_asset_idx ON module_builds (tenant_id, asset_id) WHERE asset_id IS NOT NULL;
CREATE INDEX module_builds_module_idx ON module_builds (tenant_id, module_id)
    WHERE module_id IS NOT NULL;
CREATE INDEX module_builds_open_idx ON module_builds (tenant_id, status)
    WHERE status IN ('QUEUED', 'RUNNING');
ALTER TABLE module_builds ENABLE ROW LEVEL SECURITY;
ALTER TABLE module_builds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON module_builds
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON module_builds TO guild_app;

-- Where a built section or question came from: `kind` PAGE (pages `span_start`..`span_end`,
-- from 1), PARAGRAPH (paragraph indexes, from 1) or TIME (milliseconds), with an excerpt.
CREATE TABLE module_build_citations (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    build_id uuid NOT NULL,
    module_id uuid NOT NULL,
    section_id uuid,
    question_id uuid,
    kind text NOT NULL CHECK (kind IN ('PAGE', 'PARAGRAPH', 'TIME')),
    span_start integer NOT NULL CHECK (span_start >= 0),
    span_end integer NOT NULL CHECK (span_end >= span_start),
    excerpt text NOT NULL CHECK (char_length(excerpt) <= 500),
    position integer NOT NULL CHECK (position >= 0),
    CHECK (num_nonnulls(section_id, question_id) = 1),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, build_id) REFERENCES module_builds (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, question_id) REFERENCES quiz_questions (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX module_build_citations_build_idx ON module_build_citations (tenant_id, build_id, position);
CREATE INDEX module_build_citations_module_idx ON module_build_citations (tenant_id, module_id);
CREATE INDEX module_build_citations_section_idx ON module_build_citations (tenant_id, section_id)
    WHERE section_id IS NOT NULL;
CREATE INDEX module_build_citations_question_idx ON module_build_citations (tenant_id, question_id)
    WHERE question_id IS NOT NULL;
ALTER TABLE module_build_citations ENABLE ROW LEVEL SECURITY;
ALTER TABLE module_build_citations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON module_build_citations
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON module_build_citations TO guild_app;
