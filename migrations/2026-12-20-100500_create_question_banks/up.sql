-- Question banks: reusable questions of a tenant, tagged, of the same five kinds as quiz
-- questions (validated by the same rules), and the draws a quiz makes from them for each attempt.
-- An attempt copies the questions it drew (`quiz_attempts.questions`), so editing or deleting a
-- bank question never changes an attempt already started.
CREATE TABLE question_banks (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    created_by uuid NOT NULL,
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE question_bank_questions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    bank_id uuid NOT NULL,
    kind text NOT NULL
        CHECK (kind IN ('SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'TRUE_FALSE', 'FILL_IN_BLANK', 'ESSAY')),
    prompt text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 5000),
    options jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(options) = 'array'),
    accepted_answers text[] NOT NULL DEFAULT '{}',
    points integer NOT NULL DEFAULT 1 CHECK (points > 0),
    explanation text CHECK (length(explanation) <= 5000),
    -- Lower-case labels a draw may select by (any of the draw's tags).
    tags text[] NOT NULL DEFAULT '{}',
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, bank_id) REFERENCES question_banks (tenant_id, id) ON DELETE CASCADE
);
-- A bank's questions in id order: the page order and the draw's candidate order.
CREATE INDEX question_bank_questions_bank_idx ON question_bank_questions (tenant_id, bank_id, id);

-- What a quiz draws for each attempt, in order: `question_count` questions of a bank (those carrying any of
-- `tags`, when given). A bank a quiz draws from is not deleted (`question_bank_in_use`).
CREATE TABLE quiz_bank_draws (
    tenant_id uuid NOT NULL,
    quiz_id uuid NOT NULL,
    position integer NOT NULL CHECK (position >= 0),
    bank_id uuid NOT NULL,
    question_count integer NOT NULL CHECK (question_count BETWEEN 1 AND 100),
    tags text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (tenant_id, quiz_id, position),
    FOREIGN KEY (tenant_id, quiz_id) REFERENCES quizzes (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, bank_id) REFERENCES question_banks (tenant_id, id) ON DELETE RESTRICT
);
CREATE INDEX quiz_bank_draws_bank_idx ON quiz_bank_draws (tenant_id, bank_id);

ALTER TABLE question_banks ENABLE ROW LEVEL SECURITY;
ALTER TABLE question_banks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON question_banks
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE question_bank_questions ENABLE ROW LEVEL SECURITY;
ALTER TABLE question_bank_questions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON question_bank_questions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE quiz_bank_draws ENABLE ROW LEVEL SECURITY;
ALTER TABLE quiz_bank_draws FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON quiz_bank_draws
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON question_banks, question_bank_questions, quiz_bank_draws
    TO guild_app;
