//! One bad request cannot take the server down: every handler runs inside
//! [`catch_unwind`](std::panic::catch_unwind) (for its async part) and its blocking work
//! runs on tokio's pool (a panic there comes back as an error). A panic answers the request
//! with an internal error, is logged to the client (`window/logMessage`) and to stderr, and
//! the server keeps serving.
//!
//! For tests, `KUMOC_LSP_PANIC` names places that panic on purpose (comma-separated): a
//! method (`textDocument/hover`, `textDocument/didChange`, ...) panics inside its handler,
//! `analysis` inside the analysis job on the blocking pool. Unset, nothing panics.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::MessageType;

/// The places named by `KUMOC_LSP_PANIC`.
static PANIC_AT: LazyLock<Vec<String>> = LazyLock::new(|| {
    std::env::var("KUMOC_LSP_PANIC")
        .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
        .unwrap_or_default()
});

/// Panic if the tests asked for a panic at `place`.
#[allow(clippy::panic)]
pub fn test_panic(place: &str) {
    if PANIC_AT.iter().any(|p| p == place) {
        panic!("KUMOC_LSP_PANIC: a test asked for a panic in {place}");
    }
}

/// Replace the process's panic hook (the CLI's exits): a panic is written to stderr, which
/// editors keep as the server's log, and unwinds to the request's guard.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "kumoc lsp {}: internal error: {info} (the request fails, the server goes on)",
            env!("CARGO_PKG_VERSION")
        );
    }));
}

/// The message of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// An internal error for a panic at `place`.
pub fn panicked(place: &str, payload: &(dyn Any + Send)) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: format!("kumoc panicked in {place}: {}", panic_message(payload)).into(),
        data: None,
    }
}

/// A future that turns a panic while it is polled into `Err(payload)`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = std::thread::Result<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let fut = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(move || fut.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// Run the handler of request `method`: a panic (here or in its blocking work) becomes an
/// internal error, logged to the client.
pub async fn request<T>(
    client: &Client,
    method: &'static str,
    handler: impl Future<Output = Result<T>>,
) -> Result<T> {
    let guarded = CatchUnwind(Box::pin(async move {
        test_panic(method);
        handler.await
    }));
    let result = match guarded.await {
        Ok(result) => result,
        Err(payload) => Err(panicked(method, payload.as_ref())),
    };
    if let Err(e) = &result {
        if e.code == ErrorCode::InternalError {
            client
                .log_message(MessageType::ERROR, format!("{method}: {}", e.message))
                .await;
        }
    }
    result
}

/// Run the handler of notification `method`: a panic is logged to the client.
pub async fn notification(
    client: &Client,
    method: &'static str,
    handler: impl Future<Output = ()>,
) {
    let guarded = CatchUnwind(Box::pin(async move {
        test_panic(method);
        handler.await
    }));
    if let Err(payload) = guarded.await {
        let e = panicked(method, payload.as_ref());
        client
            .log_message(MessageType::ERROR, format!("{method}: {}", e.message))
            .await;
    }
}
