//! Diagnostics as you type: each change of a document schedules a re-diagnosis, at once
//! after a pause, after a quiet period within a burst of changes. First the quick
//! diagnostics of the version (`kumoc_compiler::session::Baseline::quick`: the last full
//! analysis's findings where the edits changed nothing, the checks of the statements they
//! changed), when they cannot flicker; then the analysis of the deployment (shared with
//! the requests). Each is published only if no newer change arrived, one publication at a
//! time: the document's own diagnostics, tagged with its version, and (the analysis's)
//! those of the deployment's other files that differ from what the client was last sent
//! for them. Files that left the deployment get theirs cleared.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use tower_lsp_server::ls_types::{Diagnostic, Uri};

use std::sync::Arc;

use kumoc_compiler::Options;

use crate::jobs::{JobError, Shared};
use crate::state::{Backend, Baseline, blocking, lock};
use crate::syntax::Syntax;
use crate::to_proto;
use crate::trace::trace;
use crate::workspace::Snapshot;

/// Whether quick diagnostics are published (`KUMOC_LSP_QUICK_DIAGNOSTICS=off`: only the
/// full analysis's, for tests that snapshot what a version's diagnostics end up as).
static QUICK: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
    std::env::var("KUMOC_LSP_QUICK_DIAGNOSTICS").map_or(true, |v| v != "off")
});

/// The base of the quick diagnostics of `uri`'s next versions, from its analysis `snap`:
/// when the analysis had the document's pieces and its text is the document's.
fn baseline_of(snap: &Snapshot, uri: &str) -> Option<Baseline> {
    let (text, pieces) = snap.own.as_ref()?;
    let file = snap.file_of(uri)?;
    let source = snap.analysis.sources.get(file)?;
    if *source.text != ***text {
        return None;
    }
    Some(Baseline {
        text: Arc::clone(text),
        pieces: pieces.clone(),
        found: kumoc_compiler::session::Baseline::of(&snap.analysis, file, &Options::default()),
    })
}

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
        let mut first = true;
        loop {
            if !self.current(key, generation) {
                return;
            }
            // The eager re-parse of this version is under way: the analysis takes its pieces
            // rather than re-parsing the edit itself.
            let syntax = self.syntax(&uri).await;
            if std::mem::take(&mut first)
                && let Ok(Some(syntax)) = syntax
            {
                self.publish_quick(&uri, generation, syntax).await;
            }
            self.hold_off().await;
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
            let for_key = key.to_string();
            let Ok((per_file, baseline)) = blocking(move || {
                trace!("publish: start");
                let baseline = baseline_of(&snap, &for_key);
                let per_file = to_proto::file_diagnostics(&snap, enc);
                trace!("publish: converted");
                (per_file, baseline)
            })
            .await
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
                match baseline {
                    Some(b) => st.baselines.insert(key.to_string(), Arc::new(b)),
                    None => st.baselines.remove(key),
                };
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

    /// The quick diagnostics of the document's version `syntax` (see
    /// `kumoc_compiler::session::Baseline::quick`), published at once if that version is
    /// still the latest: the diagnostics its last full analysis published for the
    /// statements the edits since left alone, and the syntax errors and checks of those
    /// they changed. The full analysis's follow. Nothing when they could flicker.
    async fn publish_quick(&self, uri: &Uri, generation: u64, syntax: Shared<Syntax>) {
        if !*QUICK {
            return;
        }
        let key = uri.as_str();
        let (base, version) = {
            let st = lock(&self.inner);
            let (Some(base), Some(open)) = (st.baselines.get(key), st.docs.get(key)) else {
                return;
            };
            // Only for the current version, and one that changed since the baseline.
            if !syntax.text.same(&open.doc.text) || syntax.text.is_flat(&base.text) {
                return;
            }
            (Arc::clone(base), open.doc.version)
        };
        let enc = self.encoding();
        let target = uri.clone();
        let Ok(Some(diags)) = blocking(move || {
            trace!("quick: start");
            let found = base.found.quick(
                (&base.text, &base.pieces),
                (syntax.text.flat(), &syntax.pieces),
                &Options::default(),
            )?;
            trace!("quick: found");
            let lines = syntax.lines();
            let file = base.found.file();
            Some(
                found
                    .iter()
                    .map(|d| to_proto::diagnostic_in(d, file, &target, &lines, enc))
                    .collect::<Vec<Diagnostic>>(),
            )
        })
        .await
        else {
            return;
        };
        let _turn = self.inner.publishing.lock().await;
        {
            let mut st = lock(&self.inner);
            if st.generation.get(key).copied() != Some(generation) || !st.docs.contains_key(key) {
                return;
            }
            st.shown.insert(key.to_string(), diags.clone());
        }
        self.client
            .publish_diagnostics(uri.clone(), diags, Some(version))
            .await;
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
