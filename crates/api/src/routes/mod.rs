//! HTTP handlers, one module per area. Each handler extracts and validates its input, calls one
//! domain function and maps the result to a DTO.

pub mod api_keys;
pub mod assignments;
pub mod audit;
pub mod auth;
pub(crate) mod common;
pub mod compliance;
mod constraints;
pub mod gamification;
pub mod groups;
pub mod media;
pub mod members;
pub mod modules;
pub mod notifications;
pub mod ops;
pub mod preferences;
pub mod progress;
pub mod quizzes;
pub mod stream;
pub mod tenants;
pub mod versions;
