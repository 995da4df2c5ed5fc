//! End-to-end tests, grouped into one binary so they build once.

mod check;
mod cli;
mod fmt;
mod fuzz;
mod parse;
mod support;
