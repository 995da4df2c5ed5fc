//! One file per request (or small family of requests): each takes the server and the
//! request's params, gathers what it needs from the state (a syntax tree, the analysis),
//! asks `features` and converts the answer with `to_proto`. The server (`server.rs`) runs
//! each inside the panic guard.

pub mod code_action;
pub mod completion;
pub mod definition;
pub mod documents;
pub mod formatting;
pub mod hover;
pub mod inlay_hints;
pub mod lifecycle;
pub mod references;
pub mod semantic_tokens;
pub mod symbols;
