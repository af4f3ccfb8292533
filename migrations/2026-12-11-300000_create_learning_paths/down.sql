DELETE FROM xp_transactions WHERE source = 'PATH_COMPLETED';
ALTER TABLE xp_transactions DROP CONSTRAINT xp_transactions_source_check;
ALTER TABLE xp_transactions ADD CONSTRAINT xp_transactions_source_check CHECK (source IN (
    'MODULE_COMPLETED', 'QUIZ_HIGH_SCORE', 'MENTOR_CONFIRMATION', 'TOP_SUGGESTION',
    'COMPLIANCE_RENEWAL', 'EVENT_ATTENDED', 'MANUAL', 'REDEMPTION'));
ALTER TABLE gamification_settings DROP COLUMN xp_path_completed;
DROP TABLE enrolments;
DROP TABLE path_certificates;
DROP TABLE path_completions;
DROP TABLE learning_path_groups;
DROP TABLE learning_path_modules;
DROP TABLE learning_paths;
