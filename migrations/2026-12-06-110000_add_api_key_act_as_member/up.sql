-- An API key does only what its permission list allows unless it was created to act as its
-- creator's member self too (learning, spending XP, grading as a mentor, their own settings).
-- Existing keys get false: they lose what a member does for themselves, which no permission
-- ever granted them.
ALTER TABLE api_keys ADD COLUMN act_as_member boolean NOT NULL DEFAULT false;
