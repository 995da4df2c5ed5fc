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

/// Write the policy files into `out`, but for the data shards, each handed to `shard` (as
/// its path, its text, and whether that is plain: printable ASCII lines that do not end with
/// a blank, as the writer recorded, see [`shard::Split::plain`]) as soon as it is cut, one
/// at a time; returns the digest of each Lua
/// policy's canonical form (without comments, see [`text`]), by path, for the pod-template
/// checksums (the data files get none: nothing reads one), and the paths of the data shards
/// (each gets a ConfigMap of its own, see [`shard`]). Stops at `shard`'s first error.
pub fn emit<E>(
    d: &Deployment,
    p: &Provenance<'_>,
    out: &mut Output,
    shard: &mut dyn FnMut(&str, &str, bool) -> Result<(), E>,
) -> Result<(BTreeMap<String, Digest>, Vec<String>), E> {
    let mut digests = BTreeMap::new();
    // The data files first: `init.lua` names the files each helper loads, one or its shards.
    let mut shards = Shards::new();
    let mut shard_paths = Vec::new();
    let mut inline: Vec<(String, String)> = Vec::new();
    // Each data file is written whole, then cut, and its shards written out one after the
    // other from one buffer; the whole text is dropped before the next file is written. So
    // one data file and one shard are in memory at a time, not every shard (half of what a
    // large deployment writes; the ConfigMaps of the shards are the other half).
    let mut buffer = String::new();
    // The whole text of the file before, which the next one is written into.
    let mut before = String::new();
    for (name, write) in DATA_FILES {
        let (text, layout) = write(d, p, std::mem::take(&mut before));
        let (text, _) = text.finish();
        let Some(cut) = shard::split(name, &text, &layout) else {
            inline.push((name.to_string(), text));
            continue;
        };
        let files = shards.entry(name.to_string()).or_default();
        for i in 0..cut.count() {
            let file = cut.write(i, &mut buffer);
            let path = format!("policy/{file}");
            shard(&path, &buffer, cut.plain())?;
            files.push(file);
            shard_paths.push(path);
        }
        drop(cut);
        before = text;
    }
    drop((buffer, before));
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

/// A data file's writer: its text, written into the buffer it is given, and where its
/// units of sharding are.
type Writer = fn(&Deployment, &Provenance<'_>, String) -> (Text, shard::Layout);

/// The four data files, written in this order. (Writing two of them on a second thread
/// measured 45-75 MB more peak memory at 100,000 domains: not done.)
const DATA_FILES: [(&str, Writer); 4] = [
    ("sources.toml", data::sources),
    ("dkim_data.toml", data::dkim),
    ("queues.toml", data::queues),
    ("shaping.toml", data::shaping),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// The units and code sizes `toml::Doc` records as it writes the data files are what
    /// `shard` finds reading them again line by line, with comments and without, on the
    /// example deployment (both environments) and a generated one.
    #[test]
    fn the_writers_layout_is_what_the_text_holds() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/example-com");
        let mut example: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "kumo"))
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        example.sort();
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
                for (_, write) in DATA_FILES {
                    let (t, layout) = write(model, &p, buffer);
                    let (text, _) = t.finish();
                    shard::tests::assert_layout_matches(&text, &layout);
                    checked += 1;
                    buffer = text;
                }
            }
        }
        assert_eq!(checked, 4 * 2 * 4);
    }
}
