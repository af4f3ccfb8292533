ALTER TABLE media_assets DROP COLUMN submission_file;
