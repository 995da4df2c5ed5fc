//! Document notifications: open, change, close, and changes of watched files on disk.
//! Each stores the new state (a new epoch) and schedules diagnostics; nothing here waits
//! for a parse or an analysis.

use tower_lsp_server::ls_types::*;

use crate::state::{Backend, lock};
use crate::syntax::Syntax;
use crate::text::Encoding;
use crate::trace::trace;
use crate::workspace::Doc;

pub async fn did_open(server: &Backend, params: DidOpenTextDocumentParams) {
    let d = params.text_document;
    let doc = Doc::new(d.text, d.version);
    server.store(&mut lock(&server.inner), d.uri.as_str(), doc);
    server.schedule(d.uri);
}

pub async fn did_change(server: &Backend, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    trace!("didChange v{version}: start");
    let (current, base, enc) = {
        let st = lock(&server.inner);
        let current = st.docs.get(uri.as_str()).map(|d| d.doc.clone());
        let base = st.latest_syntax.get(uri.as_str()).cloned();
        (current, base, st.encoding.unwrap_or(Encoding::Utf16))
    };
    // The edits are applied without the lock (handlers run one at a time, in order).
    let doc = match current {
        Some(d) if d.version > version => return,
        Some(d) => Doc {
            text: d.text.edited(params.content_changes, enc),
            version,
        },
        // Not open: only a full text can be taken.
        None => match params
            .content_changes
            .into_iter()
            .rfind(|c| c.range.is_none())
        {
            Some(c) => Doc::new(c.text, version),
            None => return,
        },
    };
    trace!("didChange v{version}: applied");
    // An edit inside a statement or two is re-parsed here, so a completion right behind
    // it waits for no other thread (a busy machine delays each wake-up).
    let syntax = base.and_then(|base| Syntax::reparse_small(&base, &doc));
    trace!("didChange v{version}: parsed here: {}", syntax.is_some());
    server.store_parsed(&mut lock(&server.inner), uri.as_str(), doc, syntax);
    server.schedule(uri);
    trace!("didChange v{version}: stored");
}

pub async fn did_close(server: &Backend, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    let (clear, _dropped) = {
        let mut st = lock(&server.inner);
        let doc = st.docs.remove(uri.as_str());
        let syntax = st.latest_syntax.remove(uri.as_str());
        st.summaries.remove(uri.as_str());
        st.tokens.remove(uri.as_str());
        let baseline = st.baselines.remove(uri.as_str());
        *st.generation.entry(uri.as_str().to_string()).or_insert(0) += 1;
        st.bump();
        let analysis = st.analyses.remove(uri.as_str());
        // What this document's analysis showed for files that are not open.
        let mut clear: Vec<String> = st
            .published
            .remove(uri.as_str())
            .unwrap_or_default()
            .into_iter()
            .filter(|u| !st.docs.contains_key(u))
            .collect();
        if !clear.iter().any(|u| u == uri.as_str()) {
            clear.push(uri.as_str().to_string());
        }
        for u in &clear {
            st.shown.remove(u);
        }
        (clear, (doc, syntax, analysis, baseline))
    };
    let _turn = server.inner.publishing.lock().await;
    for u in clear {
        if let Ok(target) = u.parse::<Uri>() {
            server
                .client
                .publish_diagnostics(target, Vec::new(), None)
                .await;
        }
    }
}

pub async fn did_change_watched_files(server: &Backend, _: DidChangeWatchedFilesParams) {
    server.reschedule_all();
}
