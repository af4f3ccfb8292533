-- SCIM 2.0 provisioning: the identity provider's own id for a member and a group
-- (`externalId`), unique per tenant when set, and the permission a SCIM token carries.
ALTER TABLE memberships ADD COLUMN external_id text
    CHECK (external_id IS NULL OR char_length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX memberships_external_id_key ON memberships (tenant_id, external_id)
    WHERE external_id IS NOT NULL;
ALTER TABLE groups ADD COLUMN external_id text
    CHECK (external_id IS NULL OR char_length(external_id) BETWEEN 1 AND 200);
CREATE UNIQUE INDEX groups_external_id_key ON groups (tenant_id, external_id)
    WHERE external_id IS NOT NULL;

-- PROVISION_SCIM is held by ADMIN and above by role; granting it to a person gives nothing on
-- /v1 (no route checks it), and only an API key holding it alone is accepted at /scim/v2.
ALTER TABLE user_permissions DROP CONSTRAINT user_permissions_permission_check;
ALTER TABLE user_permissions ADD CONSTRAINT user_permissions_permission_check CHECK (permission IN (
    'MANAGE_ALL_MODULES', 'MANAGE_OWN_MODULES', 'VIEW_ALL_PROGRESS', 'VIEW_GROUP_PROGRESS',
    'MANAGE_USERS', 'MANAGE_GROUPS', 'MANAGE_QUIZZES', 'OVERRIDE_PROGRESS', 'VIEW_ANALYTICS',
    'VIEW_AUDIT_LOG', 'EXPORT_REPORTS', 'MANAGE_REWARDS', 'VIEW_MANAGER_DASHBOARD',
    'MANAGE_SUGGESTIONS', 'MANAGE_WEBHOOKS', 'PROVISION_SCIM'));
