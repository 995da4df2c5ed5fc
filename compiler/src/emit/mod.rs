//! Emitters: the checked deployment model in, files out (as data; the CLI writes them, each
//! as it is produced: [`Sink`], [`emit_into`]).
//!
//! The emitters read the deployment model and, for the comments, the [`Places`] index of
//! the sources, nothing else of the analysis. Whether there is anything to emit is the
//! caller's decision: only the model of an analysis without errors is emitted
//! ([`crate::Analysis::checked_model`]). Emitting never fails on such a model; anything an
//! emitter cannot express is a checker error first.
//!
//! Output is byte-for-byte deterministic: ordered maps, no clocks, no randomness, no paths
//! from the build machine (files are named relative to the deployment's directory), no line
//! numbers (values name their place in the deployment, see [`provenance`]), so the same
//! deployment gives the same bytes wherever it is built and edits that change no meaning
//! change no byte.
//!
//! - `kumomta/`: the KumoMTA policy (Lua and the helpers' TOML files);
//! - `k8s/`: the Kubernetes manifests, one room per workload (names and paths come from
//!   [`crate::names`], so the policy and the manifests agree);
//! - `provenance.rs`: the place of each value, for the comments.

pub mod k8s;
pub mod kumomta;
pub mod provenance;

use std::collections::BTreeMap;

use crate::model::Deployment;
use crate::source::Sources;

pub use provenance::{Places, PlacesBuilder, Provenance};

/// The emitted files: path relative to the output directory → content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub files: BTreeMap<String, String>,
}

impl Output {
    pub fn add(&mut self, path: impl Into<String>, content: String) {
        self.files.insert(path.into(), content);
    }
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there is no file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where emitted files go, one at a time, as each is produced ([`emit_into`]): a sink that
/// writes each out and forgets it (`kumoc build`) never holds the whole output, of which the
/// data shards and their ConfigMaps are nearly all (24 MB at 10,000 domains).
pub trait Sink {
    /// Why a file could not be taken: the emitter stops at the first.
    type Error: Send;

    /// The file at `path` (relative to the output directory) holds `content` (UTF-8).
    fn file(&mut self, path: &str, content: &[u8]) -> Result<(), Self::Error>;

    /// [`Self::file`], for a text the sink may keep without a copy.
    fn text(&mut self, path: String, content: String) -> Result<(), Self::Error> {
        self.file(&path, content.as_bytes())
    }

    /// A sink into the same place for a second thread ([`Self::fork`]).
    type Fork: Sink<Error = Self::Error> + Send;

    /// A sink that takes files into the same place as this one, from a second thread (the
    /// ConfigMaps of the data shards are written on one while this one takes the shards,
    /// see `write_cut`); what it took is this sink's once [`Self::join`]ed. `None` (the
    /// default): every file comes here, on one thread.
    fn fork(&self) -> Option<Self::Fork> {
        None
    }

    /// Take back a fork's files (see [`Self::fork`]).
    fn join(&mut self, fork: Self::Fork) {
        let _ = fork;
    }
}

/// Collects every file.
impl Sink for Output {
    type Error = std::convert::Infallible;
    type Fork = Output;

    fn fork(&self) -> Option<Output> {
        Some(Output::default())
    }

    fn join(&mut self, fork: Output) {
        self.files.extend(fork.files);
    }

    fn file(&mut self, path: &str, content: &[u8]) -> Result<(), Self::Error> {
        let text = String::from_utf8_lossy(content).into_owned();
        self.files.insert(path.to_string(), text);
        Ok(())
    }

