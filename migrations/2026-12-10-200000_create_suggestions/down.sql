DROP TABLE suggestion_settings;
DROP TABLE suggestion_comments;
DROP TABLE suggestion_votes;
DROP TABLE suggestions;
