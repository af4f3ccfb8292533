DROP TABLE user_module_access;
DROP TABLE module_changelog;
ALTER TABLE modules DROP COLUMN content_changed_at;
ALTER TABLE modules DROP COLUMN version;
