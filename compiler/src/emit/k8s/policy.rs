//! The policy ConfigMaps (the policy files as literal blocks) and the pod-template
//! checksum over the files a pod reads.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::Inputs;
use super::common::{meta_of, yaml};
use crate::model::Deployment;
use crate::names::{Names, Workload};

/// The `kumoc.dev/policy-checksum` annotation of a workload's pod template: sha256 over the
/// name and canonical digest of the one policy file its process runs (`--policy`: `init.lua`,
/// `tsa_init.lua` or `sink.lua`). That is what needs a restart: its `init` handler (listeners,
/// spools, Redis, logging) runs once per process. The helpers' data files (sources, DKIM,
/// queues, shaping) are not covered: KumoMTA reloads them live when they change on disk
/// (the config epoch; see ARCHITECTURE.md, "Live data"), so a new domain rolls no pod. The
/// digests leave out comments (see `kumomta::text`), so a change to a value's place or to
/// the list of source files, which cannot change kumod's behaviour, does not roll either. A
/// file without a digest counts with its whole text (rolling too often is safe).
pub(super) fn pod_checksum(inputs: &Inputs<'_>, workload: Workload) -> String {
    // The output's path of the file (`policy/init.lua`), as `Inputs` names it.
    let name = format!("policy/{}", workload.policy());
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0]);
    match inputs.digests.get(&name) {
        Some(d) => h.update(d),
        None => h.update(Sha256::digest(
            inputs
                .policy
                .get(name.as_str())
                .copied()
                .unwrap_or("")
                .as_bytes(),
        )),
    }
    h.update([0]);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The `policy` volume of the MTA and TSA pods, mounted whole at the policy directory (never
/// with `subPath`, so the kubelet updates the files in running pods): the policy ConfigMap,
/// or, when the data is sharded, a projected volume of it and every shard's ConfigMap.
pub(super) fn volume(n: &Names, shards: &[String]) -> Value {
    if shards.is_empty() {
        return json!({ "name": "policy", "configMap": { "name": n.mta_policy() } });
    }
    let mut sources = vec![json!({ "configMap": { "name": main_name(n, shards) } })];
    sources.extend(shards.iter().map(|path| {
        let file = path.rsplit('/').next().unwrap_or(path);
        json!({ "configMap": { "name": n.policy_shard(file) } })
    }));
    json!({ "name": "policy", "projected": { "sources": sources } })
}

/// The name of the policy ConfigMap (the one with `init.lua`). With shards, the name ends
/// with a digest of the shard files' names: when the shard layout changes (a shard count
/// doubles), `init.lua` names other files, and pods that have not rolled yet must keep the
/// `init.lua` that names the shards they mount; so the new layout comes in a new ConfigMap
/// and the old one is left for them (pruned after the roll, see docs/deploy.md).
pub(super) fn main_name(n: &Names, shards: &[String]) -> String {
    if shards.is_empty() {
        return n.mta_policy();
    }
    let mut h = Sha256::new();
    for s in shards {
        h.update(s.as_bytes());
        h.update([0]);
    }
    let digest: String = h
        .finalize()
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{}-{digest}", n.mta_policy())
}

/// A ConfigMap of policy files, as YAML after `header` (the file's comment). The files (megabytes for a large deployment) are
/// written straight into the output as literal blocks, exactly as `serde_norway` writes them,
/// instead of being copied into a tree, serialized and copied again. When a file would not be
/// written as a plain literal block (see [`plain_literal`]), the whole ConfigMap goes through
/// `serde_norway`.
pub(super) fn config_map(
    d: &Deployment,
    name: &str,
    files: &BTreeMap<&str, &str>,
    component: &str,
    header: &str,
) -> String {
    let key = |path: &'_ str| path.rsplit('/').next().unwrap_or(path).to_string();
    let meta = meta_of(d, name, component);
    if files.is_empty() || !files.iter().all(|(k, v)| plain_literal(&key(k), v)) {
        let data: serde_json::Map<String, Value> = files
            .iter()
            .map(|(k, v)| (key(k), Value::String((*v).to_string())))
            .collect();
        let body = yaml(
            &json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data }),
        );
        return format!("{header}{body}");
    }
    let head = yaml(&json!({ "apiVersion": "v1" }));
    let tail = yaml(&json!({ "kind": "ConfigMap", "metadata": meta }));
    // Exactly what is written: `  key: |`, and each line indented by four.
    let size: usize = files
        .iter()
        .map(|(k, v)| k.len() + 6 + v.len() + 4 * newlines(v.as_bytes()))
        .sum();
    let mut out: Vec<u8> =
        Vec::with_capacity(header.len() + head.len() + "data:\n".len() + size + tail.len());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b"data:\n");
    for (path, text) in files {
        out.extend_from_slice(b"  ");
        out.extend_from_slice(key(path).as_bytes());
        out.extend_from_slice(b": |\n");
        push_indented(&mut out, text);
    }
    out.extend_from_slice(tail.as_bytes());
    // Only whole `str`s and ASCII were written: always UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The YAML around the literal block of each data shard's ConfigMap, serialized once for
