-- Social: the knowledge feed. Members share an https link with a description and tags; posts
-- by a module's mentors and by ADMIN and above are approved on submit, others wait as PENDING
-- for a moderator (ADMIN and above, MANAGE_SUGGESTIONS holders). The approved feed lists pinned
-- posts first, then the newest approvals. The server may fetch the link's preview after the post
-- is committed: its title, description and image (an asset of the media library) land here, and
-- a failed fetch leaves the post without one (FAILED).
CREATE TABLE feed_posts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    author_id uuid NOT NULL,
    url text NOT NULL CHECK (url ~* '^https://' AND length(url) <= 2048),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    -- At most 5 tags of 1 to 32 characters (lower-case letters, digits, '-'), checked by the
    -- domain; the bound here keeps any writer honest.
    tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 5),
    status text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'ARCHIVED')),
    reject_reason text CHECK (reject_reason IS NULL OR length(reject_reason) BETWEEN 1 AND 500),
    moderated_by uuid,
    moderated_at timestamptz,
    pinned boolean NOT NULL DEFAULT false,
    preview_status text NOT NULL DEFAULT 'PENDING'
        CHECK (preview_status IN ('PENDING', 'READY', 'FAILED', 'OFF')),
    preview_title text CHECK (preview_title IS NULL OR length(preview_title) <= 300),
    preview_description text
        CHECK (preview_description IS NULL OR length(preview_description) <= 1000),
    preview_image_id uuid,
    save_count integer NOT NULL DEFAULT 0 CHECK (save_count >= 0),
    reply_count integer NOT NULL DEFAULT 0 CHECK (reply_count >= 0),
    created_at timestamptz NOT NULL,
    approved_at timestamptz,
    PRIMARY KEY (tenant_id, id),
    CHECK ((status = 'REJECTED') = (reject_reason IS NOT NULL)),
    CHECK (status <> 'APPROVED' OR approved_at IS NOT NULL),
    CHECK (NOT pinned OR status = 'APPROVED'),
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, preview_image_id) REFERENCES media_assets (tenant_id, id)
        ON DELETE SET NULL (preview_image_id)
);
-- The approved feed: pinned first, then the newest approvals.
CREATE INDEX feed_posts_feed_idx ON feed_posts (tenant_id, pinned DESC, approved_at DESC, id DESC)
    WHERE status = 'APPROVED';
-- The moderators' queue and each author's own posts (and the per-member posting limit).
CREATE INDEX feed_posts_status_idx ON feed_posts (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX feed_posts_author_idx ON feed_posts (tenant_id, author_id, created_at DESC, id DESC);
-- `?tag=`: tags @> ARRAY[tag].
CREATE INDEX feed_posts_tags_idx ON feed_posts USING gin (tags);

-- A member's saved (bookmarked) posts.
CREATE TABLE feed_saves (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    post_id uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, post_id),
    FOREIGN KEY (tenant_id, post_id) REFERENCES feed_posts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX feed_saves_list_idx ON feed_saves (tenant_id, user_id, created_at DESC, post_id DESC);

-- Replies to a post, flat and oldest first (a post is not a module: discussions do not attach).
CREATE TABLE feed_replies (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    post_id uuid NOT NULL,
    author_id uuid NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, post_id) REFERENCES feed_posts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX feed_replies_post_idx ON feed_replies (tenant_id, post_id, created_at, id);

-- Until when a member has seen the feed: approvals after it are unseen (the badge).
CREATE TABLE feed_seen (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    seen_until timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TRIGGER feed_posts_forget_reactions AFTER DELETE ON feed_posts
    FOR EACH ROW EXECUTE FUNCTION forget_reactions('RADAR_POST');

ALTER TABLE feed_posts ENABLE ROW LEVEL SECURITY;
ALTER TABLE feed_posts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON feed_posts
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE feed_saves ENABLE ROW LEVEL SECURITY;
ALTER TABLE feed_saves FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON feed_saves
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE feed_replies ENABLE ROW LEVEL SECURITY;
ALTER TABLE feed_replies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON feed_replies
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE feed_seen ENABLE ROW LEVEL SECURITY;
ALTER TABLE feed_seen FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON feed_seen
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON feed_posts, feed_saves, feed_replies, feed_seen
    TO guild_app;
