//! Domain tests of coaching on a real database.

mod coaching;
