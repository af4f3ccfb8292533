//! Domain tests of webhooks on a real database.

mod endpoints;
