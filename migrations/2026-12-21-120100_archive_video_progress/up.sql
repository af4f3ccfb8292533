-- A new compliance cycle archives a member's video progress on the module, as it archives their
-- completions, attempts and submissions: the rows stay (read-only history), and the member's
-- active progress on a video is the one row not archived.
ALTER TABLE video_progress ADD COLUMN id uuid;
UPDATE video_progress SET id = gen_random_uuid();
ALTER TABLE video_progress ALTER COLUMN id SET NOT NULL;
ALTER TABLE video_progress ADD COLUMN archived_at timestamptz;
ALTER TABLE video_progress DROP CONSTRAINT video_progress_pkey;
ALTER TABLE video_progress ADD PRIMARY KEY (tenant_id, id);
CREATE UNIQUE INDEX video_progress_active_idx ON video_progress (tenant_id, user_id, section_id)
    WHERE archived_at IS NULL;
