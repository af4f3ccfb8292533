ALTER TABLE certificates DROP COLUMN renews_certificate_id;
