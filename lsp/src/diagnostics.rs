//! Diagnostics as you type: each change of a document schedules a re-diagnosis, at once
//! after a pause, after a quiet period within a burst of changes. The analysis of the
//! deployment (shared with the requests) is published only if no newer change arrived, one
//! publication at a time: the document's own diagnostics, tagged with its version, and
//! those of the deployment's other files that differ from what the client was last sent
//! for them. Files that left the deployment get theirs cleared.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::{Diagnostic, Uri};

use crate::jobs::JobError;
use crate::state::{Backend, blocking, lock};
use crate::to_proto;

/// How long to wait after a change before re-analysing. A change that comes after a pause
/// (the previous change is older than the burst period) is analysed at once, after only
/// [`COALESCE`]: the user waits for its diagnostics, and nothing suggests another change
/// is coming. A change that comes in a burst (the previous one is more recent than the
/// burst period) waits for the burst period, a quarter of the last analysis's time,
/// between 10 and 80 ms: an analysis that has started runs to its end even when the next
/// keystroke makes it stale, so waiting saves work in proportion to an analysis's cost
/// while keys follow each other faster than that. (Analyses are one at a time and one
/// that is stale when its turn comes is skipped, so a burst never queues up work.)
fn quiet_period(last_analysis: Duration, since_last_change: Option<Duration>) -> Duration {
    let burst = (last_analysis / 4).clamp(Duration::from_millis(10), Duration::from_millis(80));
    match since_last_change {
        Some(gap) if gap < burst => burst,
        _ => COALESCE,
    }
}

/// The wait of a change after a pause: changes that arrive together (one `didChange` after
/// another, as some editors send a multi-cursor edit) still make one analysis.
const COALESCE: Duration = Duration::from_millis(2);

impl Backend {
    /// Re-diagnose `uri` after the quiet period (a change of it).
    pub fn schedule(&self, uri: Uri) {
        let quiet = self.changed();
        self.schedule_after(uri, quiet);
    }

    /// A change: when it came decides how long to wait before analysing it.
    fn changed(&self) -> Duration {
        let mut st = lock(&self.inner);
        let now = Instant::now();
        let since = st.last_change.map(|t| now.saturating_duration_since(t));
        st.last_change = Some(now);
        quiet_period(st.analysis_time, since)
    }

    fn schedule_after(&self, uri: Uri, quiet: Duration) {
        let generation = {
            let mut st = lock(&self.inner);
            let g = st.generation.entry(uri.as_str().to_string()).or_insert(0);
            *g += 1;
            *g
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
            // The eager re-parse of this version is under way: the analysis takes its pieces
            // rather than re-parsing the edit itself.
            let _ = self.syntax(&uri).await;
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
            let (stale, per_file) = {
                let mut st = lock(&self.inner);
                if st.generation.get(key).copied() != Some(generation) || !st.docs.contains_key(key)
                {
                    return;
                }
                let now: BTreeSet<String> = per_file.iter().map(|(u, _)| u.clone()).collect();
                let before = st.published.insert(key.to_string(), now.clone());
                let stale: Vec<String> = before
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|u| !now.contains(u) && !st.docs.contains_key(u))
                    .collect();
                for gone in &stale {
                    st.shown.remove(gone);
                }
                // The document's own diagnostics go out with each of its versions; another
                // file's only when they are not what the client shows already.
                let changed: Vec<(String, Vec<Diagnostic>)> = per_file
                    .into_iter()
                    .filter(|(u, diags)| u == key || st.shown.get(u) != Some(diags))
                    .collect();
                for (u, diags) in &changed {
                    st.shown.insert(u.clone(), diags.clone());
                }
                (stale, changed)
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

    /// Every open document is re-diagnosed (after a change on disk: one change).
    pub fn reschedule_all(&self) {
        let quiet = self.changed();
        let uris: Vec<String> = {
            let mut st = lock(&self.inner);
            st.bump();
            st.docs.keys().cloned().collect()
        };
        for u in uris {
            if let Ok(uri) = u.parse::<Uri>() {
                self.schedule_after(uri, quiet);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_after_a_pause_is_analysed_at_once_one_in_a_burst_waits() {
        let ms = Duration::from_millis;
        // The first change, and one after a pause: at once.
        assert_eq!(quiet_period(ms(100), None), COALESCE);
        assert_eq!(quiet_period(ms(100), Some(ms(500))), COALESCE);
        assert_eq!(quiet_period(ms(100), Some(ms(25))), COALESCE);
        // In a burst: a quarter of the last analysis, between 10 and 80 ms.
        assert_eq!(quiet_period(ms(100), Some(ms(24))), ms(25));
        assert_eq!(quiet_period(ms(1), Some(ms(5))), ms(10));
        assert_eq!(quiet_period(ms(2000), Some(ms(50))), ms(80));
    }
}
