DELETE FROM user_permissions WHERE permission = 'PROVISION_SCIM';
ALTER TABLE user_permissions DROP CONSTRAINT user_permissions_permission_check;
ALTER TABLE user_permissions ADD CONSTRAINT user_permissions_permission_check CHECK (permission IN (
    'MANAGE_ALL_MODULES', 'MANAGE_OWN_MODULES', 'VIEW_ALL_PROGRESS', 'VIEW_GROUP_PROGRESS',
    'MANAGE_USERS', 'MANAGE_GROUPS', 'MANAGE_QUIZZES', 'OVERRIDE_PROGRESS', 'VIEW_ANALYTICS',
    'VIEW_AUDIT_LOG', 'EXPORT_REPORTS', 'MANAGE_REWARDS', 'VIEW_MANAGER_DASHBOARD',
    'MANAGE_SUGGESTIONS', 'MANAGE_WEBHOOKS'));
DROP INDEX groups_external_id_key;
ALTER TABLE groups DROP COLUMN external_id;
DROP INDEX memberships_external_id_key;
ALTER TABLE memberships DROP COLUMN external_id;
