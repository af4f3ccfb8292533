DROP INDEX assignment_files_user_idx;
DROP INDEX assignment_files_age_idx;
DROP INDEX media_assets_upload_expiry_idx;
ALTER TABLE media_assets DROP COLUMN upload_expires_at;