/// all of them (`serde_norway` took about 100,000 instructions a ConfigMap: 9.8 M of a
/// 10,000-domain build's 96 shards): the text before the block, and the object after it
/// with a stand-in for the ConfigMap's name, cut around the name.
pub(super) struct ShardYaml {
    head: String,
    /// The object after the block, before and after its name; `None` when the stand-in
    /// is not found in it exactly once (each ConfigMap is then serialized itself).
    tail: Option<(String, String)>,
}

/// The stand-in name: a name [`plain_name`] accepts, so `serde_norway` writes it as it is.
const STAND_IN: &str = "x-policy-x";

impl ShardYaml {
    pub(super) fn new(d: &Deployment) -> Self {
        let tail = yaml(&json!({ "kind": "ConfigMap", "metadata": meta_of(d, STAND_IN, "mta") }));
        let line = format!("\n  name: {STAND_IN}\n");
        let tail = match tail.match_indices(&line).count() {
            1 => tail
                .split_once(&line)
                .map(|(before, after)| (format!("{before}\n  name: "), format!("\n{after}"))),
            _ => None,
        };
        Self {
            head: yaml(&json!({ "apiVersion": "v1" })),
            tail,
        }
    }

    /// The object after the block for the ConfigMap `name`, exactly as `serde_norway`
    /// writes it.
    fn tail(&self, d: &Deployment, name: &str) -> String {
        match &self.tail {
            Some((before, after)) if plain_name(name) => format!("{before}{name}{after}"),
            _ => yaml(&json!({ "kind": "ConfigMap", "metadata": meta_of(d, name, "mta") })),
        }
    }
}

/// Whether YAML writes `name` as it is, without quotes, as the stand-in is written: a
/// Kubernetes name (`[a-z0-9-]`, starting with a letter or digit) that holds `-policy-`,
/// which no YAML boolean, null, number or timestamp does (a data shard's ConfigMap is
/// always named so, `Names::policy_shard`).
fn plain_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.contains("-policy-")
}

/// The ConfigMap of one data shard (`path` → `text`) as [`config_map`] writes it, written
/// into `out` (cleared first): when the shard is written as a plain literal block, the text
/// around the block serialized once for all shards ([`ShardYaml`]) and the shard's lines
/// indented straight into `out` (sized once, about: the newlines are not counted for it, a
/// pass over the text that cost 4.8 M instructions at 10,000 domains; a line's indentation
/// is taken as an eighth of it, and shorter lines on average grow `out` once).
pub(super) fn shard_config_map(
    d: &Deployment,
    around: &ShardYaml,
    name: &str,
    Shard { path, text, plain }: Shard<'_>,
    header: &str,
    out: &mut Vec<u8>,
) {
    out.clear();
    let key = path.rsplit('/').next().unwrap_or(path);
    // A text its writer knows is plain needs only its ends checked (scanning a 10,000-domain
    // build's shards took 11 M instructions).
    let literal = if plain {
        plain_ends(key, text)
    } else {
        plain_literal(key, text)
    };
    if !literal {
        let files = BTreeMap::from([(path, text)]);
        out.extend_from_slice(config_map(d, name, &files, "mta", header).as_bytes());
        return;
    }
    let tail = around.tail(d, name);
    let data = "data:\n  ";
    let block = ": |\n";
    out.reserve(
        header.len()
            + around.head.len()
            + data.len()
            + key.len()
            + block.len()
            + text.len()
            + text.len() / 8
            + tail.len(),
    );
    for part in [header, &around.head, data, key, block] {
        out.extend_from_slice(part.as_bytes());
    }
    push_indented(out, text);
    out.extend_from_slice(tail.as_bytes());
}

