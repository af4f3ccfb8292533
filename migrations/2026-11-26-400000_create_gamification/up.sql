-- Gamification: per-tenant XP settings, the append-only XP ledger, each member's balance (kept
-- equal to the ledger's sums in the transaction that appends to it), the reward shop and its
-- redemptions.
--
-- Ledger kinds and what they do to a balance (amount is signed; Σ amount = total_xp):
--   AWARD   +n  earned from an event: lifetime_xp += n, total_xp += n
--   MANUAL  ±n  by an admin: total_xp += n; lifetime_xp += n only when n > 0
--   SPEND   -n  a redemption without approval: total_xp -= n
--   HOLD    -n  a redemption waiting for approval: total_xp -= n, held_xp += n
--   RELEASE +n  a held redemption rejected or cancelled: total_xp += n, held_xp -= n
--   SPEND    0  a held redemption approved: held_xp -= cost (the XP left total_xp at HOLD)

CREATE TABLE gamification_settings (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    xp_module_completed integer NOT NULL DEFAULT 100 CHECK (xp_module_completed >= 0),
    xp_quiz_high_score integer NOT NULL DEFAULT 50 CHECK (xp_quiz_high_score >= 0),
    xp_mentor_confirmation integer NOT NULL DEFAULT 25 CHECK (xp_mentor_confirmation >= 0),
    xp_top_suggestion integer NOT NULL DEFAULT 75 CHECK (xp_top_suggestion >= 0),
    xp_compliance_renewal integer NOT NULL DEFAULT 50 CHECK (xp_compliance_renewal >= 0),
    xp_event_attended integer NOT NULL DEFAULT 30 CHECK (xp_event_attended >= 0),
    rank_pomocnik integer NOT NULL DEFAULT 1500,
    rank_mojster integer NOT NULL DEFAULT 3500,
    rank_mentor integer NOT NULL DEFAULT 6000,
    leaderboard_opt_out_allowed boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (0 < rank_pomocnik AND rank_pomocnik < rank_mojster AND rank_mojster < rank_mentor)
);

CREATE TABLE user_xp_balances (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    lifetime_xp integer NOT NULL DEFAULT 0 CHECK (lifetime_xp >= 0),
    total_xp integer NOT NULL DEFAULT 0 CHECK (total_xp >= 0),
    held_xp integer NOT NULL DEFAULT 0 CHECK (held_xp >= 0),
    rank text NOT NULL DEFAULT 'VAJENEC' CHECK (rank IN ('VAJENEC', 'POMOCNIK', 'MOJSTER', 'MENTOR')),
    leaderboard_hidden boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX user_xp_balances_leaderboard_idx ON user_xp_balances (tenant_id, lifetime_xp DESC, user_id);

CREATE TABLE xp_transactions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('AWARD', 'SPEND', 'HOLD', 'RELEASE', 'MANUAL')),
    amount integer NOT NULL,
    source text NOT NULL CHECK (source IN ('MODULE_COMPLETED', 'QUIZ_HIGH_SCORE', 'MENTOR_CONFIRMATION',
        'TOP_SUGGESTION', 'COMPLIANCE_RENEWAL', 'EVENT_ATTENDED', 'MANUAL', 'REDEMPTION')),
    source_entity_id uuid,
    reason text,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- An event awards once, however often it is delivered.
CREATE UNIQUE INDEX xp_transactions_award_once_idx
    ON xp_transactions (tenant_id, user_id, source, source_entity_id) WHERE kind = 'AWARD';
CREATE INDEX xp_transactions_period_idx ON xp_transactions (tenant_id, created_at);
CREATE INDEX xp_transactions_user_idx ON xp_transactions (tenant_id, user_id, created_at);

CREATE TABLE rewards (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    title text NOT NULL,
    description text NOT NULL DEFAULT '',
    image_url text,
    cost_xp integer NOT NULL CHECK (cost_xp > 0),
    stock integer CHECK (stock >= 0),
    monthly_limit integer CHECK (monthly_limit > 0),
    approval_required boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    deleted_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX rewards_active_idx ON rewards (tenant_id, active) WHERE deleted_at IS NULL;

CREATE TABLE reward_redemptions (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    reward_id uuid NOT NULL,
    user_id uuid NOT NULL,
    cost_xp integer NOT NULL CHECK (cost_xp > 0),
    status text NOT NULL CHECK (status IN ('PENDING', 'APPROVED', 'REJECTED', 'CANCELLED')),
    reason text,
    reviewed_by uuid,
    reviewed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX reward_redemptions_user_idx ON reward_redemptions (tenant_id, user_id, created_at);
CREATE INDEX reward_redemptions_status_idx ON reward_redemptions (tenant_id, status, created_at);
CREATE INDEX reward_redemptions_reward_idx ON reward_redemptions (tenant_id, reward_id, user_id, created_at);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['gamification_settings', 'user_xp_balances', 'xp_transactions',
                             'rewards', 'reward_redemptions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
