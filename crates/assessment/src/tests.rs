//! Domain tests of assessment.
