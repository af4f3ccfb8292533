ALTER TABLE api_keys DROP COLUMN act_as_member;
