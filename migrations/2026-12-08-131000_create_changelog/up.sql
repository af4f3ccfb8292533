-- The platform changelog ("what's new"): entries the platform owner publishes for every tenant,
-- and, per member, how far they have read it.
--
-- `changelog_entries` belongs to no tenant: the platform owner writes it outside any tenant
-- transaction; tenant transactions (the role guild_app) only read it. An entry is unread for a
-- member while it was published after their `seen_until` (publication time, not the entry's
-- `date`, so an entry published late with an earlier date is still new to everyone).
CREATE TABLE changelog_entries (
    id uuid PRIMARY KEY,
    version text NOT NULL CHECK (length(version) BETWEEN 1 AND 50),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    summary text NOT NULL CHECK (length(summary) BETWEEN 1 AND 5000),
    date date NOT NULL,
    published_by uuid REFERENCES users (id) ON DELETE SET NULL,
    published_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
-- The list, newest first.
CREATE INDEX changelog_entries_date_idx ON changelog_entries (date DESC, id DESC);
-- Unread counts.
CREATE INDEX changelog_entries_published_idx ON changelog_entries (published_at);
GRANT SELECT ON changelog_entries TO guild_app;

CREATE TABLE changelog_reads (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    seen_until timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE changelog_reads ENABLE ROW LEVEL SECURITY;
ALTER TABLE changelog_reads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON changelog_reads
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON changelog_reads TO guild_app;

-- A SYSTEM notification of a published entry links to it.
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE',
    'CHANGELOG_ENTRY'
));
