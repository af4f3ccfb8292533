DROP INDEX module_completions_module_idx;
CREATE INDEX module_completions_module_idx ON module_completions (tenant_id, module_id)
    WHERE archived_at IS NULL;

DROP INDEX certificates_completion_idx;
