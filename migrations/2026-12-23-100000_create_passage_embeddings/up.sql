-- Vector search over the passages questions are answered from, where the pgvector extension is
-- available to the database. `guild_enable_vector()` creates the extension (when this role may)
-- and `passage_embeddings`, and answers whether the table exists; it is called here, and an
-- operator who installs pgvector later calls it once (`SELECT guild_enable_vector();`) as the
-- role that runs migrations. Without it, questions are answered by full-text search alone.
--
-- One row per passage (a section, a confirmed chat answer, an accepted question), with the
-- model that embedded it and a digest of the text it embedded, so a changed passage or another
-- model is embedded again. Vectors have the model's dimension (no fixed one): the search is exact
-- over the asker's visible modules' rows.
CREATE FUNCTION guild_enable_vector() RETURNS boolean LANGUAGE plpgsql AS $fn$
BEGIN
    IF to_regclass('passage_embeddings') IS NOT NULL THEN
        RETURN true;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
            RETURN false;
        END IF;
        BEGIN
            CREATE EXTENSION vector;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE NOTICE 'pgvector is installed but this role may not create the extension: %', SQLERRM;
            RETURN false;
        END;
    END IF;
    EXECUTE $ddl$
        CREATE TABLE passage_embeddings (
            tenant_id uuid NOT NULL,
            kind text NOT NULL CHECK (kind IN ('SECTION', 'CHAT_ANSWER', 'QUESTION_ANSWER')),
            id uuid NOT NULL,
            module_id uuid NOT NULL,
            model text NOT NULL CHECK (length(model) BETWEEN 1 AND 200),
            digest text NOT NULL,
            embedding vector NOT NULL,
            embedded_at timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, kind, id),
            FOREIGN KEY (tenant_id, module_id) REFERENCES modules (tenant_id, id) ON DELETE CASCADE
        );
        CREATE INDEX passage_embeddings_module_idx ON passage_embeddings (tenant_id, module_id);
        ALTER TABLE passage_embeddings ENABLE ROW LEVEL SECURITY;
        ALTER TABLE passage_embeddings FORCE ROW LEVEL SECURITY;
        CREATE POLICY tenant_isolation ON passage_embeddings
            USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
        GRANT SELECT, INSERT, UPDATE, DELETE ON passage_embeddings TO guild_app;
    $ddl$;
    RETURN true;
END
$fn$;

SELECT guild_enable_vector();
