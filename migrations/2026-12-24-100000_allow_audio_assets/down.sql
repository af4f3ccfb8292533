ALTER TABLE module_builds DROP CONSTRAINT module_builds_source_kind_check;
ALTER TABLE module_builds ADD CONSTRAINT module_builds_source_kind_check
    CHECK (source_kind IN ('PDF', 'DOCX', 'VIDEO'));
ALTER TABLE media_assets DROP CONSTRAINT media_assets_kind_check;
ALTER TABLE media_assets ADD CONSTRAINT media_assets_kind_check
    CHECK (kind IN ('IMAGE', 'DOCUMENT', 'VIDEO'));