    fn text(&mut self, path: String, content: String) -> Result<(), Self::Error> {
        self.files.insert(path, content);
        Ok(())
    }
}

/// Emit everything for the model of an error-free analysis, with each value's place from
/// `places` ([`Places::new`], built from the analysis's syntax trees, which the caller may
/// free afterwards: a large deployment's trees are a quarter of its memory).
///
/// The caller decides whether there is anything to emit: a model is only emitted when its
/// analysis has no error ([`crate::Analysis::checked_model`]); anything an emitter cannot
/// express is a checker error first.
pub fn emit(model: &Deployment, places: &Places) -> Output {
    collect(model, places, true)
}

/// [`emit`], each file handed to `sink` as soon as it is produced (the data shards and their
/// ConfigMaps one at a time, as each shard is cut; see [`Sink`]), in no particular order;
/// returns the number of files. Stops at the sink's first error.
/// `threads`: how many threads may write (at most two: the large data files are written
/// in two parts, see `kumomta::Threads`); the output is the same whatever it is.
pub fn emit_into<S: Sink>(
    model: &Deployment,
    places: &Places,
    threads: usize,
    sink: &mut S,
) -> Result<usize, S::Error> {
    let threads = if threads >= 2 {
        kumomta::Threads::Two { from: PARTED_FROM }
    } else {
        kumomta::Threads::One
    };
    emit_inner(model, places, true, threads, sink)
}

/// The entries of a data file's list from which it is written in two parts when two threads
/// may write. The second thread costs most of a megabyte of peak memory (its allocator's own
/// pages: 0.7 MB at 10,000 domains, where the data files are the peak, 35.0 -> 35.7 MiB,
/// under the 38.1 MiB of 4 KB a domain since the binary's code is laid out together, see
/// `build.rs`), about 70 bytes a domain from here; at 100,000 domains the peak is elsewhere
/// (the analysis) and does not move. Written in parts, 10,000 domains' emit took 24.3 ->
/// 17.4 ms, 100,000 domains' 284 -> 234 ms (alternated). Below it, a build is over in a few
/// milliseconds and a thread saves little.
const PARTED_FROM: usize = 8_192;

/// The output in canonical form: the same files with no comments in the policy files. The
/// pod-template checksums cover exactly this (the Lua policies' canonical digests), so a change
/// that only touches comments never rolls the pods; tests check that KumoMTA's consumers
/// read it exactly as they read [`emit`]'s.
pub fn emit_canonical(model: &Deployment, places: &Places) -> Output {
    collect(model, places, false)
}

/// Every file, collected.
fn collect(model: &Deployment, places: &Places, comments: bool) -> Output {
    let mut out = Output::default();
    match emit_inner(model, places, comments, kumomta::Threads::One, &mut out) {
        Ok(_) => out,
        Err(never) => match never {},
    }
}

/// The output, into `sink`; `comments`: whether the policy files have their comments.
fn emit_inner<S: Sink>(
    model: &Deployment,
    places: &Places,
    comments: bool,
    threads: kumomta::Threads,
    sink: &mut S,
) -> Result<usize, S::Error> {
    let prov = Provenance::new(places, comments);
    let mut out = Output::default();
    // Each data file's shards and their ConfigMaps (the same text, indented) go to the sink
    // as the file is cut, written into buffers reused for all (about 150 KB a shard; with
    // two threads, the ConfigMaps on the second, see `write_cut`).
    let maps = k8s::ShardMaps::new(model);
    let mut buffers = Buffers::default();
    let mut count = 0;
    let (digests, shards) = kumomta::emit(model, &prov, threads, &mut out, &mut |cut, two| {
        count += 2 * cut.count();
        write_cut(cut, two, &maps, sink, &mut buffers)
    })?;
    drop((maps, buffers));
    let policy = out
        .files
        .iter()
        .filter(|(k, _)| k.starts_with("policy/"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut manifests = Output::default();
    // A value the manifests derive from a KumoMTA setting names that setting's place (a
    // comment: not in the canonical form).
    let queue_stuck_from = model
        .cluster
        .metrics
        .alerts
        .as_ref()
        .filter(|a| !a.queue_stuck_written)
        .and_then(|a| a.longest_max_age_at)
        .filter(|_| comments)
        .map(|loc| prov.at(loc));
    let inputs = k8s::Inputs {
        policy,
        digests,
        shards,
        queue_stuck_from,
    };
    k8s::emit(model, &inputs, &mut manifests);
    drop(inputs);
    for (path, text) in out.files.into_iter().chain(manifests.files) {
        sink.text(path, text)?;
        count += 1;
    }
    Ok(count)
}

/// The buffers the data shards and their ConfigMaps are written into, reused from shard to
/// shard and file to file: the shards' text, and with two threads the second thread's copy of
/// it, and the ConfigMaps'.
#[derive(Default)]
struct Buffers {
    text: String,
    beside: String,
    map: Vec<u8>,
}

/// Write out the shards of one data file and their ConfigMaps (`maps`), into `sink`.
///
/// On one thread, each shard and then its ConfigMap. With `two` (the file was written in
/// two parts on two threads) and a sink that forks ([`Sink::fork`]), the ConfigMaps are
/// written on a second thread, into the fork, while this one writes the shards: each thread
/// cuts every shard for itself (a copy of its pieces, a tenth of the work), so they never
/// wait for each other. Writing the files into the page cache (the kernel's work) is most
/// of this, and the shards and their ConfigMaps are 23 of the 24 MB a 10,000-domain build
/// writes: written on two threads, `--timings`' write went 15.1 -> 8.2 ms and the build
/// 95 -> 88 ms (100,000 domains: 894 -> 871 ms; tmpfs, alternated), for 0.5-0.8 MB more
/// peak (the second copy of a shard, the thread's own memory). The bytes are the same; the
/// order in which the sink gets them differs (a sink takes files in no particular order). A
/// failure on either thread stops both; this thread's error comes first.
fn write_cut<S: Sink>(
    cut: &kumomta::shard::Split<'_>,
    two: bool,
    maps: &k8s::ShardMaps<'_>,
    sink: &mut S,
    b: &mut Buffers,
) -> Result<(), S::Error> {
    let plain = cut.plain();
    let fork = if two && cut.count() >= 2 {
        sink.fork()
    } else {
        None
    };
    let Some(mut fork) = fork else {
        for i in 0..cut.count() {
            let path = format!("policy/{}", cut.write(i, &mut b.text));
            sink.file(&path, b.text.as_bytes())?;
            let map = maps.write(&path, (&b.text, plain), &mut b.map);
            sink.file(&map, &b.map)?;
        }
        return Ok(());
    };
    // The buffers are grown here, to the largest shard (its ConfigMap: a fourth more for
    // the indent, and its header), so their memory stays this thread's: what a thread that
    // has ended allocated is not reused by the others.
    let largest = cut.largest();
    b.text.reserve(largest);
    b.beside.reserve(largest);
    b.map.reserve(largest + largest / 4 + 4096);
    let (mut text, mut map) = (std::mem::take(&mut b.beside), std::mem::take(&mut b.map));
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let beside = scope.spawn(|| {
            let written = each_shard(cut.count(), &stop, |i| {
                let path = format!("policy/{}", cut.write(i, &mut text));
                let file = maps.write(&path, (&text, plain), &mut map);
                fork.file(&file, &map)
            });
            (fork, text, map, written)
        });
        let written = each_shard(cut.count(), &stop, |i| {
            let path = format!("policy/{}", cut.write(i, &mut b.text));
            sink.file(&path, b.text.as_bytes())
        });
        // A panic there is one here, as on one thread.
        let (fork, text, map, theirs) = beside
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        sink.join(fork);
        (b.beside, b.map) = (text, map);
        written.and(theirs)
    })
}

/// `write` for each of `count` shards, in order, on one of [`write_cut`]'s two threads:
/// stops at its first error, which stops the other thread too (`stop`), or once the other
/// thread has stopped.
fn each_shard<E>(
    count: usize,
    stop: &std::sync::atomic::AtomicBool,
    mut write: impl FnMut(usize) -> Result<(), E>,
) -> Result<(), E> {
    use std::sync::atomic::Ordering::Relaxed;
    for i in 0..count {
        if stop.load(Relaxed) {
            break;
        }
        let written = write(i);
        if written.is_err() {
            stop.store(true, Relaxed);
            return written;
        }
    }
    Ok(())
}

/// The Secret manifests for `kumoc build --secrets`, from contents the caller read from the
/// files the `secret` blocks name (see [`secret_files`]), for the model of an error-free
/// analysis.
pub fn secrets(model: &Deployment, contents: &k8s::SecretContents) -> Output {
    let mut out = Output::default();
    k8s::emit_secrets(model, contents, &mut out);
    out
}

/// The Secrets of `--secrets` whose files are over the API server's 1 MiB: an error each
/// (K1012, with the arithmetic), at the `secret` block. The caller writes nothing then.
pub fn secret_size_errors(
    model: &Deployment,
    contents: &k8s::SecretContents,
) -> Vec<crate::diagnostic::Diagnostic> {
    let mut out = Vec::new();
    for s in &model.secrets {
        let Some(keys) = contents.get(&s.name) else {
            continue;
        };
        let bytes: u64 = keys.values().map(|v| v.len() as u64).sum();
        if bytes <= crate::grammars::SECRET_LIMIT {
            continue;
        }
        let n = keys.len() as u64;
        let per_key = bytes / n.max(1);
        let fits = (crate::grammars::SECRET_LIMIT / per_key.max(1)).max(1);
        let mut d = crate::diagnostic::Diagnostic::new(
            crate::codes::SECRET_TOO_LARGE,
            format!("the Secret `{}` is over 1 MiB", s.name),
            s.loc,
            format!(
                "{n} keys, {bytes} bytes (~{:.1} KB each) > 1 MiB (1,048,576 bytes)",
                per_key as f64 / 1000.0
            ),
        )
        .with_help(format!(
            "the API server refuses it: split the keys into {} or more `secret` blocks of at most {fits} keys each (each is its own Secret, mounted whole)",
            n.div_ceil(fits)
        ));
        d.severity = crate::severity::Severity::Error;
        out.push(d);
    }
    out
}

/// The files to read for `--secrets`: (secret, key, path as written, the `.kumo` file that
/// names it, by the name it was given as). Paths are relative to that file's directory.
pub fn secret_files(
    model: &Deployment,
    sources: &Sources,
) -> Vec<(String, String, String, String)> {
    let mut out = Vec::new();
    for s in &model.secrets {
        for (key, path) in &s.files {
            out.push((
                s.name.clone(),
                key.clone(),
                path.value.clone(),
                sources.name(path.loc.file).to_string(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Sink;

    /// The files, in the order a sink gets them.
    #[derive(Default)]
    struct Ordered(Vec<(String, String)>);

    impl Sink for Ordered {
        type Error = String;
        type Fork = Self;
        fn file(&mut self, path: &str, content: &[u8]) -> Result<(), String> {
            let text = String::from_utf8(content.to_vec()).map_err(|e| e.to_string())?;
            self.0.push((path.to_string(), text));
            Ok(())
        }
    }

    /// A sink that stops the emitter after `0` files.
    struct Failing(usize);

    impl Sink for Failing {
        type Error = usize;
        type Fork = Self;
        fn file(&mut self, _: &str, _: &[u8]) -> Result<(), usize> {
            match self.0.checked_sub(1) {
                Some(n) => {
                    self.0 = n;
                    Ok(())
                }
                None => Err(self.0),
            }
        }
    }

    /// Streamed into a sink, the output is [`super::emit`]'s, each file once, the shards
    /// and their ConfigMaps first, each ConfigMap right after its shard; a sink's error
    /// stops the emitter there.
    #[test]
    fn a_sink_gets_each_file_once_as_it_is_produced() {
        let mut text = String::from(
            "deployment \"g\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"k\" {}\npool main {\n  source s {\n    ehlo_domain = \"mta.example.com\"\n  }\n}\n",
        );
        for i in 0..600 {
            text.push_str(&format!(
                "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"k\")\n  }}\n}}\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age = 2d\n}}\n"
            ));
        }
        let files = vec![("g.kumo".to_string(), text.into_bytes())];
        let analysis = crate::analyze(&files, &crate::Options::default());
        let Some(model) = analysis.checked_model() else {
            panic!("{:?}", analysis.diagnostics.first());
        };
        let places = analysis.places();
        let mut sink = Ordered::default();
        let count = super::emit_into(model, &places, 1, &mut sink).unwrap();
        let whole = super::emit(model, &places);
        assert_eq!(count, sink.0.len());
        let streamed: std::collections::BTreeMap<String, String> = sink.0.iter().cloned().collect();
        assert_eq!(streamed.len(), count, "a file twice");
        assert_eq!(streamed, whole.files);
        let shards: Vec<&str> = sink
            .0
            .iter()
            .map(|(p, _)| p.as_str())
            .take_while(|p| p.contains("-of-"))
            .collect();
        assert!(shards.len() >= 4, "{shards:?}");
        for pair in shards.chunks(2) {
            assert!(pair[0].starts_with("policy/"), "{pair:?}");
            assert!(pair[1].starts_with("k8s/configmap-policy-"), "{pair:?}");
        }
        assert!(
            !sink.0[shards.len()..]
                .iter()
                .any(|(p, _)| p.contains("-of-"))
        );
        for stop in [0, 1, 3] {
            assert_eq!(
                super::emit_into(model, &places, 1, &mut Failing(stop)),
                Err(0)
            );
        }
    }

    /// A sink that forks, whose forks fail once they have taken `0` files in all (the sink
    /// itself never fails: an error is the second thread's).
    struct ForkFailing(std::sync::Arc<std::sync::atomic::AtomicIsize>, bool);

    impl Sink for ForkFailing {
        type Error = ();
        type Fork = Self;
        fn file(&mut self, _: &str, _: &[u8]) -> Result<(), ()> {
            if !self.1 {
                return Ok(());
            }
            let left = self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            if left > 0 { Ok(()) } else { Err(()) }
        }
        fn fork(&self) -> Option<Self> {
            Some(ForkFailing(self.0.clone(), true))
        }
    }

    /// With two threads, the ConfigMaps of the shards go to a fork of the sink, written on
    /// the second thread (`write_cut`): the same files as one thread, and an error on either
    /// thread stops the emitter.
    #[test]
    fn the_shards_configmaps_written_beside_them_are_the_same_files() {
        let files = vec![("g.kumo".to_string(), generated(1000).into_bytes())];
        let analysis = crate::analyze(&files, &crate::Options::default());
        assert!(
            analysis.checked_model().is_some(),
            "{:?}",
            analysis.diagnostics.first()
        );
        let Some(model) = analysis.checked_model() else {
            return;
        };
        let places = analysis.places();
        let two = super::kumomta::Threads::Two { from: 1 };
        let mut forked = super::Output::default();
        let Ok(count) = super::emit_inner(model, &places, true, two, &mut forked);
        let whole = super::emit(model, &places);
        assert_eq!(count, whole.len());
        assert!(forked.files == whole.files);
        let shards = whole.files.keys().filter(|k| k.contains("-of-")).count();
        assert!(
            shards >= 16,
            "{shards}: too few shards to write on two threads"
        );
        // A ConfigMap's write fails, on the second thread: the emitter stops with its error.
        for stop in [0, 1, 2, 5] {
            let left = std::sync::Arc::new(std::sync::atomic::AtomicIsize::new(stop));
            let mut sink = ForkFailing(left, false);
            let failing = super::emit_inner(model, &places, true, two, &mut sink);
            assert_eq!(failing, Err(()), "{stop}");
        }
    }

    /// A deployment of `n` domains with DKIM, queues and shaping: each data file is cut.
    fn generated(n: usize) -> String {
        let mut text = String::from(
            "deployment \"g\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"k\" {}\npool main {\n",
        );
        for i in 0..n {
            text.push_str(&format!(
                "  source s{i} {{\n    ehlo_domain = \"mta{i}.example.com\"\n  }}\n"
            ));
        }
        text.push_str("}\n");
        for i in 0..n {
            text.push_str(&format!(
                "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"k\")\n  }}\n}}\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age = 2d\n}}\nshaping \"d{i}.example.com\" {{\n  max_message_rate = {}/s\n}}\n",
                i % 90 + 1
            ));
        }
        text
    }
}
