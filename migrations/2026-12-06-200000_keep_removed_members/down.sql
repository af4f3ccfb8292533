REVOKE SELECT (erased_at) ON users FROM guild_app;
ALTER TABLE users DROP COLUMN erased_at;
DELETE FROM memberships WHERE status = 'REMOVED';
ALTER TABLE memberships DROP COLUMN removed_at;
ALTER TABLE memberships DROP CONSTRAINT memberships_status_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_status_check
    CHECK (status IN ('INVITED', 'ACTIVE', 'DEACTIVATED'));
