//! The protocol's entry points: each LSP method is handed to its handler inside the panic
//! guard (`guard.rs`), so one bad request answers an internal error and the server goes
//! on. No logic lives here.
//!
//! Most go through tower-lsp-server (`impl LanguageServer`); the requests whose answers
//! can be big are answered by the transport itself (`direct`), their results written as
//! JSON by their handlers (`transport.rs` says why).

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use tower_lsp_server::LanguageServer;
use tower_lsp_server::jsonrpc::{FromParams, Result};
use tower_lsp_server::ls_types::*;

use crate::guard::{notification, request};
use crate::handlers;
use crate::json::Json;
use crate::state::Backend;

/// A request answered by the transport: the server and the request's params, to the JSON
/// text of its result.
pub type Direct = fn(Backend, Option<LSPAny>) -> BoxFuture<'static, Result<Json>>;

/// The handler of `method` if the transport answers it itself.
pub fn direct(method: &str) -> Option<Direct> {
    match method {
        "textDocument/documentSymbol" => Some(|server, params| {
            Box::pin(async move {
                request(
                    &server.client,
                    "textDocument/documentSymbol",
                    handlers::symbols::handle(&server, params_of(params)?),
                )
                .await
            })
        }),
        "textDocument/semanticTokens/full" => Some(|server, params| {
            Box::pin(async move {
                request(
                    &server.client,
                    "textDocument/semanticTokens/full",
                    handlers::semantic_tokens::full(&server, params_of(params)?),
                )
                .await
            })
        }),
        _ => None,
    }
}

/// A request's params, or the invalid-params error tower-lsp-server would answer.
fn params_of<P: DeserializeOwned + Send + 'static>(params: Option<LSPAny>) -> Result<P> {
    <(P,)>::from_params(params).map(|(p,)| p)
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        request(
            &self.client,
            "initialize",
            handlers::lifecycle::initialize(self, params),
        )
        .await
    }

    async fn initialized(&self, _: InitializedParams) {
        notification(
            &self.client,
            "initialized",
            handlers::lifecycle::initialized(self),
        )
        .await
    }

    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        notification(
            &self.client,
            "textDocument/didOpen",
            handlers::documents::did_open(self, params),
        )
        .await
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        notification(
            &self.client,
            "textDocument/didChange",
            handlers::documents::did_change(self, params),
        )
        .await
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        notification(
            &self.client,
            "textDocument/didClose",
            handlers::documents::did_close(self, params),
        )
        .await
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        notification(
            &self.client,
            "workspace/didChangeWatchedFiles",
            handlers::documents::did_change_watched_files(self, params),
        )
        .await
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        request(
            &self.client,
            "textDocument/hover",
            handlers::hover::handle(self, params),
        )
        .await
    }

    async fn completion(&self, params: CompletionParams) -> Result<Option<CompletionResponse>> {
        request(
            &self.client,
            "textDocument/completion",
            handlers::completion::handle(self, params),
        )
        .await
    }

    async fn goto_definition(
        &self,
        params: GotoDefinitionParams,
    ) -> Result<Option<GotoDefinitionResponse>> {
        request(
            &self.client,
            "textDocument/definition",
            handlers::definition::handle(self, params),
        )
        .await
    }

    async fn references(&self, params: ReferenceParams) -> Result<Option<Vec<Location>>> {
        request(
            &self.client,
            "textDocument/references",
            handlers::references::references(self, params),
        )
        .await
    }

    async fn rename(&self, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
        request(
            &self.client,
            "textDocument/rename",
            handlers::references::rename(self, params),
        )
        .await
    }

    async fn inlay_hint(&self, params: InlayHintParams) -> Result<Option<Vec<InlayHint>>> {
        request(
            &self.client,
            "textDocument/inlayHint",
            handlers::inlay_hints::handle(self, params),
        )
        .await
    }

    async fn semantic_tokens_full_delta(
        &self,
        params: SemanticTokensDeltaParams,
    ) -> Result<Option<SemanticTokensFullDeltaResult>> {
        request(
            &self.client,
            "textDocument/semanticTokens/full/delta",
            handlers::semantic_tokens::delta(self, params),
        )
        .await
    }

    async fn semantic_tokens_range(
        &self,
        params: SemanticTokensRangeParams,
    ) -> Result<Option<SemanticTokensRangeResult>> {
        request(
            &self.client,
            "textDocument/semanticTokens/range",
            handlers::semantic_tokens::range(self, params),
        )
        .await
    }

    async fn formatting(&self, params: DocumentFormattingParams) -> Result<Option<Vec<TextEdit>>> {
        request(
            &self.client,
            "textDocument/formatting",
            handlers::formatting::handle(self, params),
        )
        .await
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        request(
            &self.client,
            "textDocument/codeAction",
            handlers::code_action::handle(self, params),
        )
        .await
    }
}
