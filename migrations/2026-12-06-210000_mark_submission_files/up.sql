-- A media asset uploaded for an assignment submission is not part of the media library. The
-- asset says so itself, set by learning (which owns media_assets) when the file is recorded, so
-- the library no longer reads assessment's assignment_files to leave such files out.
ALTER TABLE media_assets ADD COLUMN submission_file boolean NOT NULL DEFAULT false;
UPDATE media_assets m SET submission_file = true
 WHERE EXISTS (SELECT 1 FROM assignment_files f WHERE f.tenant_id = m.tenant_id AND f.asset_id = m.id);
