-- A tenant's catalog stamp: a counter every change to what all members' catalogs share (modules,
-- their tags, mentors, prerequisites and section counts, company pins, the material changelog,
-- strict learning paths) moves on, in the changing transaction. A server keeps the shared part of
-- a tenant's catalog in memory with the stamp it was read at, and reads the stamp with each
-- member's own facts: an equal stamp means the kept copy is what the database holds.
CREATE TABLE catalog_stamps (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    stamp bigint NOT NULL DEFAULT 0
);
ALTER TABLE catalog_stamps ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalog_stamps FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON catalog_stamps
    USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, UPDATE ON catalog_stamps TO guild_app;

-- Runs as the writing role, in its transaction: a tenant transaction may only move its own
-- tenant's stamp (the policy above), which is the tenant of every row it can write.
CREATE FUNCTION guild_bump_catalog_stamp() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  t uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN t := OLD.tenant_id; ELSE t := NEW.tenant_id; END IF;
  INSERT INTO catalog_stamps (tenant_id, stamp) VALUES (t, 1)
  ON CONFLICT (tenant_id) DO UPDATE SET stamp = catalog_stamps.stamp + 1;
  IF TG_OP = 'UPDATE' AND OLD.tenant_id <> NEW.tenant_id THEN
    INSERT INTO catalog_stamps (tenant_id, stamp) VALUES (OLD.tenant_id, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET stamp = catalog_stamps.stamp + 1;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER modules_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON modules
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
-- A section's content is not in the catalog; how many a module has is.
CREATE TRIGGER sections_catalog_stamp AFTER INSERT OR DELETE OR UPDATE OF tenant_id, module_id ON sections
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER tags_catalog_stamp AFTER UPDATE OR DELETE ON tags
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER module_tags_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON module_tags
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER module_mentors_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON module_mentors
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER module_prerequisites_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON module_prerequisites
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER company_pinned_modules_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON company_pinned_modules
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER module_changelog_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON module_changelog
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER learning_paths_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON learning_paths
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER learning_path_modules_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON learning_path_modules
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
CREATE TRIGGER learning_path_groups_catalog_stamp AFTER INSERT OR UPDATE OR DELETE ON learning_path_groups
  FOR EACH ROW EXECUTE FUNCTION guild_bump_catalog_stamp();
