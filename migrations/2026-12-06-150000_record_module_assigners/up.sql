-- Who last set a module's assignment to a group. An author or mentor of a module earns XP and a
-- certificate from it only when someone else assigned it to one of their groups (see
-- `guild_learning::progress::earns_from`). Existing assignments take their assigner from the
-- audit log, where every assignment wrote a MODULE_ASSIGNED row in its transaction; one without
-- such a row stays NULL, which counts as assigned by nobody else.
ALTER TABLE module_groups ADD COLUMN assigned_by uuid;

UPDATE module_groups mg SET assigned_by = (
    SELECT a.actor_id FROM audit_log a
    WHERE a.tenant_id = mg.tenant_id AND a.action = 'MODULE_ASSIGNED' AND a.entity_type = 'module'
      AND a.entity_id = mg.module_id::text AND a.metadata ->> 'group_id' = mg.group_id::text
    ORDER BY a.created_at DESC, a.id DESC
    LIMIT 1
);
