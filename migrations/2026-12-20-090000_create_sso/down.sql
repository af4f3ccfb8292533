DROP TABLE sso_logins;
DROP TABLE sso_settings;
