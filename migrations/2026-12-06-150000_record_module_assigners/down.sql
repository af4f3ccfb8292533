ALTER TABLE module_groups DROP COLUMN assigned_by;
