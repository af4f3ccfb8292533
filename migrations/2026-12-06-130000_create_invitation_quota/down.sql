DROP TABLE invitation_quota;
