-- Assignment submissions of an earlier compliance cycle are archived like quiz attempts: kept and
-- listed, but no longer current, so the member submits again in the new cycle.
ALTER TABLE assignment_submissions ADD COLUMN archived_at timestamptz;
DROP INDEX assignment_submissions_current_key;
CREATE UNIQUE INDEX assignment_submissions_current_key
    ON assignment_submissions (tenant_id, assignment_id, user_id)
    WHERE NOT superseded AND archived_at IS NULL;
