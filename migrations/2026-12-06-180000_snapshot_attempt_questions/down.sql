ALTER TABLE quiz_attempts DROP COLUMN questions;
