//! HTTP handlers, one module per area. Each handler extracts and validates its input, calls one
//! domain function and maps the result to a DTO.

pub mod ops;
