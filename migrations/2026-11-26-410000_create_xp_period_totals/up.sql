-- XP earned per member per calendar month and ISO week (UTC), kept up to date in the transaction
-- of every earning ledger row, so the month and week leaderboards read an index instead of
-- summing the ledger on each request.
CREATE TABLE xp_period_totals (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    period text NOT NULL CHECK (period IN ('MONTH', 'WEEK')),
    period_start timestamptz NOT NULL,
    xp integer NOT NULL DEFAULT 0 CHECK (xp >= 0),
    PRIMARY KEY (tenant_id, period, period_start, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX xp_period_totals_board_idx
    ON xp_period_totals (tenant_id, period, period_start, xp DESC, user_id);

INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp)
SELECT tenant_id, user_id, 'MONTH', date_trunc('month', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(amount)
FROM xp_transactions WHERE kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)
GROUP BY 1, 2, 4;
INSERT INTO xp_period_totals (tenant_id, user_id, period, period_start, xp)
SELECT tenant_id, user_id, 'WEEK', date_trunc('week', created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC', sum(amount)
FROM xp_transactions WHERE kind = 'AWARD' OR (kind = 'MANUAL' AND amount > 0)
GROUP BY 1, 2, 4;

ALTER TABLE xp_period_totals ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON xp_period_totals
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON xp_period_totals TO guild_app;
