DROP TABLE IF EXISTS passage_embeddings;
DROP FUNCTION guild_enable_vector();