/// A data shard for its ConfigMap: its path (`policy/...`), its text, and whether its
/// writer knows the text is printable ASCII lines without a blank at their end.
pub(super) struct Shard<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub plain: bool,
}

/// Whether libyaml (`serde_norway`) writes `key: text` as `key: |` and the text's lines
/// indented, nothing else: a plain key, and a text of printable ASCII lines without trailing
/// blanks, not starting with a blank, ending with exactly one newline.
fn plain_literal(key: &str, text: &str) -> bool {
    plain_ends(key, text)
        && memchr::memmem::find(text.as_bytes(), b" \n").is_none()
        && printable_lines(text.as_bytes())
}

/// [`plain_literal`] of a text known to be printable ASCII lines without a blank at their
/// end: a plain key, and the text not empty, not starting with a blank or a line end,
/// ending with exactly one line end.
fn plain_ends(key: &str, text: &str) -> bool {
    let plain_key = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    plain_key && !body.is_empty() && !body.starts_with([' ', '\n']) && !body.ends_with([' ', '\n'])
}

/// `text` (a plain literal: it ends with a newline) as a literal block's lines, appended
/// to `out` (sized by the caller): each line with its newline in one
/// piece, indented by four unless it is empty. The newlines are found by `memchr`'s AVX2
/// searcher where the machine has it, taken once rather than chosen at each line (the
/// shards are megabytes of short lines: 76 M instructions at 10,000 domains with
/// `split_inclusive`, 60 M with `memchr` and a `String` grown as it goes, 29 M into a
/// sized `String`, about 25 M like this). Measured slower: newlines found eight bytes at a
/// time in a word (SWAR) or 32 at a time in a mask, and lines copied in fixed chunks of
/// 32 bytes instead of a `memcpy` each.
pub(crate) fn push_indented(out: &mut Vec<u8>, text: &str) {
    #[cfg(target_arch = "x86_64")]
    if let Some(newline) = memchr::arch::x86_64::avx2::memchr::One::new(b'\n') {
        return indent_lines(out, text.as_bytes(), newline.iter(text.as_bytes()));
    }
    indent_lines(
        out,
        text.as_bytes(),
        memchr::memchr_iter(b'\n', text.as_bytes()),
    );
}

/// [`push_indented`] with the newlines at `ends`.
#[inline(always)]
fn indent_lines(out: &mut Vec<u8>, text: &[u8], ends: impl Iterator<Item = usize>) {
    let mut start = 0;
    for end in ends {
        if end > start {
            out.extend_from_slice(b"    ");
        }
        out.extend_from_slice(text.get(start..=end).unwrap_or_default());
        start = end + 1;
    }
}

/// The number of newlines in `b`, counted 64 bytes at a time (vectorized).
fn newlines(b: &[u8]) -> usize {
    b.chunks(64)
        .map(|block| usize::from(block.iter().map(|&c| u8::from(c == b'\n')).sum::<u8>()))
        .sum()
}

/// Whether every byte is a newline or printable ASCII. Checked 64 bytes at a time without
/// an early exit, a byte's verdict OR-ed into a byte, so the compiler vectorizes it (the
/// policy is megabytes: 0.66 instructions a byte, 0.9 with a `bool` fold and an exit after
/// each block).
fn printable_lines(b: &[u8]) -> bool {
    let bad = |c: u8| u8::from(c.wrapping_sub(0x20) >= 0x5f) & u8::from(c != b'\n');
    let mut blocks = b.chunks_exact(64);
    let mut any = 0u8;
    for block in &mut blocks {
        any |= block.iter().fold(0u8, |acc, &c| acc | bad(c));
    }
    any |= blocks.remainder().iter().fold(0u8, |acc, &c| acc | bad(c));
    any == 0
}

