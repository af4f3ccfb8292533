-- The media library: uploaded images, documents and videos, shared by sections as attachments
-- and as uploaded videos. An asset referenced by a section cannot be deleted (the references
-- RESTRICT); its blob is removed by a job once the asset is DELETE_PENDING and unreferenced.

CREATE TABLE media_assets (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('IMAGE', 'DOCUMENT', 'VIDEO')),
    status text NOT NULL DEFAULT 'PROCESSING'
        CHECK (status IN ('PROCESSING', 'READY', 'FAILED', 'DELETE_PENDING', 'DELETE_FAILED')),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    file_name text NOT NULL CHECK (length(file_name) BETWEEN 1 AND 255),
    content_type text NOT NULL CHECK (length(content_type) BETWEEN 1 AND 255),
    size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
    blob_key text NOT NULL,
    failure_reason text,
    uploaded_by uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX media_assets_listing_idx ON media_assets (tenant_id, id DESC);
CREATE INDEX media_assets_status_idx ON media_assets (tenant_id, status);

CREATE TABLE section_attachments (
    tenant_id uuid NOT NULL,
    id uuid NOT NULL,
    section_id uuid NOT NULL,
    asset_id uuid NOT NULL,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, section_id) REFERENCES sections (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, asset_id) REFERENCES media_assets (tenant_id, id) ON DELETE RESTRICT
);
CREATE UNIQUE INDEX section_attachments_unique_idx ON section_attachments (tenant_id, section_id, asset_id);
CREATE INDEX section_attachments_asset_idx ON section_attachments (tenant_id, asset_id);

-- An uploaded video (video_source UPLOAD) references its asset.
ALTER TABLE sections ADD COLUMN video_asset_id uuid;
ALTER TABLE sections ADD CONSTRAINT sections_video_asset_fkey
    FOREIGN KEY (tenant_id, video_asset_id) REFERENCES media_assets (tenant_id, id) ON DELETE RESTRICT;
ALTER TABLE sections ADD CONSTRAINT sections_video_asset_check
    CHECK (video_asset_id IS NULL OR video_source = 'UPLOAD');
CREATE INDEX sections_video_asset_idx ON sections (tenant_id, video_asset_id) WHERE video_asset_id IS NOT NULL;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['media_assets', 'section_attachments']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO guild_app', t);
    END LOOP;
END
$$;
