//! The KumoMTA policy: `policy/init.lua`, `tsa_init.lua`, `sink.lua` and the helper data
//! files, in exactly what KumoMTA's Lua API and its helpers accept (the tests run every file
//! in its consumer: Lua 5.4 with a stub of KumoMTA's API, the helpers' TOML schemas).

mod data;
mod lua;
mod policy;
pub(crate) mod text;
mod warmup;
mod webhooks;
// The route (`crate::route`) shows values in KumoMTA's spelling, as these write them.
pub(crate) mod toml;
pub(crate) mod values;

use std::collections::BTreeMap;

use super::{Output, Provenance};
use crate::model::Deployment;
pub use text::Digest;
use text::Text;

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
