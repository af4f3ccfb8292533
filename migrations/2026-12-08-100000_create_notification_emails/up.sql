-- Notification email: each notification's way to the member's mailbox, the tenant's own email
-- templates, and the digests sent.

-- `data`: the values the notification's email template names (`module`, `due_at`, `score`…),
-- written with it. `email_status`: PENDING from delivery until an immediate email or a digest
-- took it (SENT, at `emailed_at`) or the member's preferences left it out (SKIPPED); NULL for
-- notifications delivered before emails followed them.
ALTER TABLE notifications
    ADD COLUMN data jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),
    ADD COLUMN email_status text CHECK (email_status IN ('PENDING', 'SENT', 'SKIPPED')),
    ADD COLUMN emailed_at timestamptz;
-- What a digest collects: a member's notifications still waiting, by age.
CREATE INDEX notifications_email_pending_idx ON notifications (tenant_id, user_id, created_at)
    WHERE email_status = 'PENDING';

-- Per-type switches on top of the category switches: `{"QUIZ_RESULT": false}`.
ALTER TABLE email_preferences
    ADD COLUMN type_overrides jsonb NOT NULL DEFAULT '{}'
        CHECK (jsonb_typeof(type_overrides) = 'object');

-- A tenant's own email template for one notification type and locale; the built-in English one
-- applies where none is stored. `revision` is its ETag.
CREATE TABLE notification_templates (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN (
        'NEW_MODULE', 'DEADLINE_REMINDER', 'QUIZ_RESULT', 'COMMENT_REPLY', 'CERTIFICATE_ISSUED',
        'PROGRESS_OVERRIDE', 'MODULE_UPDATED', 'SYSTEM', 'RADAR_APPROVED', 'RADAR_REJECTED',
        'NEW_KNOWLEDGE', 'XP_EARNED', 'REWARD_APPROVED', 'REWARD_REJECTED', 'SUGGESTION_POPULAR',
        'SUGGESTION_STATUS_CHANGED', 'MODULE_EXPIRING', 'MODULE_EXPIRED', 'RANK_UP', 'ASSIGNMENT_GRADED'
    )),
    locale text NOT NULL CHECK (locale ~ '^[a-z]{2}(-[A-Z]{2})?$'),
    subject text NOT NULL CHECK (length(subject) BETWEEN 1 AND 500),
    text_body text NOT NULL CHECK (length(text_body) BETWEEN 1 AND 20000),
    html_body text CHECK (length(html_body) BETWEEN 1 AND 50000),
    revision integer NOT NULL CHECK (revision >= 1),
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, kind, locale)
);

-- One digest per member, frequency and period: the row is written in the transaction that marks
-- the notifications it lists as sent, so a retried digest job finds it and sends nothing again.
CREATE TABLE notification_digests (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    frequency text NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY')),
    period_end timestamptz NOT NULL,
    notifications integer NOT NULL CHECK (notifications >= 0),
    sent_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, frequency, period_end),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);

ALTER TABLE notification_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_templates
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_templates TO guild_app;

ALTER TABLE notification_digests ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_digests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notification_digests
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON notification_digests TO guild_app;
