-- A direct upload's bytes arrive at a staging key (`tenants/<t>/uploads/<id>`) through a signed
-- URL and are moved to the asset's `blob_key` when the upload is completed, so the URL can never
-- change what is read. `upload_expires_at` is when that URL stops working: the upload sweep then
-- removes the staging blob, and the asset itself if it is still PROCESSING (abandoned).
ALTER TABLE media_assets ADD COLUMN upload_expires_at timestamptz;
CREATE INDEX media_assets_upload_expiry_idx ON media_assets (tenant_id, upload_expires_at)
    WHERE upload_expires_at IS NOT NULL;

-- The sweep of orphaned assignment files looks for a member's old files per tenant.
CREATE INDEX assignment_files_age_idx ON assignment_files (tenant_id, created_at);

-- A member's upload quota sums their assignment files in the tenant.
CREATE INDEX assignment_files_user_idx ON assignment_files (tenant_id, user_id);
