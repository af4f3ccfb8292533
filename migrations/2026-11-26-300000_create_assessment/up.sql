-- Quizzes of modules, their questions, members' attempts, and the idempotency keys that make
-- retried POSTs safe. Every table is tenant-owned: composite keys and references that start with
-- tenant_id, and a row-level security policy.

CREATE TABLE quizzes (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    module_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 10000),
    passing_score_percent integer NOT NULL DEFAULT 70
        CHECK (passing_score_percent BETWEEN 0 AND 100),
    max_attempts integer CHECK (max_attempts > 0),
    time_limit_seconds integer CHECK (time_limit_seconds > 0),
    shuffle_questions boolean NOT NULL DEFAULT false,
    shuffle_options boolean NOT NULL DEFAULT false,
    show_answers text NOT NULL DEFAULT 'AFTER_PASS'
        CHECK (show_answers IN ('NEVER', 'AFTER_PASS', 'ALWAYS')),
    multiple_choice_scoring text NOT NULL DEFAULT 'ALL_OR_NOTHING'
        CHECK (multiple_choice_scoring IN ('ALL_OR_NOTHING', 'PARTIAL')),
    created_by uuid NOT NULL,
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX quizzes_module_idx ON quizzes (tenant_id, module_id);

CREATE TABLE quiz_questions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    quiz_id uuid NOT NULL,
    kind text NOT NULL
        CHECK (kind IN ('SINGLE_CHOICE', 'MULTIPLE_CHOICE', 'TRUE_FALSE', 'FILL_IN_BLANK', 'ESSAY')),
    prompt text NOT NULL CHECK (length(prompt) BETWEEN 1 AND 5000),
    -- [{"id": "a", "text": "…", "correct": true}] for the choice kinds, [] otherwise.
    options jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(options) = 'array'),
    -- FILL_IN_BLANK only; compared case-insensitively with whitespace collapsed.
    accepted_answers text[] NOT NULL DEFAULT '{}',
    points integer NOT NULL DEFAULT 1 CHECK (points > 0),
    explanation text CHECK (length(explanation) <= 5000),
    sort_order integer NOT NULL,
    revision integer NOT NULL DEFAULT 1 CHECK (revision > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, quiz_id) REFERENCES quizzes (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX quiz_questions_quiz_idx ON quiz_questions (tenant_id, quiz_id, sort_order);

CREATE TABLE quiz_attempts (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    quiz_id uuid NOT NULL,
    user_id uuid NOT NULL,
    -- 1 for the member's first attempt at the quiz, 2 for the next…
    number integer NOT NULL CHECK (number > 0),
    -- Submissions are scored in the transaction that records them, so they go straight to GRADED
    -- or PENDING_REVIEW (essays); SUBMITTED is kept for scoring done after the request.
    status text NOT NULL DEFAULT 'IN_PROGRESS'
        CHECK (status IN ('IN_PROGRESS', 'SUBMITTED', 'PENDING_REVIEW', 'GRADED', 'TIMED_OUT')),
    started_at timestamptz NOT NULL DEFAULT now(),
    deadline_at timestamptz,
    submitted_at timestamptz,
    score_points double precision CHECK (score_points >= 0),
    max_points integer CHECK (max_points > 0),
    score_percent double precision CHECK (score_percent BETWEEN 0 AND 100),
    passed boolean,
    -- [{"question_id": …, "option_ids": […]}]: the order this attempt shows, fixed at start.
    question_order jsonb NOT NULL CHECK (jsonb_typeof(question_order) = 'array'),
    answers jsonb,
    results jsonb,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, quiz_id) REFERENCES quizzes (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    CHECK (status IN ('IN_PROGRESS', 'TIMED_OUT') OR submitted_at IS NOT NULL),
    CHECK (status <> 'GRADED' OR (passed IS NOT NULL AND score_percent IS NOT NULL))
);
-- Numbers are unique per member and quiz: a backstop for the max-attempts rule, and the index
-- for a member's attempts at a quiz (its prefix is (tenant_id, user_id, quiz_id)).
CREATE UNIQUE INDEX quiz_attempts_user_quiz_key ON quiz_attempts (tenant_id, user_id, quiz_id, number);
CREATE INDEX quiz_attempts_user_passed_idx ON quiz_attempts (tenant_id, user_id, passed);
CREATE INDEX quiz_attempts_quiz_idx ON quiz_attempts (tenant_id, quiz_id);
-- The graders' queue.
CREATE INDEX quiz_attempts_review_idx ON quiz_attempts (tenant_id, id) WHERE status = 'PENDING_REVIEW';

-- The first successful response to a POST sent with an Idempotency-Key, replayed for repeats.
CREATE TABLE idempotency_keys (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    -- A hash of what the request asked for (operation, target and body).
    fingerprint text NOT NULL,
    response_status integer NOT NULL CHECK (response_status BETWEEN 100 AND 599),
    response_body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, key),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (tenant_id, created_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['quizzes', 'quiz_questions', 'quiz_attempts', 'idempotency_keys']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
