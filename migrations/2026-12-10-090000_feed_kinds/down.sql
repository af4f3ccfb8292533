DELETE FROM notifications WHERE entity_kind IN ('RADAR_POST', 'SUGGESTION');
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE',
    'CHANGELOG_ENTRY', 'CHAT_ROOM', 'DISCUSSION_THREAD', 'ANNOUNCEMENT'
));
DELETE FROM reactions WHERE target_kind IN ('RADAR_POST', 'SUGGESTION');
DELETE FROM reaction_counts WHERE target_kind IN ('RADAR_POST', 'SUGGESTION');
ALTER TABLE reactions DROP CONSTRAINT reactions_target_kind_check;
ALTER TABLE reactions ADD CONSTRAINT reactions_target_kind_check CHECK (target_kind IN (
    'DISCUSSION_POST', 'ANNOUNCEMENT', 'CHAT_MESSAGE'
));
ALTER TABLE reaction_counts DROP CONSTRAINT reaction_counts_target_kind_check;
ALTER TABLE reaction_counts ADD CONSTRAINT reaction_counts_target_kind_check CHECK (target_kind IN (
    'DISCUSSION_POST', 'ANNOUNCEMENT', 'CHAT_MESSAGE'
));
