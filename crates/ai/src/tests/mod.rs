mod assist;
mod questions;
