-- Each member's event stream (`GET /v1/stream`): what was pushed to them, in order, kept for a
-- window so a client that reconnects with `Last-Event-ID` receives what it missed.
--
-- `seq` counts per member (tenant and user). It is taken from `member_stream_heads` with an
-- upsert that holds the head row's lock until the writing transaction ends, so one member's
-- events commit in `seq` order: a reader that has seen `seq` n has seen every event below it.
CREATE TABLE member_stream_heads (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    last_seq bigint NOT NULL CHECK (last_seq >= 1),
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);

CREATE TABLE member_stream_events (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id uuid NOT NULL,
    seq bigint NOT NULL CHECK (seq >= 1),
    kind text NOT NULL CHECK (kind ~ '^[a-z][a-z_.]{0,63}$'),
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id, seq),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- Pruning by age.
CREATE INDEX member_stream_events_created_idx ON member_stream_events (tenant_id, created_at);

ALTER TABLE member_stream_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_stream_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON member_stream_heads
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE member_stream_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_stream_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON member_stream_events
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON member_stream_heads, member_stream_events TO guild_app;
