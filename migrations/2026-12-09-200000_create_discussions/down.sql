DELETE FROM notifications
 WHERE kind = 'ANNOUNCEMENT' OR entity_kind IN ('DISCUSSION_THREAD', 'ANNOUNCEMENT');
ALTER TABLE notifications DROP CONSTRAINT notifications_entity_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_entity_kind_check CHECK (entity_kind IN (
    'MODULE', 'CERTIFICATE', 'QUIZ_ATTEMPT', 'SUBMISSION', 'REDEMPTION', 'OVERRIDE',
    'CHANGELOG_ENTRY'
));
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check CHECK (kind IN (
    'NEW_MODULE', 'DEADLINE_REMINDER', 'QUIZ_RESULT', 'COMMENT_REPLY', 'CERTIFICATE_ISSUED',
    'PROGRESS_OVERRIDE', 'MODULE_UPDATED', 'SYSTEM', 'RADAR_APPROVED', 'RADAR_REJECTED',
    'NEW_KNOWLEDGE', 'XP_EARNED', 'REWARD_APPROVED', 'REWARD_REJECTED', 'SUGGESTION_POPULAR',
    'SUGGESTION_STATUS_CHANGED', 'MODULE_EXPIRING', 'MODULE_EXPIRED', 'RANK_UP', 'ASSIGNMENT_GRADED',
    'SUBMISSION_RECEIVED'
));
DROP TABLE reaction_counts;
DROP TABLE reactions;
DROP TABLE announcement_recipients;
DROP TABLE announcements;
DROP FUNCTION forget_reactions() CASCADE;
DROP TABLE discussion_follows;
DROP TABLE discussion_posts;
DROP TABLE discussion_threads;
