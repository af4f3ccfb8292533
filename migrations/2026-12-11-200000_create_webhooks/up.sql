-- Signed webhooks (Standard Webhooks): a tenant's endpoints, the deliveries of its events to
-- them, and each delivery's attempts.
--
-- An endpoint's signing secret is stored sealed (AES-256-GCM under a key of
-- `GUILD_ENCRYPTION_KEYS`, the key id inside the sealed text), never in the clear: it is shown
-- once, when it is made. While a rotation's overlap lasts (`previous_secret_until`), the previous
-- secret signs too. `consecutive_dead` counts deliveries that ran out of attempts since the last
-- success; the worker disables the endpoint when it reaches its limit.
CREATE TABLE webhook_endpoints (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    url text NOT NULL CHECK (length(url) BETWEEN 9 AND 2000 AND url LIKE 'https://%'),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    event_types text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 100),
    enabled boolean NOT NULL DEFAULT true,
    disabled_reason text CHECK (disabled_reason IN ('MANUAL', 'FAILING')),
    disabled_at timestamptz,
    secret_sealed text NOT NULL,
    previous_secret_sealed text,
    previous_secret_until timestamptz,
    consecutive_dead integer NOT NULL DEFAULT 0 CHECK (consecutive_dead >= 0),
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (enabled = (disabled_reason IS NULL)),
    CHECK ((previous_secret_sealed IS NULL) = (previous_secret_until IS NULL))
);
CREATE INDEX webhook_endpoints_created_idx ON webhook_endpoints (tenant_id, id DESC);
CREATE INDEX webhook_endpoints_types_idx ON webhook_endpoints USING gin (event_types)
    WHERE enabled;

-- One message to one endpoint: `id` is its `webhook-id`, the same on every attempt and replay.
-- An event of the outbox fans out once per endpoint (`source_event_id`); pings and other
-- messages without a source have none. PENDING until it succeeds (SUCCEEDED) or runs out of
-- attempts (FAILED); a replay makes it PENDING again.
CREATE TABLE webhook_deliveries (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    event_type text NOT NULL CHECK (length(event_type) BETWEEN 1 AND 100),
    source_event_id uuid,
    payload jsonb NOT NULL,
    status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    attempt_count integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
    next_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_status_code integer,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK ((status = 'PENDING') = (next_attempt_at IS NOT NULL)),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id)
        ON DELETE CASCADE
);
CREATE UNIQUE INDEX webhook_deliveries_source_idx
    ON webhook_deliveries (tenant_id, endpoint_id, source_event_id)
    WHERE source_event_id IS NOT NULL;
-- The delivery log (newest first, by status) and the worker's due deliveries.
CREATE INDEX webhook_deliveries_log_idx
    ON webhook_deliveries (tenant_id, endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_due_idx
    ON webhook_deliveries (tenant_id, next_attempt_at) WHERE status = 'PENDING';

-- Each POST of a delivery: the answer's status and the first kilobyte of its body, or why none
-- came; how long it took.
CREATE TABLE webhook_attempts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    delivery_id uuid NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code integer CHECK (status_code BETWEEN 100 AND 599),
    latency_ms integer NOT NULL CHECK (latency_ms >= 0),
    response_excerpt text NOT NULL DEFAULT '' CHECK (octet_length(response_excerpt) <= 1024),
    error text CHECK (length(error) <= 500),
    succeeded boolean NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id)
        ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (tenant_id, delivery_id, id);

-- Managing webhooks is a permission of its own (ADMIN and above by role; an API key only when
-- it holds it).
ALTER TABLE user_permissions DROP CONSTRAINT user_permissions_permission_check;
ALTER TABLE user_permissions ADD CONSTRAINT user_permissions_permission_check CHECK (permission IN (
    'MANAGE_ALL_MODULES', 'MANAGE_OWN_MODULES', 'VIEW_ALL_PROGRESS', 'VIEW_GROUP_PROGRESS',
    'MANAGE_USERS', 'MANAGE_GROUPS', 'MANAGE_QUIZZES', 'OVERRIDE_PROGRESS', 'VIEW_ANALYTICS',
    'VIEW_AUDIT_LOG', 'EXPORT_REPORTS', 'MANAGE_REWARDS', 'VIEW_MANAGER_DASHBOARD',
    'MANAGE_SUGGESTIONS', 'MANAGE_WEBHOOKS'));

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_endpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_endpoints
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_deliveries
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_attempts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_attempts
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_endpoints, webhook_deliveries, webhook_attempts
    TO guild_app;
