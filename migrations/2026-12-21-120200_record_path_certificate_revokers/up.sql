-- Path certificates are revoked like module certificates: who revoked one is kept with it.
ALTER TABLE path_certificates ADD COLUMN revoked_by uuid;
