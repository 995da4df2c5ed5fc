//! `initialize` (capabilities, position encoding), `initialized` (file watchers),
//! `shutdown`.

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;

use crate::capabilities;
use crate::from_proto;
use crate::state::{Backend, lock};

pub async fn initialize(server: &Backend, params: InitializeParams) -> Result<InitializeResult> {
    let enc = from_proto::encoding(&params.capabilities);
    let watch_files = params
        .capabilities
        .workspace
        .as_ref()
        .and_then(|w| w.did_change_watched_files.as_ref())
        .and_then(|d| d.dynamic_registration)
        .unwrap_or(false);
    {
        let mut st = lock(&server.inner);
        st.encoding = Some(enc);
        st.watch_files = watch_files;
    }
    Ok(InitializeResult {
        capabilities: capabilities::server_capabilities(enc),
        server_info: Some(ServerInfo {
            name: "kumoc".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        ..Default::default()
    })
}

pub async fn initialized(server: &Backend) {
    if !lock(&server.inner).watch_files {
        return;
    }
    // Sibling `.kumo` files are part of a document's deployment: re-check on changes.
    let options = DidChangeWatchedFilesRegistrationOptions {
        watchers: vec![FileSystemWatcher {
            glob_pattern: GlobPattern::String("**/*.kumo".into()),
            kind: None,
        }],
    };
    let registration = Registration {
        id: "kumoc-watch-kumo".into(),
        method: "workspace/didChangeWatchedFiles".into(),
        register_options: serde_json::to_value(options).ok(),
    };
    let _ = server.client.register_capability(vec![registration]).await;
}
