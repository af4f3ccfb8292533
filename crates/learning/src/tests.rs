//! Domain tests of learning content.
