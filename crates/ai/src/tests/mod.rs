mod questions;
