ALTER TABLE path_certificates DROP COLUMN revoked_by;
