CREATE INDEX quiz_attempts_active_idx ON quiz_attempts (tenant_id, user_id, quiz_id) WHERE archived_at IS NULL;
DROP INDEX quiz_attempts_active_verdict_idx;
CREATE INDEX xp_transactions_user_idx ON xp_transactions (tenant_id, user_id, created_at);
DROP INDEX xp_transactions_user_cover_idx;
