REVOKE ALL ON dev_mailbox FROM guild_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON dev_mailbox TO guild_app;
DROP INDEX dev_mailbox_created_idx;

DELETE FROM email_tokens WHERE kind = 'VERIFY_EMAIL';
ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_kind_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_kind_check
    CHECK (kind IN ('PASSWORD_RESET', 'INVITE'));

ALTER TABLE memberships DROP COLUMN invited_name;

ALTER TABLE users
    DROP COLUMN session_generation,
    DROP COLUMN email_verified_at;
