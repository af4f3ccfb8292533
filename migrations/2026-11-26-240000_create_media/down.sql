DROP INDEX sections_video_asset_idx;
ALTER TABLE sections DROP CONSTRAINT sections_video_asset_check;
ALTER TABLE sections DROP CONSTRAINT sections_video_asset_fkey;
ALTER TABLE sections DROP COLUMN video_asset_id;
DROP TABLE section_attachments;
DROP TABLE media_assets;
