-- The questions of an attempt as they were when it started, answer keys included (each row of
-- quiz_questions as JSON, without tenant_id): scoring, grading and the review read these, so
-- editing or deleting a question changes nothing of an attempt already started. Attempts made
-- before this column existed keep their questions as they are now.
ALTER TABLE quiz_attempts ADD COLUMN questions jsonb;

UPDATE quiz_attempts a SET questions = coalesce((
    SELECT jsonb_agg(to_jsonb(q) - 'tenant_id' ORDER BY q.sort_order)
    FROM quiz_questions q
    WHERE q.tenant_id = a.tenant_id
      AND q.id IN (SELECT (s ->> 'question_id')::uuid FROM jsonb_array_elements(a.question_order) s)
), '[]'::jsonb);

ALTER TABLE quiz_attempts ALTER COLUMN questions SET NOT NULL;
