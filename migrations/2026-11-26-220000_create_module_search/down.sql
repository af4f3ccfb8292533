DROP INDEX sections_search_idx;
DROP INDEX modules_search_idx;
