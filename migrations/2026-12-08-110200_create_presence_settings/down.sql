DROP TABLE presence_preferences;
DROP TABLE presence_settings;
