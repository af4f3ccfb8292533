-- The certificate a renewal replaced: a certificate issued while the member still held a valid
-- one of the same module renews it. Renewal XP is earned by the first renewal of each validity
-- period only (see `guild_learning::compliance::first_renewal_of_period`), which this records.
-- Existing certificates are linked to the latest earlier certificate of the same member and
-- module that was valid when they were issued.
ALTER TABLE certificates
    ADD COLUMN renews_certificate_id uuid,
    ADD CONSTRAINT certificates_tenant_id_renews_certificate_id_fkey
        FOREIGN KEY (tenant_id, renews_certificate_id) REFERENCES certificates (tenant_id, id)
        ON DELETE SET NULL (renews_certificate_id);

UPDATE certificates c SET renews_certificate_id = (
    SELECT p.id FROM certificates p
    WHERE p.tenant_id = c.tenant_id AND p.user_id = c.user_id AND p.module_id = c.module_id
      AND p.issued_at < c.issued_at AND p.expires_at > c.issued_at
      AND (p.revoked_at IS NULL OR p.revoked_at > c.issued_at)
    ORDER BY p.issued_at DESC
    LIMIT 1
);
