DROP INDEX assignment_submissions_current_key;
ALTER TABLE assignment_submissions DROP COLUMN archived_at;
CREATE UNIQUE INDEX assignment_submissions_current_key
    ON assignment_submissions (tenant_id, assignment_id, user_id) WHERE NOT superseded;
