DROP TABLE assignment_submissions;
DROP TABLE assignment_files;
DROP TABLE assignments;
