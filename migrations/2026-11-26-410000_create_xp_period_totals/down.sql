DROP TABLE xp_period_totals;
