-- Coaching: who coaches whom, 1:1 sessions with focus areas scored before and after, action
-- plans, and the coach's quick notes. The coach's private notes and quick notes are sealed with
-- the keyring (`guild_kernel::sealed`: `<key id>.<base64 of nonce and ciphertext>`), so the
-- database never holds their text.

-- The tenant's scoring scale (1 to 5 without a row). A score is a decimal within it.
CREATE TABLE coaching_settings (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scale_min numeric(5, 2) NOT NULL CHECK (scale_min >= 0),
    scale_max numeric(5, 2) NOT NULL CHECK (scale_max <= 100),
    updated_by uuid NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id),
    CHECK (scale_min < scale_max)
);

-- Coaches added by an admin, beside the member's manager (who coaches them by default).
CREATE TABLE coaching_relationships (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    coachee_id uuid NOT NULL,
    coach_id uuid NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, coachee_id, coach_id),
    CHECK (coach_id <> coachee_id),
    FOREIGN KEY (tenant_id, coachee_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, coach_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX coaching_relationships_coach_idx ON coaching_relationships (tenant_id, coach_id);

-- A session between a coach and a coachee. `revision` is the ETag and the iCalendar SEQUENCE.
-- `reminder_sent_for` is the start time the reminder was sent for: once per session and time.
CREATE TABLE coaching_sessions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    coach_id uuid NOT NULL,
    coachee_id uuid NOT NULL,
    scheduled_at timestamptz NOT NULL,
    duration_minutes integer NOT NULL CHECK (duration_minutes BETWEEN 5 AND 480),
    status text NOT NULL DEFAULT 'SCHEDULED'
        CHECK (status IN ('SCHEDULED', 'COMPLETED', 'CANCELLED', 'NO_SHOW')),
    agenda text NOT NULL DEFAULT '' CHECK (length(agenda) <= 5000),
    shared_notes text NOT NULL DEFAULT '' CHECK (length(shared_notes) <= 20000),
    private_notes_sealed text,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    reminder_sent_for timestamptz,
    status_changed_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (coach_id <> coachee_id),
    FOREIGN KEY (tenant_id, coach_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, coachee_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX coaching_sessions_coachee_idx
    ON coaching_sessions (tenant_id, coachee_id, scheduled_at, id);
CREATE INDEX coaching_sessions_coach_idx
    ON coaching_sessions (tenant_id, coach_id, scheduled_at, id);
-- The reminder scan: scheduled sessions by start.
CREATE INDEX coaching_sessions_due_idx ON coaching_sessions (tenant_id, scheduled_at)
    WHERE status = 'SCHEDULED';

-- A session's focus areas, each scored before and after (on the tenant's scale).
CREATE TABLE coaching_session_scores (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id uuid NOT NULL,
    focus_area text NOT NULL CHECK (length(focus_area) BETWEEN 1 AND 100),
    position integer NOT NULL,
    score_before numeric(5, 2),
    score_after numeric(5, 2),
    PRIMARY KEY (tenant_id, session_id, focus_area),
    FOREIGN KEY (tenant_id, session_id) REFERENCES coaching_sessions (tenant_id, id)
        ON DELETE CASCADE
);

-- A coachee's action plan: items with an owner, a due date and a status; an item may name a
-- module or a path, which closes it when the coachee completes it.
CREATE TABLE coaching_action_items (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    coachee_id uuid NOT NULL,
    owner_id uuid NOT NULL,
    created_by uuid NOT NULL,
    session_id uuid,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    due_date date,
    status text NOT NULL DEFAULT 'OPEN'
        CHECK (status IN ('OPEN', 'IN_PROGRESS', 'DONE', 'CANCELLED')),
    module_id uuid,
    path_id uuid,
    closed_at timestamptz,
    closed_by_completion boolean NOT NULL DEFAULT false,
    overdue_notified_for date,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (module_id IS NULL OR path_id IS NULL),
    FOREIGN KEY (tenant_id, coachee_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, owner_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, session_id) REFERENCES coaching_sessions (tenant_id, id)
        ON DELETE SET NULL (session_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id)
        ON DELETE SET NULL (module_id),
    FOREIGN KEY (tenant_id, path_id) REFERENCES learning_paths (tenant_id, id)
        ON DELETE SET NULL (path_id)
);
CREATE INDEX coaching_action_items_coachee_idx
    ON coaching_action_items (tenant_id, coachee_id, created_at, id);
-- What a completion closes, and the overdue scan.
CREATE INDEX coaching_action_items_open_idx ON coaching_action_items (tenant_id, coachee_id)
    WHERE status IN ('OPEN', 'IN_PROGRESS');
CREATE INDEX coaching_action_items_due_idx ON coaching_action_items (tenant_id, due_date)
    WHERE status IN ('OPEN', 'IN_PROGRESS') AND due_date IS NOT NULL;

-- A coach's timestamped notes on a coachee between sessions, sealed.
CREATE TABLE coaching_quick_notes (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    coach_id uuid NOT NULL,
    coachee_id uuid NOT NULL,
    body_sealed text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, coach_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, coachee_id) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE
);
CREATE INDEX coaching_quick_notes_coachee_idx
    ON coaching_quick_notes (tenant_id, coachee_id, coach_id, created_at, id);

ALTER TABLE coaching_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coaching_settings
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE coaching_relationships ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_relationships FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coaching_relationships
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE coaching_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coaching_sessions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE coaching_session_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_session_scores FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coaching_session_scores
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE coaching_action_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_action_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coaching_action_items
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE coaching_quick_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE coaching_quick_notes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coaching_quick_notes
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE
    ON coaching_settings, coaching_relationships, coaching_sessions, coaching_session_scores,
       coaching_action_items, coaching_quick_notes TO guild_app;
