-- Live events: sessions at a time and place (online, physical or both), hosted by members,
-- targeted at groups (or the whole tenant), with a capacity, a waitlist and attendance.
--
-- `revision` is the ETag and the iCalendar SEQUENCE: every change bumps it. `registered_count`
-- is kept on write under the event row's lock (`SELECT … FOR UPDATE`) and can never exceed
-- `capacity` (CHECK); `next_position` numbers registrations and waitlist entries in the order
-- the lock admitted them.
CREATE TABLE live_events (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (length(description) <= 10000),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    time_zone text NOT NULL CHECK (length(time_zone) BETWEEN 1 AND 64),
    location_type text NOT NULL CHECK (location_type IN ('ONLINE', 'PHYSICAL', 'HYBRID')),
    meeting_url text CHECK (meeting_url IS NULL OR length(meeting_url) BETWEEN 9 AND 2048),
    address text CHECK (address IS NULL OR length(address) BETWEEN 1 AND 500),
    capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    module_id uuid,
    required boolean NOT NULL DEFAULT false,
    status text NOT NULL DEFAULT 'SCHEDULED'
        CHECK (status IN ('SCHEDULED', 'CANCELLED', 'COMPLETED')),
    status_changed_at timestamptz,
    revision integer NOT NULL DEFAULT 1 CHECK (revision >= 1),
    registered_count integer NOT NULL DEFAULT 0
        CHECK (registered_count >= 0 AND registered_count <= capacity),
    next_position bigint NOT NULL DEFAULT 1,
    created_by uuid NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (ends_at > starts_at),
    CHECK ((location_type = 'PHYSICAL') = (meeting_url IS NULL)),
    CHECK ((location_type = 'ONLINE') = (address IS NULL)),
    FOREIGN KEY (tenant_id, created_by) REFERENCES memberships (tenant_id, user_id)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id)
        ON DELETE SET NULL (module_id)
);
CREATE INDEX live_events_starts_idx ON live_events (tenant_id, starts_at, id);
CREATE INDEX live_events_module_idx ON live_events (tenant_id, module_id)
    WHERE module_id IS NOT NULL;

-- Who runs an event (its creator at least).
CREATE TABLE live_event_hosts (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    user_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, event_id, user_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES live_events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX live_event_hosts_user_idx ON live_event_hosts (tenant_id, user_id);

-- The groups an event is for; none: the whole tenant.
CREATE TABLE live_event_groups (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    group_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, event_id, group_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES live_events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX live_event_groups_group_idx ON live_event_groups (tenant_id, group_id);

-- One row per member and event: REGISTERED (holds a seat), WAITLISTED (in `position` order) or
-- CANCELLED (gave the seat or place back; registering again takes a new position).
-- Attendance: `attended_at` once confirmed, by a host or admin (`confirmed_by`) or by the
-- member's signed link (`link_used_at`: each link works once).
CREATE TABLE live_event_registrations (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    user_id uuid NOT NULL,
    status text NOT NULL CHECK (status IN ('REGISTERED', 'WAITLISTED', 'CANCELLED')),
    position bigint NOT NULL,
    added_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    promoted_at timestamptz,
    attended_at timestamptz,
    confirmed_by uuid,
    link_used_at timestamptz,
    PRIMARY KEY (tenant_id, event_id, user_id),
    CHECK (attended_at IS NULL OR status = 'REGISTERED'),
    FOREIGN KEY (tenant_id, event_id) REFERENCES live_events (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES memberships (tenant_id, user_id) ON DELETE CASCADE
);
-- The waitlist's head, and each status's members in order.
CREATE INDEX live_event_registrations_queue_idx
    ON live_event_registrations (tenant_id, event_id, status, position);
-- A member's events (upcoming, attended).
CREATE INDEX live_event_registrations_user_idx
    ON live_event_registrations (tenant_id, user_id, status);

ALTER TABLE live_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE live_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON live_events
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE live_event_hosts ENABLE ROW LEVEL SECURITY;
ALTER TABLE live_event_hosts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON live_event_hosts
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE live_event_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE live_event_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON live_event_groups
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE live_event_registrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE live_event_registrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON live_event_registrations
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE, DELETE
    ON live_events, live_event_hosts, live_event_groups, live_event_registrations TO guild_app;
