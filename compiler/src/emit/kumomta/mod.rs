//! The KumoMTA policy: `policy/init.lua`, `tsa_init.lua`, `sink.lua` and the helper data
//! files. Facts about what KumoMTA accepts are in `shared/reference/kumomta.md`; each
//! function here cites the section it follows.

mod data;
pub mod lua;
mod policy;
pub(crate) mod text;

pub mod toml;
mod values;

use std::collections::BTreeMap;

use super::{Output, Provenance};
use crate::model::Deployment;
pub use text::Digest;
use text::Text;

/// The policy files, as paths relative to the output directory.
pub const POLICY_FILES: &[&str] = &[
    "policy/init.lua",
    "policy/tsa_init.lua",
    "policy/sink.lua",
    "policy/sources.toml",
    "policy/dkim_data.toml",
    "policy/queues.toml",
    "policy/shaping.toml",
];

/// Write the policy files into `out`; returns the digest of each file's canonical form
/// (without comments, see [`text`]), by path, for the pod-template checksums.
pub fn emit(d: &Deployment, p: &Provenance<'_>, out: &mut Output) -> BTreeMap<String, Digest> {
    let mut digests = BTreeMap::new();
    let mut add = |path: &str, t: Text| {
        let (text, digest) = t.finish();
        out.add(path, text);
        digests.insert(path.to_string(), digest);
    };
    add("policy/init.lua", policy::init_lua(d, p));
    if let Some(tsa) = policy::tsa_init_lua(d, p) {
        add("policy/tsa_init.lua", tsa);
    }
    if let Some(sink) = policy::sink_lua(d, p) {
        add("policy/sink.lua", sink);
    }
    add("policy/sources.toml", data::sources(d, p));
    add("policy/dkim_data.toml", data::dkim(d, p));
    add("policy/queues.toml", data::queues(d, p));
    add("policy/shaping.toml", data::shaping(d, p));
    digests
}
