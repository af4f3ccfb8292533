DROP TABLE module_groups;
DROP TABLE sections;
DROP TABLE module_prerequisites;
DROP TABLE module_mentors;
DROP TABLE module_tags;
DROP TABLE modules;
DROP TABLE tags;
DROP TABLE module_categories;
ALTER TABLE tenants DROP COLUMN catalog_open;
