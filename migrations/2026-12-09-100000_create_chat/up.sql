-- Chat: rooms (the tenant's room, one per module, direct conversations between two members),
-- their messages (with mentions, attachments, replies, edit history and soft deletion), each
-- member's read marker per room, and the answers a module's mentor confirmed.
--
-- A room's messages are numbered by `chat_rooms.last_seq`, taken with the room row's lock by
-- the sending transaction: the numbers follow commit order, so history and every member's
-- stream see one order.
CREATE TABLE chat_rooms (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('TENANT', 'MODULE', 'DIRECT')),
    module_id uuid,
    -- A direct conversation's two members, the smaller id first.
    member_a uuid,
    member_b uuid,
    last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    -- Who opened it (direct conversations: counted against the daily limit).
    created_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, member_a) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, member_b) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE,
    CHECK ((kind = 'MODULE') = (module_id IS NOT NULL)),
    CHECK ((kind = 'DIRECT') = (member_a IS NOT NULL)),
    CHECK ((kind = 'DIRECT') = (member_b IS NOT NULL)),
    CHECK (member_a < member_b)
);
CREATE UNIQUE INDEX chat_rooms_tenant_room_idx ON chat_rooms (tenant_id) WHERE kind = 'TENANT';
CREATE UNIQUE INDEX chat_rooms_module_idx ON chat_rooms (tenant_id, module_id) WHERE kind = 'MODULE';
CREATE UNIQUE INDEX chat_rooms_direct_idx ON chat_rooms (tenant_id, member_a, member_b)
    WHERE kind = 'DIRECT';
CREATE INDEX chat_rooms_direct_b_idx ON chat_rooms (tenant_id, member_b) WHERE kind = 'DIRECT';
CREATE INDEX chat_rooms_created_by_idx ON chat_rooms (tenant_id, created_by, created_at)
    WHERE kind = 'DIRECT';

CREATE TABLE chat_messages (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    room_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    kind text NOT NULL CHECK (kind IN ('MESSAGE', 'JOIN', 'SYSTEM', 'ACTION')),
    author_id uuid,
    body text NOT NULL CHECK (length(body) <= 4000),
    mentions uuid[] NOT NULL DEFAULT '{}',
    attachments uuid[] NOT NULL DEFAULT '{}',
    reply_to uuid,
    confirmed_by uuid,
    confirmed_at timestamptz,
    edited_at timestamptz,
    deleted_at timestamptz,
    deleted_by uuid,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, room_id, seq),
    FOREIGN KEY (tenant_id, room_id) REFERENCES chat_rooms (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, reply_to) REFERENCES chat_messages (tenant_id, id) ON DELETE SET NULL (reply_to),
    FOREIGN KEY (tenant_id, author_id) REFERENCES memberships (tenant_id, user_id) ON DELETE SET NULL (author_id)
);
-- Full-text search within a room ('simple': tenants write in many languages, no stemming). The
-- expression must match the one in guild_social::chat::messages::search.
CREATE INDEX chat_messages_search_idx ON chat_messages
    USING gin (to_tsvector('simple'::regconfig, body));
ALTER TABLE chat_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_messages
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON chat_messages TO guild_app;

ALTER TABLE chat_rooms ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_rooms FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_rooms
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON chat_rooms TO guild_app;

-- What a message said before each edit: moderators read it.
CREATE TABLE chat_message_edits (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    message_id uuid NOT NULL,
    body text NOT NULL,
    edited_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, message_id) REFERENCES chat_messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_message_edits_message_idx ON chat_message_edits (tenant_id, message_id, edited_at);
ALTER TABLE chat_message_edits ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_message_edits FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_message_edits
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON chat_message_edits TO guild_app;

-- How far each member has read each room: messages with a greater `seq` are unread.
CREATE TABLE chat_read_markers (
    tenant_id uuid NOT NULL,
    room_id uuid NOT NULL,
    user_id uuid NOT NULL,
    last_read_seq bigint NOT NULL CHECK (last_read_seq >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, room_id),
    FOREIGN KEY (tenant_id, room_id) REFERENCES chat_rooms (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
ALTER TABLE chat_read_markers ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_read_markers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_read_markers
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON chat_read_markers TO guild_app;

-- The answers a module's mentor confirmed in its room: (question, answer) pairs, the knowledge
-- the Q&A capability searches. One per answer message.
CREATE TABLE chat_confirmed_answers (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    module_id uuid NOT NULL,
    room_id uuid NOT NULL,
    question_id uuid NOT NULL,
    answer_id uuid NOT NULL,
    confirmed_by uuid NOT NULL,
    confirmed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, answer_id),
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, room_id) REFERENCES chat_rooms (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, question_id) REFERENCES chat_messages (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, answer_id) REFERENCES chat_messages (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX chat_confirmed_answers_module_idx
    ON chat_confirmed_answers (tenant_id, module_id, confirmed_at);
ALTER TABLE chat_confirmed_answers ENABLE ROW LEVEL SECURITY;
ALTER TABLE chat_confirmed_answers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON chat_confirmed_answers
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON chat_confirmed_answers TO guild_app;

-- A mention in chat notifies the member mentioned, and links to the room.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'NEW_MODULE', 'DEADLINE_REMINDER', 'QUIZ_RESULT', 'COMMENT_REPLY', 'CERTIFICATE_ISSUED',
    'PROGRESS_OVERRIDE', 'MODULE_UPDATED', 'SYSTEM', 'RADAR_APPROVED', 'RADAR_REJECTED',
    'NEW_KNOWLEDGE', 'XP_EARNED', 'REWARD_APPROVED', 'REWARD_REJECTED', 'SUGGESTION_POPULAR',
    'SUGGESTION_STATUS_CHANGED', 'MODULE_EXPIRING', 'MODULE_EXPIRED', 'RANK_UP', 'ASSIGNMENT_GRADED',
    'SUBMISSION_RECEIVED', 'CHAT_MENTION'
));
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE',
    'CHANGELOG_ENTRY', 'CHAT_ROOM'
));
