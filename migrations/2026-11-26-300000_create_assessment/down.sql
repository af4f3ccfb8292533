DROP TABLE idempotency_keys;
DROP TABLE quiz_attempts;
DROP TABLE quiz_questions;
DROP TABLE quizzes;
