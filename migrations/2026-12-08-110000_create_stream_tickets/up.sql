-- Stream tickets: a browser's EventSource cannot send an Authorization header, so a signed-in
-- member trades their token for a ticket (`POST /v1/stream/tickets`) and opens
-- `GET /v1/stream?ticket=…` with it. A ticket works once, for 30 seconds, and only its SHA-256
-- is stored; redeeming it deletes its row (`DELETE … RETURNING`), so two instances redeeming the
-- same ticket at once cannot both succeed. It carries the account's session generation at minting,
-- so a password change also ends the tickets minted before it.
CREATE TABLE stream_tickets (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL CHECK (length(token_hash) = 32),
    user_id uuid NOT NULL,
    session_generation integer NOT NULL,
    expires_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- Pruning expired tickets.
CREATE INDEX stream_tickets_expires_idx ON stream_tickets (tenant_id, expires_at);

ALTER TABLE stream_tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE stream_tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON stream_tickets
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, DELETE ON stream_tickets TO guild_app;
