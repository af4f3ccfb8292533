-- AI: usage and budgets, AI-first questions with escalation to module mentors, mentors' away
-- periods, and the full-text search that answers questions from what a member may see.

-- A tenant's AI settings; a missing row means every default (the budget by plan).
CREATE TABLE ai_settings (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    monthly_token_budget bigint CHECK (monthly_token_budget >= 0),
    questions_per_day integer NOT NULL DEFAULT 20
        CHECK (questions_per_day BETWEEN 1 AND 1000),
    mentor_open_limit integer NOT NULL DEFAULT 5 CHECK (mentor_open_limit BETWEEN 1 AND 1000),
    reassign_after_minutes integer NOT NULL DEFAULT 240
        CHECK (reassign_after_minutes BETWEEN 5 AND 43200),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id)
);
ALTER TABLE ai_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_settings
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON ai_settings TO guild_app;

-- One row per call to a model: what for, for whom, which model, tokens, latency, outcome.
CREATE TABLE ai_usage (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    feature text NOT NULL,
    user_id uuid,
    model text NOT NULL,
    input_tokens bigint NOT NULL CHECK (input_tokens >= 0),
    output_tokens bigint NOT NULL CHECK (output_tokens >= 0),
    latency_ms integer NOT NULL CHECK (latency_ms >= 0),
    outcome text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE SET NULL (user_id)
);
CREATE INDEX ai_usage_month_idx ON ai_usage (tenant_id, created_at);
ALTER TABLE ai_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE ai_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ai_usage
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON ai_usage TO guild_app;

-- A mentor's own away period: no question is assigned to them from `away_from` to `away_until`.
CREATE TABLE mentor_away (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    away_from timestamptz NOT NULL,
    away_until timestamptz NOT NULL CHECK (away_until > away_from),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE mentor_away ENABLE ROW LEVEL SECURITY;
ALTER TABLE mentor_away FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON mentor_away
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON mentor_away TO guild_app;

-- A member's question, answered first from the knowledge base, then by a mentor if escalated.
-- `search` indexes an accepted question with its mentor's answer: later questions find it.
CREATE TABLE questions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    asker_id uuid NOT NULL,
    module_id uuid,
    body text NOT NULL,
    status text NOT NULL CHECK (status IN
        ('ANSWERED', 'RESOLVED', 'ESCALATED', 'MENTOR_ANSWERED', 'ACCEPTED')),
    answer_html text NOT NULL,
    answer_source text NOT NULL CHECK (answer_source IN ('AI', 'RETRIEVAL')),
    citations jsonb NOT NULL DEFAULT '[]',
    assignee_id uuid,
    assigned_at timestamptz,
    claimed_at timestamptz,
    escalated_at timestamptz,
    mentor_answer text,
    answered_by uuid,
    answered_at timestamptz,
    accepted_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    search tsvector GENERATED ALWAYS AS (
        CASE WHEN status = 'ACCEPTED'
            THEN to_tsvector('english'::regconfig, body || ' ' || coalesce(mentor_answer, ''))
        END) STORED,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, asker_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id)
        ON DELETE SET NULL (module_id),
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE SET NULL (assignee_id),
    FOREIGN KEY (tenant_id, answered_by) REFERENCES memberships (tenant_id, user_id)
        ON DELETE SET NULL (answered_by)
);
CREATE INDEX questions_asker_idx ON questions (tenant_id, asker_id, created_at);
CREATE INDEX questions_assignee_idx ON questions (tenant_id, assignee_id, status);
CREATE INDEX questions_waiting_idx ON questions (tenant_id, status, assigned_at)
    WHERE status = 'ESCALATED';
CREATE INDEX questions_search_idx ON questions USING gin (search);
ALTER TABLE questions ENABLE ROW LEVEL SECURITY;
ALTER TABLE questions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON questions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON questions TO guild_app;

-- Round-robin memory: the turn (a per-module counter) at which each mentor of a module was last
-- given one of its questions; the next goes to the mentor with the oldest turn, or none yet.
CREATE TABLE question_turns (
    tenant_id uuid NOT NULL,
    module_id uuid NOT NULL,
    user_id uuid NOT NULL,
    last_turn bigint NOT NULL CHECK (last_turn > 0),
    PRIMARY KEY (tenant_id, module_id, user_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE question_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE question_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON question_turns
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON question_turns TO guild_app;

-- Section text for question answering: English stemming and stop words, so a question in plain
-- words ("how do I reset my password?") finds "resetting passwords". Generated, so learning's
-- writes keep it true without knowing of it.
ALTER TABLE sections ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('english'::regconfig,
        title || ' ' || regexp_replace(content_html, '<[^>]*>', ' ', 'g'))) STORED;
CREATE INDEX sections_answer_search_idx ON sections USING gin (search);
