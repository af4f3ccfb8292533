//! Guild's end-to-end HTTP tests: one binary, the real app in process, real PostgreSQL and Redis.

mod api_keys;
mod assignments;
mod bench;
mod changelog;
mod chat;
mod compliance;
mod cors;
mod duties;
mod emails;
mod gamification;
mod identity;
mod jobs;
mod links;
mod media;
mod modules;
mod notifications;
mod openapi;
mod ops;
mod problems;
mod progress;
mod quizzes;
mod realtime;
mod resilience;
mod security;
mod shutdown;
