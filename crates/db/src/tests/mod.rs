//! Database-layer tests, each against its own fresh database.

mod clock;
mod errors;
mod member_jobs;
mod migrations;
mod outbox;
mod ownership;
mod schedules;
mod tx;
