-- Knowledge suggestions: members propose an idea, vote for it (once each), discuss it in
-- threaded comments; MANAGE_SUGGESTIONS holders approve, reject or convert it into a module.
--
-- An anonymous suggestion keeps its author (they still hear of it, and the audit log records
-- who wrote it), but no endpoint shows it. `vote_count` is kept on write with the vote rows;
-- `popular_at` is set once, when the count first reaches the tenant's threshold
-- (`suggestion_settings`, 5 without a row); `knowledge_notified_at` once, when the module it was
-- converted into is first published.
CREATE TABLE suggestions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    author_id uuid NOT NULL,
    anonymous boolean NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 10000),
    status text NOT NULL DEFAULT 'OPEN'
        CHECK (status IN ('OPEN', 'APPROVED', 'REJECTED', 'CONVERTED')),
    status_reason text CHECK (status_reason IS NULL OR length(status_reason) BETWEEN 1 AND 500),
    status_changed_at timestamptz,
    status_changed_by uuid,
    vote_count integer NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
    popular_at timestamptz,
    module_id uuid,
    knowledge_notified_at timestamptz,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((status = 'OPEN') = (status_reason IS NULL)),
    -- A deleted module leaves the suggestion CONVERTED without one.
    CHECK (module_id IS NULL OR status = 'CONVERTED'),
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id)
        ON DELETE SET NULL (module_id)
);
-- The lists: newest, top; a member's open suggestions (their cap).
CREATE INDEX suggestions_created_idx ON suggestions (tenant_id, created_at DESC, id DESC);
CREATE INDEX suggestions_top_idx
    ON suggestions (tenant_id, vote_count DESC, created_at DESC, id DESC);
CREATE INDEX suggestions_author_idx ON suggestions (tenant_id, author_id, status);
-- A module comes from one suggestion at most: the module's side of the link.
CREATE UNIQUE INDEX suggestions_module_idx ON suggestions (tenant_id, module_id)
    WHERE module_id IS NOT NULL;

-- One vote per member and suggestion; `created_at` makes "trending" (votes of the last 7 days).
CREATE TABLE suggestion_votes (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    suggestion_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, suggestion_id, user_id),
    FOREIGN KEY (tenant_id, suggestion_id) REFERENCES suggestions (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX suggestion_votes_recent_idx
    ON suggestion_votes (tenant_id, suggestion_id, created_at);

-- Comments, threaded by parent. A deleted comment stays as a tombstone (its replies keep their
-- place) with its text gone.
CREATE TABLE suggestion_comments (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    suggestion_id uuid NOT NULL,
    parent_id uuid,
    author_id uuid NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL,
    edited_at timestamptz,
    deleted_at timestamptz,
    deleted_by uuid,
    PRIMARY KEY (tenant_id, id),
    CHECK (CASE WHEN deleted_at IS NULL THEN length(body) BETWEEN 1 AND 5000 ELSE body = '' END),
    FOREIGN KEY (tenant_id, suggestion_id) REFERENCES suggestions (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, parent_id) REFERENCES suggestion_comments (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX suggestion_comments_suggestion_idx
    ON suggestion_comments (tenant_id, suggestion_id, created_at, id);
CREATE INDEX suggestion_comments_author_idx
    ON suggestion_comments (tenant_id, author_id, suggestion_id);

-- How many votes make a suggestion popular (5 without a row).
CREATE TABLE suggestion_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    popularity_threshold integer NOT NULL CHECK (popularity_threshold BETWEEN 1 AND 10000),
    updated_at timestamptz NOT NULL
);

CREATE TRIGGER suggestions_forget_reactions AFTER DELETE ON suggestions
    FOR EACH ROW EXECUTE FUNCTION forget_reactions('SUGGESTION');

ALTER TABLE suggestions ENABLE ROW LEVEL SECURITY;
ALTER TABLE suggestions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suggestions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE suggestion_votes ENABLE ROW LEVEL SECURITY;
ALTER TABLE suggestion_votes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suggestion_votes
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE suggestion_comments ENABLE ROW LEVEL SECURITY;
ALTER TABLE suggestion_comments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suggestion_comments
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE suggestion_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE suggestion_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suggestion_settings
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON suggestions, suggestion_votes, suggestion_comments
    TO guild_app;
GRANT SELECT, INSERT, UPDATE ON suggestion_settings TO guild_app;
