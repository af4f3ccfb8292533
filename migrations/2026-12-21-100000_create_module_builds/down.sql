DROP TABLE module_build_citations;
DROP TABLE module_builds;
