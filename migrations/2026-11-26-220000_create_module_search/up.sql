-- Full-text search over module titles, descriptions and section text (tags stripped from the
-- HTML). The 'simple' configuration: tenants write in many languages, so no stemming. The
-- expressions here must match the ones in guild_learning::modules::list for the indexes to be used.
CREATE INDEX modules_search_idx ON modules
    USING gin (to_tsvector('simple'::regconfig, title || ' ' || description));
CREATE INDEX sections_search_idx ON sections
    USING gin (to_tsvector('simple'::regconfig,
        title || ' ' || regexp_replace(content_html, '<[^>]*>', ' ', 'g')));
