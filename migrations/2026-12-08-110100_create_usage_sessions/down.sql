DROP TABLE usage_sessions;
