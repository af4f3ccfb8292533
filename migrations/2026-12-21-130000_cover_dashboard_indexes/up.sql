-- The manager dashboard reads a thousand members' XP earned in the period and their attempts'
-- verdicts per quiz: with the columns those statements read in the index, PostgreSQL answers
-- them from the index alone instead of visiting a heap page per row (on the benchmark data set,
-- a subtree of 999 members: the XP statement from ~160 ms to ~50 ms, the failed-attempts one
-- from ~200 ms to ~40 ms). Each replaces the index with the same key it extends.
CREATE INDEX xp_transactions_user_cover_idx ON xp_transactions (tenant_id, user_id, created_at)
    INCLUDE (kind, amount);
DROP INDEX xp_transactions_user_idx;
CREATE INDEX quiz_attempts_active_verdict_idx ON quiz_attempts (tenant_id, user_id, quiz_id)
    INCLUDE (passed) WHERE archived_at IS NULL;
DROP INDEX quiz_attempts_active_idx;
