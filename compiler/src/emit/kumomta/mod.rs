//! The KumoMTA policy: `policy/init.lua`, `tsa_init.lua`, `sink.lua` and the helper data
//! files, in exactly what KumoMTA's Lua API and its helpers accept (the tests run every file
//! in its consumer: Lua 5.4 with a stub of KumoMTA's API, the helpers' TOML schemas).

mod data;
mod lua;
mod policy;
pub mod shard;
pub(crate) mod text;
mod warmup;
mod webhooks;
// The route (`crate::route`) shows values in KumoMTA's spelling, as these write them.
pub(crate) mod toml;
pub(crate) mod values;

use std::collections::BTreeMap;

use super::{Output, Provenance};
use crate::model::Deployment;
use shard::Shards;
pub use text::Digest;
use text::Text;

/// Write the policy files into `out`, but for the data shards: each data file that is cut
/// is handed to `shards_out` as soon as it is ([`shard::Split`], which writes each shard's
/// text, names it and says whether it is plain), one file at a time, with whether the file
/// was written in two parts on two threads (then its shards may be written out on two
/// threads too, see `emit::write_cut`). Returns the digest of each Lua policy's canonical
/// form (without comments, see [`text`]), by path, for the pod-template checksums (the data
/// files get none: nothing reads one), and the paths of the data shards (each gets a
/// ConfigMap of its own, see [`shard`]). Stops at `shards_out`'s first error.
pub fn emit<E>(
    d: &Deployment,
    p: &Provenance<'_>,
    threads: Threads,
    out: &mut Output,
    shards_out: &mut dyn FnMut(&shard::Split<'_>, bool) -> Result<(), E>,
) -> Result<(BTreeMap<String, Digest>, Vec<String>), E> {
    let mut digests = BTreeMap::new();
    // The data files first: `init.lua` names the files each helper loads, one or its shards.
    let mut shards = Shards::new();
    let mut shard_paths = Vec::new();
    let mut inline: Vec<(String, String)> = Vec::new();
    // Each data file is written whole (or in two parts, see `Threads`), then cut, and its
    // shards written out one after the other (`shards_out`); the whole text is dropped
    // before the next file is written. So one data file and a shard or two are in memory at
    // a time, not every shard (half of what a large deployment writes; the ConfigMaps of the
    // shards are the other half).
    // The text of the file before, which the next one is written into (its first part's,
    // and its rest's).
    let (mut before, mut rest_before) = (String::new(), String::new());
    let parted = |items: ListLen| match threads {
        Threads::One => false,
        Threads::Two { from } => items(d) >= from,
    };
    for (name, write, items) in DATA_FILES {
        // A large file is written in two parts at once, its rest on a second thread, started
        // for that file only (one kept for the next files kept more memory: 1.7 MB more
        // peak at 10,000 domains, against 0.9-1.3 MB).
        let two = parted(items);
        let ((text, layout), (rest_text, rest_layout)) = if two {
            let own = p.for_another_thread();
            let rest_buffer = std::mem::take(&mut rest_before);
            std::thread::scope(|scope| {
                let rest = scope.spawn(move || {
                    let (t, l) = write(d, &own, data::Part::Rest, rest_buffer);
                    (t.finish().0, l)
                });
                let (t, l) = write(d, p, data::Part::First, std::mem::take(&mut before));
                let first = (t.finish().0, l);
                // Were the second thread to fail, this one writes the rest.
                let rest = rest.join().unwrap_or_else(|_| {
                    let (t, l) = write(d, p, data::Part::Rest, String::new());
                    (t.finish().0, l)
                });
                (first, rest)
            })
        } else {
            let (t, l) = write(d, p, data::Part::Whole, std::mem::take(&mut before));
            ((t.finish().0, l), (String::new(), shard::Layout::default()))
        };
        let parts = [(text.as_str(), &layout), (rest_text.as_str(), &rest_layout)];
        let Some(cut) = shard::split(name, &parts) else {
            inline.push((name.to_string(), text + &rest_text));
            rest_before = rest_text;
            continue;
        };
        shards_out(&cut, two)?;
        let files = shards.entry(name.to_string()).or_default();
        for i in 0..cut.count() {
            let file = cut.file(i);
            shard_paths.push(format!("policy/{file}"));
            files.push(file);
        }
        drop(cut);
        before = text;
        rest_before = rest_text;
    }
    drop((before, rest_before));
    let mut code_len = 0;
    let mut add = |path: &str, t: Text| {
        let (text, digest) = t.finish();
        code_len += shard::json_len(&text);
        out.add(path, text);
        if let Some(digest) = digest {
            digests.insert(path.to_string(), digest);
        }
    };
    add("policy/init.lua", policy::init_lua(d, p, &shards));
    if let Some(tsa) = policy::tsa_init_lua(d, p, &shards) {
        add("policy/tsa_init.lua", tsa);
    }
    // The policy ConfigMap holds the Lua policies and the data files that were not sharded:
    // when their comments would take it over the limit, the data files go without them.
    let data_len: usize = inline.iter().map(|(_, t)| shard::json_len(t)).sum();
    let strip = code_len + data_len > shard::HARD_LIMIT;
    for (name, text) in inline {
        let text = if strip {
            shard::strip_comments(&text)
        } else {
            text
        };
        out.add(format!("policy/{name}"), text);
    }
    if let Some(sink) = policy::sink_lua(d, p) {
        let (text, digest) = sink.finish();
        out.add("policy/sink.lua", text);
        if let Some(digest) = digest {
            digests.insert("policy/sink.lua".to_string(), digest);
        }
    }
    Ok((digests, shard_paths))
}

/// A data file's writer: the part of its text it is asked for ([`data::Part`]), written
/// into the buffer it is given, and where its units of sharding are.
type Writer = fn(&Deployment, &Provenance<'_>, data::Part, String) -> (Text, shard::Layout);

/// The length of the list a data file may be cut in for two threads ([`data::Part`]).
type ListLen = fn(&Deployment) -> usize;

/// The four data files, written in this order, each with the length of the list it may be
/// cut in for two threads. (Writing two files at once on two threads measured 45-75 MB more
/// peak memory at 100,000 domains; a file in two parts is the same bytes in two strings.)
const DATA_FILES: [(&str, Writer, ListLen); 4] = [
    ("sources.toml", data::sources, |d| d.sources.len()),
    ("dkim_data.toml", data::dkim, |d| d.domains.len()),
    ("queues.toml", data::queues, |d| d.queues.len()),
    ("shaping.toml", data::shaping, |d| d.shaping.len()),
];

/// How many threads write the data files: one, or two, which write each file with a list of
/// at least `from` entries in two parts ([`data::Part`]), the first here and the rest on the
/// second thread. The output is the same bytes either way.
#[derive(Clone, Copy, Debug)]
pub enum Threads {
    One,
    Two { from: usize },
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example deployment's files, by name.
    fn example_files() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/example-com");
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "kumo"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        files.sort();
        files
    }

    /// The units and code sizes `toml::Doc` records as it writes the data files are what
    /// `shard` finds reading them again line by line, with comments and without, on the
    /// example deployment (both environments) and a generated one.
    #[test]
    fn the_writers_layout_is_what_the_text_holds() {
        let example = example_files();
        let mut text = String::from(
            "deployment \"g\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"k\" {}\npool main {\n",
        );
        for i in 0..400 {
            text.push_str(&format!(
                "  source src-{i} {{\n    ehlo_domain = \"mta{i}.example.com\"\n    source_address = 10.0.{}.{}\n  }}\n",
                i / 250,
                i % 250
            ));
        }
        text.push_str("}\n");
        for i in 0..400 {
            text.push_str(&format!(
                "domain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"k\")\n  }}\n}}\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age = 2d\n}}\nshaping \"d{i}.example.com\" {{\n  max_message_rate = {}/s\n}}\n",
                i % 90 + 1
            ));
        }
        let generated = vec![("g.kumo".to_string(), text.into_bytes())];
        let envs = [
            None,
            Some(crate::Environment::Staging),
            Some(crate::Environment::Production),
        ];
        let mut checked = 0;
        for (files, env) in envs
            .iter()
            .map(|e| (&example, *e))
            .chain([(&generated, None)])
        {
            let options = crate::Options {
                env,
                ..Default::default()
            };
            let analysis = crate::analyze(files, &options);
            let Some(model) = analysis.checked_model() else {
                panic!("{:?}", analysis.diagnostics);
            };
            let places = analysis.places();
            for comments in [true, false] {
                let p = Provenance::new(&places, comments);
                // One buffer for the four, as `emit` writes them.
                let mut buffer = String::new();
                for (_, write, _) in DATA_FILES {
                    let (t, layout) = write(model, &p, data::Part::Whole, buffer);
                    let (text, _) = t.finish();
                    shard::tests::assert_layout_matches(&text, &layout);
                    checked += 1;
                    // Its two parts: each as its text holds (the rest's starts with the
                    // blank line before its first table), and the two are the whole.
                    let mut parts = String::new();
                    for part in [data::Part::First, data::Part::Rest] {
                        let (t, layout) = write(model, &p, part, String::new());
                        let (t, _) = t.finish();
                        shard::tests::assert_layout_matches(&t, &layout);
                        parts.push_str(&t);
                    }
                    assert!(parts == text);
                    buffer = text;
                }
            }
        }
        assert_eq!(checked, 4 * 2 * 4);
    }

    /// Everything `emit` produces: the files, the shards handed out (with whether each is
    /// plain), the digests and the shard paths.
    type Emitted = (
        Vec<(String, String)>,
        Vec<(String, String, bool)>,
        BTreeMap<String, Digest>,
        Vec<String>,
    );

    fn emitted(model: &Deployment, places: &super::super::Places, threads: Threads) -> Emitted {
        let mut collected = Vec::new();
        let mut out = Output::default();
        let p = Provenance::new(places, true);
        let Ok((digests, paths)) =
            emit::<std::convert::Infallible>(model, &p, threads, &mut out, &mut |cut, _| {
                let mut t = String::new();
                for i in 0..cut.count() {
                    let file = cut.write(i, &mut t);
                    collected.push((format!("policy/{file}"), t.clone(), cut.plain()));
                }
                Ok(())
            });
        (out.files.into_iter().collect(), collected, digests, paths)
    }

    /// Written on two threads, every list of at least one entry in two parts, a deployment
    /// is the same bytes as on one: every deployment that checks among the test fixtures,
    /// the fuzzing regressions and the example (both environments), and a generated one
    /// of 400 domains, some without a DKIM key, with a `base`, in a file whose name is not ASCII.
    #[test]
    fn two_threads_write_the_same_bytes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut dirs = vec![root.join("tests/fixtures"), root.join("fuzz/regressions")];
        let mut inputs: Vec<Vec<(String, Vec<u8>)>> = Vec::new();
        while let Some(dir) = dirs.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|x| x == "kumo") {
                    let text = std::fs::read(&path).unwrap();
                    inputs.push(vec![(path.display().to_string(), text)]);
                }
            }
        }
        inputs.push(example_files());
        let mut text = String::from(
            "deployment \"g\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"k\" {}\ndkim_defaults {\n  headers = [\"From\", \"To\"]\n}\npool main {\n",
        );
        for i in 0..40 {
            text.push_str(&format!(
                "  source src-{i} {{\n    ehlo_domain = \"mta{i}.example.com\"\n    source_address = 10.0.0.{}\n  }}\n",
                i + 1
            ));
        }
        text.push_str("}\n");
        for i in 0..400 {
            let name = if i % 7 == 3 {
                format!("xn--caf-dma{i}.example.com")
            } else {
                format!("d{i}.example.com")
            };
            if i % 3 != 1 {
                text.push_str(&format!(
                    "domain \"{name}\" {{\n  dkim {{\n    selector = \"s1\"\n    key = secret(\"k\")\n  }}\n}}\n"
                ));
            } else {
                text.push_str(&format!("domain \"{name}\" {{}}\n"));
            }
            text.push_str(&format!(
                "queue \"{name}\" {{\n  egress_pool = main\n  max_age = 2d\n}}\nshaping \"{name}\" {{\n  max_message_rate = {}/s\n}}\n",
                i % 90 + 1
            ));
        }
        // A file name outside ASCII: every place in a comment is.
        inputs.push(vec![(
            "g\u{e9}n\u{e9}r\u{e9}.kumo".to_string(),
            text.into_bytes(),
        )]);
        let mut compared = 0;
        for files in &inputs {
            for env in [
                None,
                Some(crate::Environment::Staging),
                Some(crate::Environment::Production),
            ] {
                let options = crate::Options {
                    env,
                    ..Default::default()
                };
                let analysis = crate::analyze(files, &options);
                let Some(model) = analysis.checked_model() else {
                    assert!(
                        !files[0].0.ends_with("r\u{e9}.kumo"),
                        "{:?}",
                        analysis.diagnostics
                    );
                    continue;
                };
                let places = analysis.places();
                let one = emitted(model, &places, Threads::One);
                let two = emitted(model, &places, Threads::Two { from: 1 });
                assert!(one == two, "{:?}", files.first().map(|f| &f.0));
                compared += 1;
            }
        }
        assert!(compared >= 30, "{compared}");
    }
}
