DELETE FROM video_progress WHERE archived_at IS NOT NULL;
DROP INDEX video_progress_active_idx;
ALTER TABLE video_progress DROP CONSTRAINT video_progress_pkey;
ALTER TABLE video_progress ADD PRIMARY KEY (tenant_id, user_id, section_id);
ALTER TABLE video_progress DROP COLUMN archived_at;
ALTER TABLE video_progress DROP COLUMN id;
