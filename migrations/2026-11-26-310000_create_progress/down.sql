DROP TABLE module_self_assessments;
DROP TABLE progress_overrides;
DROP TABLE certificates;
DROP TABLE module_completions;
DROP TABLE section_completions;
