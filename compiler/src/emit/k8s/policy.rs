//! The policy ConfigMaps (the policy files as literal blocks) and the pod-template
//! checksum over the files a pod reads.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::common::{meta, yaml};
use super::{Ctx, Inputs};
use crate::emit::LiteralBlock;
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
    cx: &Ctx<'_>,
    name: &str,
    files: &BTreeMap<&str, &str>,
    component: &str,
    header: &str,
) -> String {
    let key = |path: &'_ str| path.rsplit('/').next().unwrap_or(path).to_string();
    let meta = meta(cx, name, component);
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
    let mut out =
        String::with_capacity(header.len() + head.len() + "data:\n".len() + size + tail.len());
    out.push_str(header);
    out.push_str(&head);
    out.push_str("data:\n");
    for (path, text) in files {
        out.push_str("  ");
        out.push_str(&key(path));
        out.push_str(": |\n");
        push_indented(&mut out, text);
    }
    out.push_str(&tail);
    out
}

/// The ConfigMap of one data shard (`path` → `text`): as [`config_map`] writes it, or, when
/// `block` and the shard is written as a plain literal block, as a [`LiteralBlock`] of the
/// shard (the text before its lines and after them; the lines are written from the
/// shard's own text when the file is written).
pub(super) fn shard_config_map(
    cx: &Ctx<'_>,
    name: &str,
    (path, text): (&str, &str),
    header: &str,
    block: bool,
) -> Result<LiteralBlock, String> {
    let key = path.rsplit('/').next().unwrap_or(path);
    if !block || !plain_literal(key, text) {
        let files = BTreeMap::from([(path, text)]);
        return Err(config_map(cx, name, &files, "mta", header));
    }
    let head = yaml(&json!({ "apiVersion": "v1" }));
    let tail = yaml(&json!({ "kind": "ConfigMap", "metadata": meta(cx, name, "mta") }));
    Ok(LiteralBlock::new(
        path.to_string(),
        format!("{header}{head}data:\n  {key}: |\n"),
        tail,
    ))
}

/// The bytes [`push_indented`] writes for `text`.
pub(crate) fn indented_len(text: &str) -> usize {
    text.len() + 4 * newlines(text.as_bytes())
}

/// Whether libyaml (`serde_norway`) writes `key: text` as `key: |` and the text's lines
/// indented, nothing else: a plain key, and a text of printable ASCII lines without trailing
/// blanks, not starting with a blank, ending with exactly one newline.
fn plain_literal(key: &str, text: &str) -> bool {
    let plain_key = key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-');
    let Some(body) = text.strip_suffix('\n') else {
        return false;
    };
    plain_key
        && !body.is_empty()
        && !body.starts_with([' ', '\n'])
        && !body.ends_with([' ', '\n'])
        && memchr::memmem::find(body.as_bytes(), b" \n").is_none()
        && printable_lines(body.as_bytes())
}

/// `text` (a plain literal: it ends with a newline) as a literal block's lines: each line
/// with its newline in one piece, indented by four unless it is empty. The newlines are
/// found by `memchr` (vectorized; the shards are megabytes of short lines: 76 M
/// instructions at 10,000 domains with `split_inclusive`, 60 M with this; finding them
/// eight bytes at a time with a mask, as `source::line_starts` does, measured 86 M).
pub(crate) fn push_indented(out: &mut String, text: &str) {
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
        if end > start {
            out.push_str("    ");
        }
        out.push_str(text.get(start..=end).unwrap_or(""));
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
/// an early exit inside a block, so the compiler vectorizes it (the policy is megabytes).
fn printable_lines(b: &[u8]) -> bool {
    b.chunks(64).all(|block| {
        block.iter().fold(true, |ok, &c| {
            ok & ((c == b'\n') | (c.wrapping_sub(0x20) < 0x5f))
        })
    })
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
                    let got = super::config_map(&cx, "cm", &files, "mta", "");
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
    }
}
