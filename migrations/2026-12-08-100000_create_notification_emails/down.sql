DROP TABLE notification_digests;
DROP TABLE notification_templates;
ALTER TABLE email_preferences DROP COLUMN type_overrides;
DROP INDEX notifications_email_pending_idx;
ALTER TABLE notifications
    DROP COLUMN emailed_at,
    DROP COLUMN email_status,
    DROP COLUMN data;
