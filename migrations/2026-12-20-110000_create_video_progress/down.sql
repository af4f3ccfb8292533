DROP TABLE video_progress;
ALTER TABLE tenants DROP COLUMN video_completion_percent;
