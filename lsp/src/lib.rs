//! The kumoc language server: LSP over stdio (tower-lsp-server, tokio), using the very
//! same `kumoc_compiler::analyze` as the CLI, so the editor and CI never disagree.
//!
//! Rooms, one job each (ARCHITECTURE.md has the whole map):
//!
//! - `transport.rs`: stdio: messages framed, dispatched in order to tower-lsp-server's
//!   service, and the big answers written as JSON by their handlers (`json.rs`);
//! - `server.rs`: the protocol's entry points, each handed to its handler inside the panic
//!   guard (`guard.rs`: a panic answers an internal error and the server goes on);
//! - `state.rs`: documents, epochs and generations, and the jobs (`jobs.rs`) computed once
//!   off the async threads and shared: the syntax tree of a version, the analysis of a
//!   deployment at an epoch; `diagnostics.rs` publishes the analyses as you type;
//! - `handlers/`: one file per request (or small family);
//! - `features/`: what is at a position, completion, hover, navigation, outline, semantic
//!   tokens, inlay hints, code actions, presets: pure functions in kumoc's own terms;
//! - `from_proto.rs` / `to_proto.rs`: every conversion between LSP types and kumoc's
//!   (`text.rs`: byte offsets ↔ positions); `capabilities.rs`: what the server offers;
//! - `workspace.rs`: which files make a document's deployment, and the analysis of it.

// stdout is the protocol: nothing else may ever be written there.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod capabilities;
mod diagnostics;
mod features;
mod from_proto;
mod guard;
mod handlers;
mod jobs;
mod json;
mod rope;
mod server;
mod state;
mod stdlib_files;
mod syntax;
mod text;
mod to_proto;
mod trace;
mod transport;
mod workspace;

use tower_lsp_server::LspService;

use crate::state::Backend;

/// Where rule and code documentation is published.
pub const DOCS_BASE: &str = "https://github.com/kumoc/kumoc/blob/main/docs/rules/";

/// Requests (and notifications) handled at once. Requests waiting for an analysis hold a
/// slot, so this is well above the default 4: a completion must never queue behind them.
const CONCURRENCY: usize = 64;

/// Serve LSP on stdin/stdout until the client exits (`transport.rs`).
pub async fn run_stdio() {
    guard::install_hook();
    let (service, socket) = LspService::new(Backend::new);
    transport::serve(service, socket, CONCURRENCY).await;
    stdlib_files::remove();
}
