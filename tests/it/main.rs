//! End-to-end tests, grouped into one binary so they build once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod abuse;
mod build;
mod check;
mod cli;
mod defaults;
mod determinism;
mod dns;
mod exposure;
mod fixes;
mod fmt;
mod fuzz;
mod graph;
mod helper_schemas;
mod hostile;
mod import;
mod k8s;
mod k8s_rules;
mod links;
mod lints;
mod lsp;
mod lua_harness;
mod observability;
mod outdir;
mod parse;
mod pipeline;
mod pods;
mod policy;
mod property;
mod releases;
mod route;
mod scale;
mod session;
mod support;
mod vault;
mod warmup;
mod webhooks;
