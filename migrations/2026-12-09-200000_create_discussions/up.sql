-- Social: discussions attached to modules, announcements, and reactions.
--
-- A discussion thread belongs to a module (optionally one of its sections) and is visible exactly
-- when the module is. Its opening post is a row of `discussion_posts` with the thread's id; every
-- reply names its parent (the opening post or another reply). A hidden post (moderation) keeps
-- its row and reason; members no longer see it, moderators do. A thread whose opening post is
-- hidden is hidden.
CREATE TABLE discussion_threads (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    module_id uuid NOT NULL,
    section_id uuid,
    author_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    pinned boolean NOT NULL DEFAULT false,
    locked boolean NOT NULL DEFAULT false,
    resolved_at timestamptz,
    resolved_by uuid,
    last_post_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id)
        ON DELETE SET NULL (section_id),
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- A module's list: pinned first, then the latest activity.
CREATE INDEX discussion_threads_module_idx
    ON discussion_threads (tenant_id, module_id, pinned DESC, last_post_at DESC, id DESC);

CREATE TABLE discussion_posts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    thread_id uuid NOT NULL,
    parent_id uuid,
    author_id uuid NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    mentions uuid[] NOT NULL DEFAULT '{}' CHECK (cardinality(mentions) <= 20),
    hidden_at timestamptz,
    hidden_by uuid,
    hidden_reason text CHECK (hidden_reason IS NULL OR length(hidden_reason) BETWEEN 1 AND 500),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    -- The opening post has no parent; every reply has one.
    CHECK ((id = thread_id) = (parent_id IS NULL)),
    CHECK ((hidden_at IS NULL) = (hidden_reason IS NULL)),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES discussion_threads (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, parent_id) REFERENCES discussion_posts (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- A thread's replies in order.
CREATE INDEX discussion_posts_thread_idx
    ON discussion_posts (tenant_id, thread_id, created_at, id);
-- The per-member posting limit.
CREATE INDEX discussion_posts_author_idx ON discussion_posts (tenant_id, author_id, created_at);

-- Who hears of new posts in a thread: its author and everyone who posted, until they unfollow.
CREATE TABLE discussion_follows (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    thread_id uuid NOT NULL,
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, thread_id, user_id),
    FOREIGN KEY (tenant_id, thread_id) REFERENCES discussion_threads (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);

-- An announcement to the tenant, to groups, or to a module's learners. Its recipients are
-- decided when it is posted and kept, with each one's read receipt.
CREATE TABLE announcements (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    author_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
    audience text NOT NULL CHECK (audience IN ('TENANT', 'GROUPS', 'MODULE')),
    group_ids uuid[] NOT NULL DEFAULT '{}',
    module_id uuid,
    pinned_until timestamptz,
    recipient_count integer NOT NULL CHECK (recipient_count >= 0),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((audience = 'MODULE') = (module_id IS NOT NULL)),
    CHECK ((audience = 'GROUPS') = (cardinality(group_ids) > 0)),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX announcements_author_idx ON announcements (tenant_id, author_id, created_at);
CREATE INDEX announcements_created_idx ON announcements (tenant_id, created_at DESC, id DESC);

CREATE TABLE announcement_recipients (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    announcement_id uuid NOT NULL,
    user_id uuid NOT NULL,
    read_at timestamptz,
    PRIMARY KEY (tenant_id, announcement_id, user_id),
    FOREIGN KEY (tenant_id, announcement_id) REFERENCES announcements (tenant_id, id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- A member's announcements.
CREATE INDEX announcement_recipients_user_idx
    ON announcement_recipients (tenant_id, user_id, announcement_id);

-- One reaction per member, emoji and target; the target's counts are kept on write.
-- CHAT_MESSAGE targets are chat's messages.
CREATE TABLE reactions (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    target_kind text NOT NULL
        CHECK (target_kind IN ('DISCUSSION_POST', 'ANNOUNCEMENT', 'CHAT_MESSAGE')),
    target_id uuid NOT NULL,
    emoji text NOT NULL CHECK (length(emoji) BETWEEN 1 AND 32),
    user_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, target_kind, target_id, emoji, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE reaction_counts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    target_kind text NOT NULL
        CHECK (target_kind IN ('DISCUSSION_POST', 'ANNOUNCEMENT', 'CHAT_MESSAGE')),
    target_id uuid NOT NULL,
    emoji text NOT NULL CHECK (length(emoji) BETWEEN 1 AND 32),
    total integer NOT NULL CHECK (total >= 0),
    PRIMARY KEY (tenant_id, target_kind, target_id, emoji)
);

-- A deleted post or announcement takes its reactions along (targets of several kinds: no
-- foreign key can).
CREATE FUNCTION forget_reactions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reactions
     WHERE tenant_id = OLD.tenant_id AND target_kind = TG_ARGV[0] AND target_id = OLD.id;
    DELETE FROM reaction_counts
     WHERE tenant_id = OLD.tenant_id AND target_kind = TG_ARGV[0] AND target_id = OLD.id;
    RETURN OLD;
END
$$;
CREATE TRIGGER discussion_posts_forget_reactions AFTER DELETE ON discussion_posts
    FOR EACH ROW EXECUTE FUNCTION forget_reactions('DISCUSSION_POST');
CREATE TRIGGER announcements_forget_reactions AFTER DELETE ON announcements
    FOR EACH ROW EXECUTE FUNCTION forget_reactions('ANNOUNCEMENT');

ALTER TABLE discussion_threads ENABLE ROW LEVEL SECURITY;
ALTER TABLE discussion_threads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON discussion_threads
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE discussion_posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE discussion_posts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON discussion_posts
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE discussion_follows ENABLE ROW LEVEL SECURITY;
ALTER TABLE discussion_follows FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON discussion_follows
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE announcements ENABLE ROW LEVEL SECURITY;
ALTER TABLE announcements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON announcements
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE announcement_recipients ENABLE ROW LEVEL SECURITY;
ALTER TABLE announcement_recipients FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON announcement_recipients
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE reactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE reactions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reactions
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE reaction_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE reaction_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reaction_counts
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON discussion_threads, discussion_posts, discussion_follows,
    announcements, announcement_recipients, reactions, reaction_counts TO guild_app;

-- Announcements reach their recipients as ANNOUNCEMENT notifications; replies and mentions in
-- discussions link to the thread.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'NEW_MODULE', 'DEADLINE_REMINDER', 'QUIZ_RESULT', 'COMMENT_REPLY', 'CERTIFICATE_ISSUED',
    'PROGRESS_OVERRIDE', 'MODULE_UPDATED', 'SYSTEM', 'RADAR_APPROVED', 'RADAR_REJECTED',
    'NEW_KNOWLEDGE', 'XP_EARNED', 'REWARD_APPROVED', 'REWARD_REJECTED', 'SUGGESTION_POPULAR',
    'SUGGESTION_STATUS_CHANGED', 'MODULE_EXPIRING', 'MODULE_EXPIRED', 'RANK_UP', 'ASSIGNMENT_GRADED',
    'SUBMISSION_RECEIVED', 'CHAT_MENTION', 'ANNOUNCEMENT'
));
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE',
    'CHANGELOG_ENTRY', 'CHAT_ROOM', 'DISCUSSION_THREAD', 'ANNOUNCEMENT'
));
