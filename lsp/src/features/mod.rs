//! Editor features over the syntax tree, the schema and the analysis. Pure functions that
//! answer in kumoc's own terms (byte spans, Markdown, names); `to_proto` turns the answers
//! into LSP types and the handlers decide what each request needs.

pub mod code_actions;
pub mod completion;
pub mod hover;
pub mod inlay_hints;
pub mod navigation;
pub mod presets;
pub mod semantic_tokens;
pub mod summary;
pub mod symbols;
pub mod target;
