DROP TABLE member_jobs;
