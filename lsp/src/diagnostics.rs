//! Diagnostics as you type: each change of a document schedules a re-diagnosis after a
//! quiet period; the analysis of the deployment (shared with the requests) is published
//! for every file of the deployment, only if no newer change arrived, tagged with its
//! version, one publication at a time. Files that left the deployment get theirs cleared.

use std::collections::BTreeSet;
use std::time::Duration;

use tower_lsp_server::ls_types::Uri;

use crate::jobs::JobError;
use crate::state::{Backend, blocking, lock};
use crate::to_proto;

/// How long the client must be quiet before a document is re-analysed: a quarter of the
/// last analysis's time, between 10 and 80 ms. An analysis that has started runs to its
/// end even when the next keystroke makes it stale, so the quiet period saves work in
/// proportion to an analysis's cost; a fast one (the session re-parses only what changed)
/// is started almost at once. Changes that arrive together (one `didChange` after
/// another, as some editors send a multi-cursor edit) still make one analysis.
fn quiet_period(last_analysis: Duration) -> Duration {
    (last_analysis / 4).clamp(Duration::from_millis(10), Duration::from_millis(80))
}

impl Backend {
    /// Re-diagnose `uri` after the quiet period.
    pub fn schedule(&self, uri: Uri) {
        let (generation, quiet) = {
            let mut st = lock(&self.inner);
            let quiet = quiet_period(st.analysis_time);
            let g = st.generation.entry(uri.as_str().to_string()).or_insert(0);
            *g += 1;
            (*g, quiet)
        };
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(quiet).await;
            this.diagnose(uri, generation).await;
        });
    }

    pub async fn diagnose(&self, uri: Uri, generation: u64) {
        let key = uri.as_str();
        loop {
            if !self.current(key, generation) {
                return;
            }
            let Some((job, epoch, version)) = self.analysis_job(key) else {
                return;
            };
            let snap = match job.wait().await {
                Ok(snap) => snap,
                // Superseded by another document's change: analyse the new state (a
                // change of this document has its own, newer generation).
                Err(JobError::Skipped) if lock(&self.inner).epoch != epoch => continue,
                Err(JobError::Skipped) => return,
                Err(JobError::Failed(message)) => {
                    self.client
                        .log_message(
                            tower_lsp_server::ls_types::MessageType::ERROR,
                            format!("kumoc panicked in the analysis: {message}"),
                        )
                        .await;
                    return;
                }
            };
            if !self.current(key, generation) {
                return;
            }
            let enc = self.encoding();
            let Ok(per_file) = blocking(move || to_proto::file_diagnostics(&snap, enc)).await
            else {
                return;
            };
            let _turn = self.inner.publishing.lock().await;
            let stale: Vec<String> = {
                let mut st = lock(&self.inner);
                if st.generation.get(key).copied() != Some(generation) || !st.docs.contains_key(key)
                {
                    return;
                }
                let now: BTreeSet<String> = per_file.iter().map(|(u, _)| u.clone()).collect();
                let before = st.published.insert(key.to_string(), now.clone());
                before
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|u| !now.contains(u) && !st.docs.contains_key(u))
                    .collect()
            };
            for gone in stale {
                if let Ok(target) = gone.parse::<Uri>() {
                    self.client
                        .publish_diagnostics(target, Vec::new(), None)
                        .await;
                }
            }
            for (file_uri, diags) in per_file {
                let Ok(target) = file_uri.parse::<Uri>() else {
                    continue;
                };
                let v = (file_uri == key).then_some(version);
                self.client.publish_diagnostics(target, diags, v).await;
            }
            return;
        }
    }

    /// Every open document is re-diagnosed (after a change on disk).
    pub fn reschedule_all(&self) {
        let uris: Vec<String> = {
            let mut st = lock(&self.inner);
            st.bump();
            st.docs.keys().cloned().collect()
        };
        for u in uris {
            if let Ok(uri) = u.parse::<Uri>() {
                self.schedule(uri);
            }
        }
    }
}
