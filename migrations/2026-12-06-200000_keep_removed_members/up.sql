-- Removing a member keeps their history (certificates, XP ledger, audit trail): the membership is
-- marked REMOVED instead of deleted, so nothing cascades. An account can be erased on request
-- once no tenant has it as a member: name and email are replaced, the rows that refer to it stay.
ALTER TABLE memberships DROP CONSTRAINT memberships_status_check;
ALTER TABLE memberships ADD CONSTRAINT memberships_status_check
    CHECK (status IN ('INVITED', 'ACTIVE', 'DEACTIVATED', 'REMOVED'));
ALTER TABLE memberships ADD COLUMN removed_at timestamptz;
ALTER TABLE users ADD COLUMN erased_at timestamptz;
GRANT SELECT (erased_at) ON users TO guild_app;
