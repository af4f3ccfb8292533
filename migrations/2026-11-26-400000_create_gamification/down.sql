DROP TABLE reward_redemptions;
DROP TABLE rewards;
DROP TABLE xp_transactions;
DROP TABLE user_xp_balances;
DROP TABLE gamification_settings;
