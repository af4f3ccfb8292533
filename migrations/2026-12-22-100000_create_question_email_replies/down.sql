DROP TABLE question_email_replies;
