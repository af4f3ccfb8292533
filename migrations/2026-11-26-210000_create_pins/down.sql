DROP TABLE company_pinned_modules;
DROP TABLE user_pinned_modules;
