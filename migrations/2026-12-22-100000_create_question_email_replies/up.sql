-- Mentors' answers that arrived by email (a reply to the email that gave them the question): one
-- row per message that answered, keyed by its Message-ID (or a hash of the message without one),
-- so a message delivered again answers nothing twice.
CREATE TABLE question_email_replies (
    tenant_id uuid NOT NULL,
    message_key text NOT NULL CHECK (length(message_key) BETWEEN 1 AND 300),
    question_id uuid NOT NULL,
    user_id uuid NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, message_key),
    FOREIGN KEY (tenant_id, question_id) REFERENCES questions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX question_email_replies_question_idx
    ON question_email_replies (tenant_id, question_id);
CREATE INDEX question_email_replies_user_idx ON question_email_replies (tenant_id, user_id);
ALTER TABLE question_email_replies ENABLE ROW LEVEL SECURITY;
ALTER TABLE question_email_replies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON question_email_replies
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON question_email_replies TO guild_app;
