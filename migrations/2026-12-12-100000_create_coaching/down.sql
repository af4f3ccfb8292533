DROP TABLE coaching_quick_notes;
DROP TABLE coaching_action_items;
DROP TABLE coaching_session_scores;
DROP TABLE coaching_sessions;
DROP TABLE coaching_relationships;
DROP TABLE coaching_settings;
