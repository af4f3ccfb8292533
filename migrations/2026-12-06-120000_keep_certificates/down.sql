-- Certificates of deleted modules cannot point at them again: they go, as they did before.
DELETE FROM certificates WHERE module_id IS NULL OR completion_id IS NULL;
ALTER TABLE certificates
    DROP CONSTRAINT certificates_tenant_id_module_id_fkey,
    DROP CONSTRAINT certificates_tenant_id_completion_id_fkey,
    ALTER COLUMN module_id SET NOT NULL,
    ALTER COLUMN completion_id SET NOT NULL,
    ADD CONSTRAINT certificates_tenant_id_module_id_fkey FOREIGN KEY (tenant_id, module_id)
        REFERENCES modules (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT certificates_tenant_id_completion_id_fkey FOREIGN KEY (tenant_id, completion_id)
        REFERENCES module_completions (tenant_id, id) ON DELETE CASCADE;
