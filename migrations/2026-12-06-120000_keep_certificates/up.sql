-- Certificates are never deleted with their module: a module that members completed is archived,
-- and when an administrator forces its deletion its certificates are revoked first and kept, so
-- holders' records and public verification still answer (REVOKED). The holder's name and the
-- module's title were copied at issue; the module and the completion a certificate points to
-- become NULL when they are deleted.
ALTER TABLE certificates
    DROP CONSTRAINT certificates_tenant_id_module_id_fkey,
    DROP CONSTRAINT certificates_tenant_id_completion_id_fkey,
    ALTER COLUMN module_id DROP NOT NULL,
    ALTER COLUMN completion_id DROP NOT NULL,
    ADD CONSTRAINT certificates_tenant_id_module_id_fkey FOREIGN KEY (tenant_id, module_id)
        REFERENCES modules (tenant_id, id) ON DELETE SET NULL (module_id),
    ADD CONSTRAINT certificates_tenant_id_completion_id_fkey FOREIGN KEY (tenant_id, completion_id)
        REFERENCES module_completions (tenant_id, id) ON DELETE SET NULL (completion_id);
