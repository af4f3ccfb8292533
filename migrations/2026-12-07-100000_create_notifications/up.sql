-- Each member's in-app notifications. A notification is written once per recipient and
-- `dedup_key` (the event and the reason it notifies), so an event delivered twice by the outbox
-- notifies once. `entity_kind`/`entity_id` name what it links to (a module, a certificate…).
CREATE TABLE notifications (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN (
        'NEW_MODULE', 'DEADLINE_REMINDER', 'QUIZ_RESULT', 'COMMENT_REPLY', 'CERTIFICATE_ISSUED',
        'PROGRESS_OVERRIDE', 'MODULE_UPDATED', 'SYSTEM', 'RADAR_APPROVED', 'RADAR_REJECTED',
        'NEW_KNOWLEDGE', 'XP_EARNED', 'REWARD_APPROVED', 'REWARD_REJECTED', 'SUGGESTION_POPULAR',
        'SUGGESTION_STATUS_CHANGED', 'MODULE_EXPIRING', 'MODULE_EXPIRED', 'RANK_UP', 'ASSIGNMENT_GRADED'
    )),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body text NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    entity_kind text CHECK (entity_kind IN (
        'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE'
    )),
    entity_id uuid,
    dedup_key text NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 300),
    created_at timestamptz NOT NULL,
    read_at timestamptz,
    archived_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    CHECK ((entity_kind IS NULL) = (entity_id IS NULL))
);
CREATE UNIQUE INDEX notifications_dedup_key ON notifications (tenant_id, user_id, dedup_key);
-- The inbox, newest first, and the unread badge.
CREATE INDEX notifications_inbox_idx ON notifications (tenant_id, user_id, id DESC)
    WHERE archived_at IS NULL;
CREATE INDEX notifications_unread_idx ON notifications (tenant_id, user_id)
    WHERE read_at IS NULL AND archived_at IS NULL;

ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON notifications TO guild_app;
