DELETE FROM notifications WHERE entity_kind = 'CHANGELOG_ENTRY';
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE'
));
DROP TABLE changelog_reads;
DROP TABLE changelog_entries;
