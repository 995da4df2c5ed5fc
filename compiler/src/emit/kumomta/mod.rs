//! The KumoMTA policy: `policy/init.lua`, `tsa_init.lua`, `sink.lua` and the helper data
//! files. Facts about what KumoMTA accepts are in `shared/reference/kumomta.md`; each
//! function here cites the section it follows.

mod data;
pub mod lua;
mod policy;

pub use policy::ACL_SINCE;
pub mod toml;
mod values;

use super::{Output, Provenance};
use crate::model::Deployment;

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

pub fn emit(d: &Deployment, p: &Provenance<'_>, out: &mut Output) {
    out.add("policy/init.lua", policy::init_lua(d, p));
    if let Some(tsa) = policy::tsa_init_lua(d, p) {
        out.add("policy/tsa_init.lua", tsa);
    }
    if let Some(sink) = policy::sink_lua(d, p) {
        out.add("policy/sink.lua", sink);
    }
    out.add("policy/sources.toml", data::sources(d, p));
    out.add("policy/dkim_data.toml", data::dkim(d, p));
    out.add("policy/queues.toml", data::queues(d, p));
    out.add("policy/shaping.toml", data::shaping(d, p));
}
