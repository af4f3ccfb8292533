DROP TABLE quiz_bank_draws;
DROP TABLE question_bank_questions;
DROP TABLE question_banks;
