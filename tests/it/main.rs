//! End-to-end tests, grouped into one binary so they build once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod build;
mod check;
mod cli;
mod fmt;
mod fuzz;
mod k8s;
mod parse;
mod support;
