-- Indexes for the lookups of a member's progress on one module, found missing by the benchmark:
-- a completion's certificate (it was a scan of the tenant's certificates, 31 ms with 40,000 of
-- them; deleting a completion cascades through it too), and a member's active completion of a
-- module, which now has an index led by the module that also narrows to the member.
CREATE INDEX certificates_completion_idx ON certificates (tenant_id, completion_id);

DROP INDEX module_completions_module_idx;
CREATE INDEX module_completions_module_idx ON module_completions (tenant_id, module_id, user_id)
    WHERE archived_at IS NULL;
