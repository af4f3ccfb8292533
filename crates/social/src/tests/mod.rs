//! Domain tests of social on a real database, one file per capability.

mod chat;
mod discussions;
mod feed;
mod suggestions;
