DROP INDEX certificates_member_module_idx;
DROP TABLE compliance_notices;
DROP TABLE deadline_reminders;
DROP TABLE assignment_cycles;
DROP INDEX quiz_attempts_active_idx;
ALTER TABLE quiz_attempts DROP COLUMN archived_at;
