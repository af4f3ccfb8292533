//! Email delivery: SMTP (lettre) and the development recorder.
