-- Accounts prove control of their address before another tenant can add them.
--
-- * `users.email_verified_at`: set by the sign-up verification link or by accepting an emailed
--   invitation. Accounts that existed before this migration and have a password are taken as
--   verified (they signed in through an emailed invitation or were created by an operator).
-- * `users.session_generation`: bumped by a password change, a reset or an invitation
--   acceptance; access tokens carry the generation they were minted in and older ones are refused.
-- * `memberships.invited_name`: the name an admin typed when inviting. The account's own name is
--   never changed by an invitation, and an INVITED member is shown with this name, so the answer
--   to an invitation is the same whether or not the address already had an account.
-- * `email_tokens.kind` gains `VERIFY_EMAIL`.
-- * `dev_mailbox`: the application role may record and prune mail but never read a body back.
ALTER TABLE users
    ADD COLUMN email_verified_at timestamptz,
    ADD COLUMN session_generation integer NOT NULL DEFAULT 0 CHECK (session_generation >= 0);
UPDATE users SET email_verified_at = coalesce(password_changed_at, created_at)
    WHERE password_hash IS NOT NULL;

ALTER TABLE memberships
    ADD COLUMN invited_name text CHECK (invited_name IS NULL OR length(invited_name) BETWEEN 1 AND 200);

ALTER TABLE email_tokens DROP CONSTRAINT email_tokens_kind_check;
ALTER TABLE email_tokens ADD CONSTRAINT email_tokens_kind_check
    CHECK (kind IN ('PASSWORD_RESET', 'INVITE', 'VERIFY_EMAIL'));

CREATE INDEX dev_mailbox_created_idx ON dev_mailbox (created_at);
REVOKE ALL ON dev_mailbox FROM guild_app;
GRANT INSERT, DELETE ON dev_mailbox TO guild_app;
GRANT SELECT (id, created_at) ON dev_mailbox TO guild_app;
