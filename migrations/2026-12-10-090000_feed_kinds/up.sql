-- The knowledge feed (radar posts) and knowledge suggestions: notifications link to them and
-- members react to them. Their own tables come with their capabilities.
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE',
    'CHANGELOG_ENTRY', 'CHAT_ROOM', 'DISCUSSION_THREAD', 'ANNOUNCEMENT', 'RADAR_POST', 'SUGGESTION'
));
ALTER TABLE reactions DROP CONSTRAINT reactions_target_kind_check;
ALTER TABLE reactions ADD CONSTRAINT reactions_target_kind_check CHECK (target_kind IN (
    'DISCUSSION_POST', 'ANNOUNCEMENT', 'CHAT_MESSAGE', 'RADAR_POST', 'SUGGESTION'
));
ALTER TABLE reaction_counts DROP CONSTRAINT reaction_counts_target_kind_check;
ALTER TABLE reaction_counts ADD CONSTRAINT reaction_counts_target_kind_check CHECK (target_kind IN (
    'DISCUSSION_POST', 'ANNOUNCEMENT', 'CHAT_MESSAGE', 'RADAR_POST', 'SUGGESTION'
));
