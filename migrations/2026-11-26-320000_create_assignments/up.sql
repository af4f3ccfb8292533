-- Graded assignments of modules: the brief and its rules, the files members upload for them, and
-- their submissions with a grade. Every table is tenant-owned: composite keys and references that
-- start with tenant_id, and a row-level security policy.

CREATE TABLE assignments (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    module_id uuid NOT NULL,
    -- Optional; must be a section of module_id (checked on write). Deleting the section leaves the
    -- assignment on the module.
    section_id uuid,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    -- Sanitized on write.
    brief_html text NOT NULL DEFAULT '' CHECK (length(brief_html) <= 100000),
    due_at timestamptz,
    max_score integer NOT NULL CHECK (max_score BETWEEN 1 AND 10000),
    submission_format text NOT NULL DEFAULT 'TEXT'
        CHECK (submission_format IN ('TEXT', 'FILE', 'BOTH')),
    -- File name extensions of accepted media types (pdf, docx, png…); the type is sniffed.
    allowed_file_types text[] NOT NULL DEFAULT '{}',
    max_file_bytes bigint NOT NULL CHECK (max_file_bytes > 0),
    allow_late boolean NOT NULL DEFAULT false,
    -- A graded submission is needed to complete the module.
    required boolean NOT NULL DEFAULT false,
    -- [{"id", "title", "levels": [{"id", "title", "points"}]}]; validated on write.
    rubric jsonb CHECK (rubric IS NULL OR jsonb_typeof(rubric) = 'array'),
    created_by uuid NOT NULL,
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id)
        ON DELETE SET NULL (section_id)
);
CREATE INDEX assignments_module_idx ON assignments (tenant_id, module_id);
CREATE INDEX assignments_section_idx ON assignments (tenant_id, section_id)
    WHERE section_id IS NOT NULL;

-- A media asset a member uploaded for an assignment: only these can be part of their submission.
CREATE TABLE assignment_files (
    tenant_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    assignment_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, asset_id),
    FOREIGN KEY (tenant_id, asset_id) REFERENCES media_assets (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES assignments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX assignment_files_owner_idx ON assignment_files (tenant_id, assignment_id, user_id);

CREATE TABLE assignment_submissions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    assignment_id uuid NOT NULL,
    user_id uuid NOT NULL,
    -- 1 for the member's first submission to the assignment, 2 for the next…
    number integer NOT NULL CHECK (number > 0),
    text_answer text CHECK (length(text_answer) <= 50000),
    -- Assets from assignment_files of this member and assignment.
    asset_ids uuid[] NOT NULL DEFAULT '{}',
    submitted_at timestamptz NOT NULL DEFAULT now(),
    -- Submitted after due_at (accepted because the assignment allows late submissions).
    late boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'SUBMITTED' CHECK (status IN ('SUBMITTED', 'GRADED')),
    -- A resubmission supersedes the previous submission; only the latest is graded.
    superseded boolean NOT NULL DEFAULT false,
    score double precision CHECK (score >= 0),
    -- [{"criterion_id", "level_id", "points"}] when graded with the rubric.
    rubric_selection jsonb CHECK (rubric_selection IS NULL OR jsonb_typeof(rubric_selection) = 'array'),
    feedback text CHECK (length(feedback) <= 20000),
    graded_by uuid,
    graded_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, assignment_id) REFERENCES assignments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    CHECK (status <> 'GRADED' OR (score IS NOT NULL AND graded_at IS NOT NULL AND graded_by IS NOT NULL)),
    CHECK (NOT (superseded AND status = 'GRADED'))
);
-- A member's submissions to an assignment ("mine"), and the numbering backstop.
CREATE UNIQUE INDEX assignment_submissions_user_key
    ON assignment_submissions (tenant_id, user_id, assignment_id, number);
-- At most one current submission per member and assignment.
CREATE UNIQUE INDEX assignment_submissions_current_key
    ON assignment_submissions (tenant_id, assignment_id, user_id) WHERE NOT superseded;
-- Graders' listing of an assignment's submissions.
CREATE INDEX assignment_submissions_assignment_idx
    ON assignment_submissions (tenant_id, assignment_id, id);
-- The graders' queue.
CREATE INDEX assignment_submissions_review_idx ON assignment_submissions (tenant_id, id)
    WHERE status = 'SUBMITTED' AND NOT superseded;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['assignments', 'assignment_files', 'assignment_submissions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
