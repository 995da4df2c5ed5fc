//! The kumoc language server. Empty until the LSP issue: it will speak LSP over stdio and
//! call the very same `kumoc_compiler::analyze` as the CLI.