#[cfg(test)]
mod tests {
    /// The direct ConfigMap is what `serde_norway` writes for the whole object.
    #[test]
    fn config_map_matches_serde_norway() {
        let texts = [
            "a\n",
            "a = 1\n\nb = 2\n",
            "-- lua\nlocal x = [[\n]]\n\n\n  indented\n",
            "key: value # not a comment\n'q' \"d\" {x} [y] &a *b !t %p @c `g\n",
            "---\n...\n",
            "ends without newline",
            "two newlines\n\n",
            " leading space\n",
            "\nleading newline\n",
            "trailing space \nx\n",
            "tab\there\n",
            "caf\u{e9}\n",
            "line\u{2028}separator\n",
            "\u{1b}[31m\n",
            "",
            "\n",
        ];
        let text = "deployment \"t\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n";
        let analysis = crate::analyze(
            &[("t.kumo".to_string(), text.as_bytes().to_vec())],
            &crate::Options::default(),
        );
        let d = analysis.model.expect("a model");
        let cx = super::super::Ctx {
            d: &d,
            n: crate::names::Names::new(&d),
            image: String::new(),
            checksum: String::new(),
            tsa_checksum: String::new(),
            sink_checksum: String::new(),
            policy_volume: serde_json::Value::Null,
        };
        let mut fast = 0;
        for text in texts {
            for path in ["policy/init.lua", "policy/x-y_z", "policy/1x", "policy/a b"] {
                for files in [
                    vec![(path, text)],
                    vec![("policy/a.toml", "a = 1\n"), (path, text)],
                ] {
                    let files: std::collections::BTreeMap<&str, &str> = files.into_iter().collect();
                    let got = super::config_map(&d, "cm", &files, "mta", "");
                    let data: serde_json::Map<String, serde_json::Value> = files
                        .iter()
                        .map(|(k, v)| (k.rsplit('/').next().unwrap().to_string(), (*v).into()))
                        .collect();
                    let want = super::super::common::yaml(&serde_json::json!({
                        "apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": super::super::common::meta(&cx, "cm", "mta"), "data": data,
                    }));
                    assert_eq!(got, want, "{path:?}: {text:?}");
                    fast += usize::from(
                        files
                            .iter()
                            .all(|(k, v)| super::plain_literal(k.rsplit('/').next().unwrap(), v)),
                    );
                }
            }
        }
        assert_eq!(
            fast,
            5 * 2 * 2,
            "the plain texts under the plain keys take the fast path"
        );
        // The shards' ConfigMaps around their blocks: as serialized for each name.
        let around = super::ShardYaml::new(&d);
        assert!(around.tail.is_some());
        for name in [
            "t-policy-queues-0-of-2",
            "1-policy-x",
            "t-policy-dkim-data-31-of-32",
            "true",
            "t-policy-a.b",
            "T-policy-x",
            "t-policy-x: y",
            "007",
        ] {
            let want = super::super::common::yaml(&serde_json::json!({
                "kind": "ConfigMap", "metadata": super::super::common::meta(&cx, name, "mta"),
            }));
            assert_eq!(around.tail(&d, name), want, "{name}");
        }
        assert_eq!(
            around.head,
            super::super::common::yaml(&serde_json::json!({ "apiVersion": "v1" }))
        );
        // A text its writer says is plain (printable ASCII lines without a blank at their
        // end) gets the ConfigMap of a text read to know it.
        let plain = |t: &str| {
            t.split('\n')
                .all(|l| l.bytes().all(|c| (b' '..=b'~').contains(&c)) && !l.ends_with(' '))
        };
        let mut known = 0;
        for text in texts {
            for path in ["policy/q-0-of-2.toml", "policy/1x", "policy/a b"] {
                let write = |plain| {
                    let mut out = Vec::new();
                    let shard = super::Shard { path, text, plain };
                    super::shard_config_map(&d, &around, "t-policy-q", shard, "# h\n", &mut out);
                    out
                };
                if plain(text) {
                    assert_eq!(write(true), write(false), "{path:?}: {text:?}");
                    known += 1;
                }
            }
        }
        assert!(known >= 12, "{known}");
    }
}
