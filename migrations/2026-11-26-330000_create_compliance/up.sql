-- Compliance: deadline reminders sent (once per kind and due date), expiry notices (once per
-- certificate and kind), the start of a member's current cycle on a module (re-assignment after
-- an expiry moves their due date), and archived quiz attempts of earlier cycles.

ALTER TABLE quiz_attempts ADD COLUMN archived_at timestamptz;
CREATE INDEX quiz_attempts_active_idx ON quiz_attempts (tenant_id, user_id, quiz_id) WHERE archived_at IS NULL;

CREATE TABLE assignment_cycles (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    started_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, module_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE deadline_reminders (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    module_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('DUE_IN_7_DAYS', 'DUE_IN_1_DAY', 'OVERDUE')),
    due_at timestamptz NOT NULL,
    sent_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id, module_id, kind, due_at),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE compliance_notices (
    tenant_id uuid NOT NULL,
    certificate_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('EXPIRING', 'EXPIRED')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, certificate_id, kind),
    FOREIGN KEY (tenant_id, certificate_id) REFERENCES certificates (tenant_id, id) ON DELETE CASCADE
);

-- Latest certificate of a member per module, and the matrix's lookups.
CREATE INDEX certificates_member_module_idx ON certificates (tenant_id, user_id, module_id, issued_at DESC);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['assignment_cycles', 'deadline_reminders', 'compliance_notices']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
