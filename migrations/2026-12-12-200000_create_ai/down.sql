DROP INDEX sections_answer_search_idx;
ALTER TABLE sections DROP COLUMN search;
DROP TABLE question_turns;
DROP TABLE questions;
DROP TABLE mentor_away;
DROP TABLE ai_usage;
DROP TABLE ai_settings;
