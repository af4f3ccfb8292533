//! Domain tests of live events on a real database.

mod events;
