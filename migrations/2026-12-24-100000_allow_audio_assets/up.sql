-- Audio files in the media library (MP3, M4A, WAV, Ogg), which the module builder transcribes
-- as it does videos (its source kind AUDIO).
ALTER TABLE media_assets DROP CONSTRAINT media_assets_kind_check;
ALTER TABLE media_assets ADD CONSTRAINT media_assets_kind_check
    CHECK (kind IN ('IMAGE', 'DOCUMENT', 'VIDEO', 'AUDIO'));
ALTER TABLE module_builds DROP CONSTRAINT module_builds_source_kind_check;
ALTER TABLE module_builds ADD CONSTRAINT module_builds_source_kind_check
    CHECK (source_kind IN ('PDF', 'DOCX', 'VIDEO', 'AUDIO'));
