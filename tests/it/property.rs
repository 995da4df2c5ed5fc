//! Generated deployments (issue 11 §3): every name and value kumoc accepts is valid for the
//! consumer it reaches, and reads back exactly as written.
//!
//! A small deterministic PRNG ([`Rng`], SplitMix64) generates whole deployments: sources,
//! pools and weights, tenants and campaigns, queues with their tenants and campaigns,
//! shaping blocks with per-source overrides and map keys, providers, DKIM domains and their
//! Secrets, event webhooks, the cluster (replicas, spool, resources, autoscaling, probes, ports, TSA, sink,
//! metrics), spread over one to three files, with `env production` / `env staging` overlays
//! and a random `--env`. Names are drawn from hostile alphabets (unicode, `@ : . " ' \ [ ] =
//! # $ {`, TOML/Lua/YAML metacharacters, the field names of the very tables the names become
//! keys of, lengths at and around every limit) and values from type boundaries (0, max, one
//! over, huge). A case has a *hostility* of 0 to 3: that many of its draws are hostile,
//! either scattered over the case or focused on one kind of draw (domains, sizes, user
//! names, ...), since one refused value masks the others of its case.
//!
//! Each case is analysed and must end one of two ways:
//!
//! * **refused**: error diagnostics, each with a code, a primary label and a help line, and
//!   no panic. A case of hostility 0 (sane names, values in range) must never be refused:
//!   that keeps the property two-sided (a checker that refused everything would fail);
//! * **built**: and then every consumer accepts the output and reads back exactly what the
//!   generator wrote: the `toml` crate and the helper schemas (`helper_schemas.rs`) for the
//!   four data files; Lua 5.4 running `init.lua`, `tsa_init.lua` and `sink.lua` against the
//!   KumoMTA stub (`hostile::observe`: every event answers without error, `--validate`
//!   passes, pools come back with their members and weights, listeners get the sizes and
//!   durations written, every declared API user can log in); the Kubernetes JSON schemas and
//!   the API server's value rules (`k8s_rules.rs`) for every object, with replicas, storage,
//!   resources, probe timings and the scrape interval as written (the tables, durations and
//!   seconds of the helper files too); and a Rust port of KumoMTA's queue-name
//!   parser (`QueueNameComponents`), through which every (campaign, tenant, domain,
//!   routing domain) the deployment can produce must round-trip.
//!
//! A failure prints the generated `.kumo` files, first as generated and then shrunk (blocks
//! and lines removed while the same kind of failure persists), with the seed and case
//! number to replay it: `KUMOC_PROPERTY_SEED=<seed> KUMOC_PROPERTY_CASE=<n> cargo test --test
//! it property`. CI runs a fixed seed; `KUMOC_PROPERTY_ITERATIONS` runs more cases.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use kumoc_compiler::{Analysis, Environment, Options, Severity, analyze};
use serde_json::{Value as Json, json};

use crate::helper_schemas;
use crate::hostile::{Scratch, kumo_literal, observe};
use crate::k8s_rules;
use crate::support::root;

// ---------------------------------------------------------------------------------------------
// The PRNG
// ---------------------------------------------------------------------------------------------

/// SplitMix64: tiny, fast, and the same sequence on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

// ---------------------------------------------------------------------------------------------
// KumoMTA's queue names, ported from `crates/message/src/message.rs`
// ---------------------------------------------------------------------------------------------

/// `QueueNameComponents`: a scheduled queue is named `campaign:tenant@domain!routing_domain`
/// (each part but the domain optional), and KumoMTA splits the name back at the first `@`,
/// then the prefix at the first `:`, then the domain at the first `!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueNameComponents {
    pub campaign: Option<String>,
    pub tenant: Option<String>,
    pub domain: String,
    pub routing_domain: Option<String>,
}

fn crack_domain(domain: &str) -> (String, Option<String>) {
    match domain.split_once('!') {
        Some((d, r)) => (d.to_string(), Some(r.to_string())),
        None => (domain.to_string(), None),
    }
}

impl QueueNameComponents {
    pub fn parse(name: &str) -> Self {
        match name.split_once('@') {
            Some((prefix, domain)) => {
                let (domain, routing_domain) = crack_domain(domain);
                match prefix.split_once(':') {
                    Some((campaign, tenant)) => Self {
                        campaign: Some(campaign.to_string()),
                        tenant: Some(tenant.to_string()),
                        domain,
                        routing_domain,
                    },
                    None => Self {
                        campaign: None,
                        tenant: Some(prefix.to_string()),
                        domain,
                        routing_domain,
                    },
                }
            }
            None => {
                let (domain, routing_domain) = crack_domain(name);
                Self {
                    campaign: None,
                    tenant: None,
                    domain,
                    routing_domain,
                }
            }
        }
    }

    pub fn format(&self) -> String {
        let rd = self
            .routing_domain
            .as_ref()
            .map(|r| format!("!{r}"))
            .unwrap_or_default();
        let d = &self.domain;
        match (&self.campaign, &self.tenant) {
            (Some(c), Some(t)) => format!("{c}:{t}@{d}{rd}"),
            (Some(c), None) => format!("{c}:@{d}{rd}"),
            (None, Some(t)) => format!("{t}@{d}{rd}"),
            (None, None) => format!("{d}{rd}"),
        }
    }
}

#[test]
fn queue_name_port_matches_kumomtas_own_tests() {
    // The cases of `test_queue_name` in KumoMTA's message.rs.
    let q = QueueNameComponents::parse;
    assert_eq!(q("foo.com").domain, "foo.com");
    assert_eq!(q("tenant@foo.com").tenant.as_deref(), Some("tenant"));
    let c = q("campaign:@foo.com");
    assert_eq!(
        (c.campaign.as_deref(), c.tenant.as_deref()),
        (Some("campaign"), Some(""))
    );
    let c = q("campaign:tenant@foo.com!routing.com");
    assert_eq!(
        c,
        QueueNameComponents {
            campaign: Some("campaign".into()),
            tenant: Some("tenant".into()),
            domain: "foo.com".into(),
            routing_domain: Some("routing.com".into()),
        }
    );
    assert_eq!(c.format(), "campaign:tenant@foo.com!routing.com");
    // What the property relies on: a `:` or `@` in a tenant breaks the round trip.
    let bad = QueueNameComponents {
        campaign: None,
        tenant: Some("a:b".into()),
        domain: "foo.com".into(),
        routing_domain: None,
    };
    assert_ne!(QueueNameComponents::parse(&bad.format()), bad);
}

// ---------------------------------------------------------------------------------------------
// The generated text
// ---------------------------------------------------------------------------------------------

/// A statement of a `.kumo` file: a line (`name = value`) or a block with its body.
#[derive(Debug, Clone)]
enum Node {
    Line(String),
    Block(String, Vec<Node>),
}

fn render(nodes: &[Node], indent: usize, out: &mut String) {
    for n in nodes {
        let pad = "  ".repeat(indent);
        match n {
            Node::Line(l) => {
                out.push_str(&pad);
                out.push_str(l);
                out.push('\n');
            }
            Node::Block(head, body) => {
                out.push_str(&format!("{pad}{head} {{\n"));
                render(body, indent + 1, out);
                out.push_str(&format!("{pad}}}\n"));
            }
        }
    }
}

/// One generated case: its files, the `--env` it is built with, its hostility and what the
/// consumers must read back if kumoc builds it.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    files: Vec<(String, Vec<Node>)>,
    pub(crate) env: Option<Environment>,
    pub(crate) hostility: usize,
    expect: Expect,
}

impl Case {
    pub(crate) fn texts(&self) -> Vec<(String, Vec<u8>)> {
        self.files
            .iter()
            .map(|(name, nodes)| {
                let mut s = String::new();
                render(nodes, 0, &mut s);
                (name.clone(), s.into_bytes())
            })
            .collect()
    }
    /// The case without its `webhook` blocks: `kumoc import` has no place for log hooks
    /// (K4004), so the import round trip leaves them out.
    pub(crate) fn without_webhooks(mut self) -> Case {
        for (_, nodes) in &mut self.files {
            nodes.retain(|n| !matches!(n, Node::Block(head, _) if head.starts_with("webhook ")));
        }
        self.expect.calls.retain(|c| c.0 != "log_hooks:new");
        self
    }
    fn shown(&self) -> String {
        let mut out = format!(
            "--env {}\n",
            self.env.map_or("(the deployment's)", |e| e.name())
        );
        for (name, bytes) in self.texts() {
            out.push_str(&format!(
                "----- {name}\n{}",
                String::from_utf8_lossy(&bytes)
            ));
        }
        out
    }
}

/// What a built case must read back: names (as written) and values (exactly, in the unit
/// the consumer uses). Computed by the generator from what it wrote, not from kumoc.
#[derive(Debug, Clone, Default)]
struct Expect {
    /// (pool, [(source, weight)]) as the pools table and `get_egress_pool` return them.
    pools: Vec<(String, Vec<(String, u64)>)>,
    /// Every source a pool names (defined inline or at the top level).
    sources: BTreeSet<String>,
    /// Tenants and their campaigns (`[tenant."t".campaigns."c"]`).
    tenants: Vec<(String, Vec<String>)>,
    /// Queue domain (`None`: `default`), its max_age in ms, its routing domain, its tenants
    /// and their campaigns.
    queues: Vec<QueueExpect>,
    /// Shaping keys (`None`: default) and the source names of their overrides.
    shaping: Vec<(Option<String>, Vec<String>)>,
    /// DKIM domain → selector.
    dkim: Vec<(String, String)>,
    /// MTA replicas (when not autoscaled), spool bytes, resources as quantities of base units.
    mta_replicas: Option<u64>,
    spool_bytes: Option<u128>,
    resources: BTreeMap<String, k8s_rules::Quantity>,
    sink_routing: bool,
    /// (Lua call, parameter, value): what the policy passes to KumoMTA.
    calls: Vec<(&'static str, &'static str, Json)>,
    /// API users who must be able to authenticate.
    users: Vec<String>,
    /// (output file, JSON pointer, value): a number, or a duration in ms that the string at
    /// the pointer must parse to (humantime for KumoMTA's files, Prometheus for the
    /// ServiceMonitor).
    values: Vec<(&'static str, String, Json)>,
}

#[derive(Debug, Clone, Default)]
struct QueueExpect {
    domain: Option<String>,
    max_age_ms: Option<u128>,
    routing_domain: Option<String>,
    tenants: Vec<(String, Vec<String>)>,
}

// ---------------------------------------------------------------------------------------------
// Hostile alphabets and boundary values
// ---------------------------------------------------------------------------------------------

/// Keys of the tables kumoc's names become keys of (queues.toml, shaping.toml, sources.toml,
/// dkim_data.toml) and other words with a meaning to one consumer or another.
const FIELD_WORDS: &[&str] = &[
    "max_age",
    "retry_interval",
    "max_retry_interval",
    "egress_pool",
    "max_message_rate",
    "protocol",
    "reap_interval",
    "refresh_interval",
    "timerwheel_tick_interval",
    "strategy",
    "refresh_strategy",
    "provider_name",
    "shrink_policy",
    "overall_max_message_rate",
    "routing_domain",
    "require_authz",
    "campaigns",
    "tenants",
    "tenant",
    "queue",
    "default",
    "provider",
    "source",
    "sources",
    "pool",
    "weight",
    "name",
    "ttl",
    "automation",
    "mx_rollup",
    "replace_base",
    "base",
    "domain",
    "signature",
    "unspecified",
    "match",
    "connection_limit",
    "additional_connection_limits",
    "enable_tls",
    "selector",
    "headers",
    "filename",
    "tenant_header",
    "default_tenant",
    "null",
    "true",
    "yes",
    "~",
    "nil",
    "end",
    "_G",
];

/// Characters and sequences that mean something to TOML, Lua, YAML, shells, KumoMTA's queue
/// names, or terminals.
const HOSTILE_BITS: &[&str] = &[
    "@", ":", "@", ":", "!", ".", "\"", "'", "\\", "[", "]", "=", "#", "$", "{", "}", "!", "/",
    "*", "%", "-", "_", " ", "é", "📨", "\u{202e}", "\u{200b}", "\u{feff}", "中", "|", "&", "`",
    ",", "?", "<", ">", "+", "^", "--", "]]", "[[", "]=]", "${x}", "\n", "\t", "\0", "\r",
    "\u{85}", "..", "\u{2028}", "A", "Z",
];

fn sane_stem(rng: &mut Rng) -> String {
    const SYL: &[&str] = &["ka", "mo", "ta", "ri", "su", "ne", "lo", "pi", "xo", "ve"];
    let mut s = String::new();
    for _ in 0..rng.range(1, 3) {
        s.push_str(rng.pick(SYL));
    }
    if rng.chance(30) {
        s.push('-');
        s.push_str(&rng.range(0, 99).to_string());
    }
    s
}

/// A name that may be anything a user could type.
fn hostile_name(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=2 => {
            let w = rng.pick(FIELD_WORDS).to_string();
            if rng.chance(20) { w.to_uppercase() } else { w }
        }
        3..=6 => {
            let mut s = sane_stem(rng);
            for _ in 0..rng.range(1, 2) {
                let bit = rng.pick(HOSTILE_BITS);
                let at = match rng.below(3) {
                    0 => 0,
                    1 => s.len(),
                    _ => s
                        .char_indices()
                        .map(|(i, _)| i)
                        .nth(rng.below(s.chars().count()))
                        .unwrap_or(0),
                };
                s.insert_str(at, bit);
            }
            s
        }
        7 => (0..rng.range(1, 4))
            .map(|_| rng.pick(HOSTILE_BITS))
            .collect(),
        8 => {
            let len = rng.pick(&[52usize, 53, 62, 63, 64, 200, 252, 253, 254, 1000]);
            let stem = sane_stem(rng);
            stem.chars().cycle().take(len).collect()
        }
        _ => rng
            .pick(&[
                "", " ", ".", "..", "-a", "a-", "1abc", "ABC", "a.b", "a_b", "a b", "0",
            ])
            .to_string(),
    }
}

/// A name: sane most of the time, hostile with a probability set by the case (names are
/// where the consumers' grammars bite, so twice as often as values).
fn name(g: &mut Gen, kind: &str) -> String {
    if g.hostile("name") {
        hostile_name(&mut g.rng)
    } else {
        g.counter += 1;
        format!("{}{}-{kind}", sane_stem(&mut g.rng), g.counter)
    }
}

fn hostile_domain(rng: &mut Rng) -> String {
    match rng.below(12) {
        0 => "Upper.Example.NET".into(),
        1 => "under_score.example.net".into(),
        2 => rng
            .pick(&[
                "provider",
                "provider",
                "default",
                "queue",
                "localhost",
                "sources",
            ])
            .to_string(),
        3 => format!("{}.example.net", "a".repeat(rng.pick(&[62usize, 63, 64]))),
        4 => {
            // Total length around 253: 62-character labels, then one to fill.
            let target = rng.pick(&[252usize, 253, 254]);
            let mut s = String::new();
            while target - s.len() > 62 + 1 + 4 {
                s.push_str(&"b".repeat(62));
                s.push('.');
            }
            s.push_str(&"c".repeat(target - s.len() - 4));
            s.push_str(".net");
            s
        }
        5 => "*.wild.example.net".into(),
        6 => rng
            .pick(&[
                "a..b.example",
                "-a.example.net",
                "a-.example.net",
                "a.example.net.",
            ])
            .to_string(),
        7 => rng
            .pick(&["10.0.0.1", "[10.0.0.1]", "2001:db8::1"])
            .to_string(),
        8 => "xn--bcher-kva.example".into(),
        9 => rng
            .pick(&["a@b.example", "a!b.example", "a:b.example", "a b.example"])
            .to_string(),
        10 => format!("{}.example.net", hostile_name(rng)),
        _ => "é.example".into(),
    }
}

fn domain(g: &mut Gen) -> String {
    if g.hostile("domain") {
        hostile_domain(&mut g.rng)
    } else {
        g.counter += 1;
        format!("{}{}.example.net", sane_stem(&mut g.rng), g.counter)
    }
}

/// A size literal and its exact value in bytes (`None` when it is not a whole number of
/// bytes, or not a quantity at all), computed by the test's own quantity parser.
fn size(g: &mut Gen, sane: &[&str]) -> (String, Option<u128>) {
    let text = if g.hostile("size") {
        boundary(
            g,
            &[
                "0",
                "1",
                "7Ei",
                "8Ei",
                "9223372036854775807",
                "9223372036854775808",
                "15Ei",
            ],
            &[
                "16Ei",
                "18446744073709551616",
                "0.5Gi",
                "1.5Ki",
                "0.5",
                "1e3",
                "1E18",
                "1e19",
                "1k",
                "1m",
                "1Gb",
                "-1Gi",
            ],
        )
    } else {
        g.rng.pick(sane).to_string()
    };
    let bytes = k8s_rules::quantity(&text).ok().and_then(|q| q.whole());
    (text, bytes)
}

/// A hostile value: most often one the grammar accepts but a consumer might not (a
/// boundary), else a malformed one.
fn boundary(g: &mut Gen, in_grammar: &[&str], malformed: &[&str]) -> String {
    if g.rng.chance(70) {
        g.rng.pick(in_grammar).to_string()
    } else {
        g.rng.pick(malformed).to_string()
    }
}

/// A CPU literal and its exact value in cores.
fn cpu(g: &mut Gen, sane: &[&str]) -> (String, Option<k8s_rules::Quantity>) {
    let text = if g.hostile("cpu") {
        boundary(
            g,
            &[
                "0",
                "1m",
                "9223372036854775807m",
                "9223372036854775808m",
                "9223372036854775",
                "9223372036854776",
                "2000m",
                "1.5",
            ],
            &["0.0001", "18446744073709551616m", "1c", "-1"],
        )
    } else {
        g.rng.pick(sane).to_string()
    };
    let q = k8s_rules::quantity(&text).ok();
    (text, q)
}

/// A duration literal and its value in ms (`None` when it is not a duration literal).
fn duration(g: &mut Gen, sane: &[&str]) -> (String, Option<u128>) {
    let text = if g.hostile("duration") {
        boundary(
            g,
            &[
                "0s",
                "1ms",
                "999ms",
                "2147483647s",
                "2147483648s",
                "24855d",
                "24856d",
                "106751991167d",
                "106751991168d",
                "1h30m",
            ],
            &[
                "213503982334601d",
                "18446744073709551615ms",
                "18446744073709551616ms",
                "1.5h",
                "-1s",
            ],
        )
    } else {
        g.rng.pick(sane).to_string()
    };
    (text.clone(), duration_ms(&text))
}

/// The value of a `.kumo` duration literal (`1h30m`, `500ms`, `7d`) in ms, computed here.
fn duration_ms(s: &str) -> Option<u128> {
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        let value: u128 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let ms: u128 = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            _ => return None,
        };
        total = total.checked_add(value.checked_mul(ms)?)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

fn int(g: &mut Gen, sane: std::ops::RangeInclusive<u64>, hostile: &[&str]) -> String {
    if g.hostile("int") {
        g.rng.pick(hostile).to_string()
    } else {
        g.rng.range(*sane.start(), *sane.end()).to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------------

const RELEASES: &[&str] = &[
    "2024.11.08-d383b033",
    "2025.03.19-1d3f1f67",
    "2025.05.06-b29689af",
    "2025.12.02-67ee9e96",
    "2026.03.04-bb93ecb1",
    "2026.04.09-ea3b2a9b",
    "2026.06.23-f3af1cd0",
    "2026.09.22-a276d4a8",
];

struct Gen {
    rng: Rng,
    counter: usize,
    /// The environment the case is built for (decides which overlay applies).
    effective: Environment,
    /// Draws so far, and which of them are hostile. A few hostile draws per case: one
    /// refused value masks every other one in its case, so a case tests one to three hostile
    /// things. Half the cases scatter them (each at a uniformly chosen draw); the other half
    /// focus on one kind of draw (domains, sizes, user names, ...), where each draw of that
    /// kind is hostile with a high chance, so rare sites of a kind are reached too.
    draws: usize,
    hostile_at: Vec<usize>,
    focus: Option<&'static str>,
    budget: usize,
}

/// About how many times a case asks whether to be hostile.
const DRAWS: usize = 60;

/// The kinds of draws, for focused cases.
const KINDS: &[&str] = &[
    "name", "domain", "size", "cpu", "duration", "int", "k8s-name", "selector", "key", "header",
    "text", "user", "port", "percent", "ip",
];

impl Gen {
    fn hostile(&mut self, kind: &'static str) -> bool {
        let i = self.draws;
        self.draws += 1;
        match self.focus {
            Some(f) => {
                let yes = f == kind && self.budget > 0 && self.rng.chance(40);
                self.budget -= usize::from(yes);
                yes
            }
            None => self.hostile_at.contains(&i),
        }
    }
}

fn q(s: &str) -> String {
    kumo_literal(s)
}

fn line(s: impl Into<String>) -> Node {
    Node::Line(s.into())
}

fn block(head: impl Into<String>, body: Vec<Node>) -> Node {
    Node::Block(head.into(), body)
}

/// Generate case `n` of the run seeded `seed`.
pub(crate) fn generate(seed: u64, n: u64) -> Case {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    let hostility = [0, 1, 1, 1, 2, 3][rng.below(6)];
    let hostile_at = (0..hostility).map(|_| rng.below(DRAWS)).collect();
    let focus = (hostility > 0 && rng.chance(50)).then(|| rng.pick(KINDS));
    let declared = if rng.chance(25) {
        Environment::Production
    } else {
        Environment::Staging
    };
    let env = match rng.below(4) {
        0 => Some(Environment::Production),
        1 => Some(Environment::Staging),
        _ => None,
    };
    let mut g = Gen {
        rng,
        counter: 0,
        effective: env.unwrap_or(declared),
        draws: 0,
        hostile_at,
        focus,
        budget: hostility,
    };
    let production = g.effective == Environment::Production;
    let mut ex = Expect::default();
    let mut top: Vec<Node> = Vec::new();
    let version = g.rng.pick(RELEASES);

    // The deployment.
    let dep_name = if g.hostile("k8s-name") {
        hostile_name(&mut g.rng)
    } else {
        let n = g.rng.pick(&["mta", "kumo-prod", "example-com", "m1"]);
        // Lengths at the derived names' limits, now and then.
        match g.rng.below(8) {
            0 => format!("a{}", "b".repeat(g.rng.range(38, 47) as usize)),
            _ => n.to_string(),
        }
    };
    let namespace = if g.hostile("k8s-name") {
        g.rng
            .pick(&[
                "Kumo",
                "kumo.mta",
                "1kumo",
                "-kumo",
                &"n".repeat(63),
                &"n".repeat(64),
                "kube-system",
            ])
            .to_string()
    } else {
        g.rng.pick(&["kumomta", "mail", "ns-1"]).to_string()
    };
    let mut dep = vec![
        line(format!("namespace = {}", q(&namespace))),
        line(format!("kumomta = {}", q(version))),
        line(format!("environment = {}", declared.name())),
    ];
    if g.rng.chance(20) {
        dep.push(line("create_namespace = true"));
    }
    top.push(block(format!("deployment {}", q(&dep_name)), dep));

    // Secrets and DKIM.
    let mut secrets: Vec<Node> = Vec::new();
    let dkim_secret = name(&mut g, "dkim");
    let mut dkim_keys: Vec<String> = Vec::new();
    for _ in 0..g.rng.below(3) {
        let d = domain(&mut g);
        let selector = if g.hostile("selector") {
            g.rng
                .pick(&[
                    "s.1",
                    "S_1",
                    "../x",
                    "a/b",
                    "",
                    "s 1",
                    "-s",
                    &"s".repeat(64),
                ])
                .to_string()
        } else {
            format!("s{}", g.rng.range(1, 2048))
        };
        let key = if g.hostile("key") {
            g.rng
                .pick(&["..key", ".key", "a/b", "k:1", "UPPER.key", "a_b-c.key", "."])
                .to_string()
        } else {
            g.counter += 1;
            format!("key-{}.pem", g.counter)
        };
        dkim_keys.push(key.clone());
        ex.dkim.push((d.to_ascii_lowercase(), selector.clone()));
        top.push(block(
            format!("domain {}", q(&d)),
            vec![block("dkim", {
                let mut dk = vec![
                    line(format!("selector = {}", q(&selector))),
                    line(format!("key = secret({}, {})", q(&dkim_secret), q(&key))),
                ];
                if g.rng.chance(40) {
                    let (e, ms) = duration(&mut g, &["30d", "7d", "12h"]);
                    dk.push(line(format!("expiration = {e}")));
                    if let Some(ms) = ms {
                        ex.values.push((
                            "policy/dkim_data.toml",
                            format!(
                                "/domain/{}/expiration",
                                pointer_escape(&d.to_ascii_lowercase())
                            ),
                            seconds_of(ms),
                        ));
                    }
                }
                dk
            })],
        ));
    }
    if !dkim_keys.is_empty() {
        let keys: Vec<String> = dkim_keys.iter().map(|k| q(k)).collect();
        secrets.push(block(
            format!("secret {}", q(&dkim_secret)),
            vec![line(format!("keys = [{}]", keys.join(", ")))],
        ));
        top.push(block(
            "dkim_defaults",
            vec![line("headers = [\"From\", \"To\", \"Subject\", \"Date\"]")],
        ));
    }

    // Sources (some at the top level, shared by pools) and pools (which may also define
    // their own sources inline, each in exactly one pool).
    let mut pool_names = Vec::new();
    let mut all_sources: Vec<String> = Vec::new();
    let mut shared_sources: Vec<String> = Vec::new();
    for _ in 0..g.rng.below(3) {
        let sname = name(&mut g, "shared");
        let ehlo = if g.hostile("domain") {
            hostile_domain(&mut g.rng)
        } else {
            "mta.example.com".to_string()
        };
        let mut sb = vec![line(format!("ehlo_domain = {}", q(&ehlo)))];
        if g.rng.chance(40) {
            let (t, ms) = duration(&mut g, &["60s", "5m"]);
            sb.push(line(format!("ttl = {t}")));
            if let Some(ms) = ms {
                ex.values.push((
                    "policy/sources.toml",
                    format!("/source/{}/ttl", pointer_escape(&sname)),
                    big(ms),
                ));
            }
        }
        if g.rng.chance(30) {
            let addr = if g.hostile("ip") {
                g.rng
                    .pick(&[
                        "0.0.0.0",
                        "::",
                        "::ffff:10.0.0.1",
                        "10.0.0.256",
                        "fe80::1%eth0",
                        "[2001:db8::1]",
                        "10.0.0.1/32",
                    ])
                    .to_string()
            } else {
                format!("10.1.0.{}", g.rng.range(1, 254))
            };
            sb.push(line(format!("source_address = {}", q(&addr))));
        }
        top.push(block(format!("source {}", q(&sname)), sb));
        shared_sources.push(sname.clone());
        all_sources.push(sname);
    }
    for _ in 0..g.rng.range(1, 3) {
        let pname = name(&mut g, "pool");
        let mut members: Vec<(String, u64)> = Vec::new();
        let mut body = Vec::new();
        for _ in 0..g.rng.below(4) {
            let shared = !shared_sources.is_empty() && g.rng.chance(40);
            let sname = if shared {
                g.rng.pick(&shared_sources)
            } else {
                name(&mut g, "src")
            };
            if members.iter().any(|(m, _)| *m == sname) {
                continue;
            }
            let weight_text = int(
                &mut g,
                1..=10,
                &["0", "1", "4294967295", "4294967296", "-1"],
            );
            let weight: u64 = weight_text.parse().unwrap_or(0);
            let mut sb = vec![line(format!("weight = {weight_text}"))];
            if !shared {
                let ehlo = if g.hostile("domain") {
                    hostile_domain(&mut g.rng)
                } else {
                    "mta.example.com".to_string()
                };
                sb.push(line(format!("ehlo_domain = {}", q(&ehlo))));
                all_sources.push(sname.clone());
            }
            members.push((sname.clone(), weight));
            ex.sources.insert(sname.clone());
            body.push(block(format!("source {}", q(&sname)), sb));
        }
        // A pool that can send, unless hostile.
        if !g.hostile("int") && members.iter().all(|(_, w)| *w == 0) {
            let sname = name(&mut g, "src");
            members.push((sname.clone(), 1));
            ex.sources.insert(sname.clone());
            all_sources.push(sname.clone());
            body.push(block(
                format!("source {}", q(&sname)),
                vec![line("ehlo_domain = \"mta.example.com\"")],
            ));
        }
        ex.pools.push((pname.clone(), members));
        pool_names.push(pname.clone());
        top.push(block(format!("pool {}", q(&pname)), body));
    }

    // Tenants.
    let mut tenant_names = Vec::new();
    for _ in 0..g.rng.below(4) {
        let t = name(&mut g, "tenant");
        let mut body = vec![line(format!(
            "egress_pool = {}",
            q(&g.rng.pick(&pool_names))
        ))];
        let mut campaigns = Vec::new();
        for _ in 0..g.rng.below(3) {
            let c = name(&mut g, "campaign");
            body.push(block(
                format!("campaign {}", q(&c)),
                vec![line("overall_max_message_rate = 10/s")],
            ));
            campaigns.push(c);
        }
        ex.tenants.push((t.clone(), campaigns));
        tenant_names.push(t.clone());
        top.push(block(format!("tenant {}", q(&t)), body));
    }
    if !tenant_names.is_empty() {
        let header = |g: &mut Gen, sane: &str| {
            if g.hostile("header") {
                g.rng
                    .pick(&["X Tenant", "X:T", "", "X-é", "X-Tenant\n"])
                    .to_string()
            } else {
                sane.to_string()
            }
        };
        let th = header(&mut g, "X-Tenant");
        let ch = header(&mut g, "X-Campaign");
        let dt = g.rng.pick(&tenant_names);
        top.push(block(
            "tenancy",
            vec![
                line(format!("tenant_header = {}", q(&th))),
                line(format!("campaign_header = {}", q(&ch))),
                line(format!("default_tenant = {}", q(&dt))),
                line("remove_tenant_header = true"),
                line("remove_campaign_header = true"),
            ],
        ));
    }

    // Queues.
    let mut queue_default_age = None;
    let queues = g.rng.range(1, 3);
    for i in 0..queues {
        let key = if i == 0 { None } else { Some(domain(&mut g)) };
        let (age_text, age_ms) = duration(&mut g, &["1h", "24h", "2d", "90m", "1h30m"]);
        let mut body = vec![
            line(format!("egress_pool = {}", q(&g.rng.pick(&pool_names)))),
            line(format!("max_age = {age_text}")),
        ];
        let mut qe = QueueExpect {
            domain: key.clone().map(|k| k.to_ascii_lowercase()),
            max_age_ms: age_ms,
            ..QueueExpect::default()
        };
        if key.is_some() && g.rng.chance(40) {
            let rd = if g.hostile("domain") {
                g.rng
                    .pick(&[
                        "[2001:db8::1]",
                        "[IPv6:2001:db8::1]",
                        "a@b.example",
                        "a!b.example",
                        "relay.example.net:25",
                        "[10.0.0.1",
                        "",
                        "[10.0.0.256]",
                    ])
                    .to_string()
            } else if g.rng.chance(50) {
                format!("[10.0.0.{}]", g.rng.range(1, 254))
            } else {
                format!("relay{}.example.net", g.rng.range(1, 9))
            };
            body.push(line(format!("routing_domain = {}", q(&rd))));
            qe.routing_domain = Some(rd);
        }
        if !tenant_names.is_empty() {
            for _ in 0..g.rng.below(3) {
                let t = g.rng.pick(&tenant_names);
                if qe.tenants.iter().any(|(x, _)| *x == t) {
                    continue;
                }
                let (ta, _) = duration(&mut g, &["2h", "3h"]);
                let mut tb = vec![line(format!("max_age = {ta}"))];
                let mut cs = Vec::new();
                for _ in 0..g.rng.below(3) {
                    let c = name(&mut g, "qcampaign");
                    let (ca, _) = duration(&mut g, &["4h", "5h"]);
                    tb.push(block(
                        format!("campaign {}", q(&c)),
                        vec![line(format!("max_age = {ca}"))],
                    ));
                    cs.push(c);
                }
                body.push(block(format!("tenant {}", q(&t)), tb));
                qe.tenants.push((t, cs));
            }
        }
        if key.is_none() {
            queue_default_age = Some(age_ms);
        }
        let head = match &key {
            None => "queue default".to_string(),
            Some(k) => format!("queue {}", q(k)),
        };
        ex.queues.push(qe);
        top.push(block(head, body));
    }

    // Shaping.
    for i in 0..g.rng.range(1, 3) {
        let key = if i == 0 { None } else { Some(domain(&mut g)) };
        let mut body = vec![line(if production {
            "enable_tls = required"
        } else {
            "enable_tls = opportunistic"
        })];
        if key.is_some() {
            body.push(line("mx_rollup = false"));
        }
        if g.rng.chance(40) {
            let (t, ms) = duration(&mut g, &["60s", "30s"]);
            body.push(line(format!("connect_timeout = {t}")));
            if let Some(ms) = ms {
                let k = key
                    .clone()
                    .map_or("default".to_string(), |k| k.to_ascii_lowercase());
                ex.values.push((
                    "policy/shaping.toml",
                    format!("/{}/connect_timeout", pointer_escape(&k)),
                    big(ms),
                ));
            }
        }
        if g.rng.chance(30) {
            let port = int(&mut g, 25..=25, &["0", "1", "465", "587", "65535", "65536"]);
            body.push(line(format!("smtp_port = {port}")));
        }
        if g.rng.chance(20) {
            let cidr = if g.hostile("ip") {
                g.rng
                    .pick(&[
                        "10.0.0.1/8",
                        "10.0.0.0/33",
                        "::1/129",
                        "0.0.0.0/0",
                        "\"::/0\"",
                    ])
                    .to_string()
            } else {
                "10.0.0.0/8".to_string()
            };
            body.push(line(format!("prohibited_hosts = [127.0.0.0/8, {cidr}]")));
        }
        let mut srcs = Vec::new();
        if !all_sources.is_empty() && g.rng.chance(50) {
            let s = g.rng.pick(&all_sources);
            body.push(block(
                format!("source {}", q(&s)),
                vec![line("max_message_rate = 5/s")],
            ));
            srcs.push(s);
        }
        if g.rng.chance(30) {
            let k = name(&mut g, "limit");
            body.push(block(
                "additional_connection_limits",
                vec![line(format!("{} = 10", q(&k)))],
            ));
        }
        ex.shaping
            .push((key.clone().map(|k| k.to_ascii_lowercase()), srcs));
        let head = match &key {
            None => "shaping default".to_string(),
            Some(k) => format!("shaping {}", q(k)),
        };
        top.push(block(head, body));
    }
    if g.rng.chance(30) {
        let p = name(&mut g, "provider");
        let suffix = if g.hostile("domain") {
            hostile_domain(&mut g.rng)
        } else {
            format!(".{}", domain(&mut g))
        };
        let rule = g.rng.pick(&["domain_suffix", "mx_suffix"]);
        let mut body = vec![
            line(format!("match = [{rule}({})]", q(&suffix))),
            line("provider_connection_limit = 5"),
        ];
        // (`provider_source_selection_rate` and `additional_source_selection_rates` exist
        // from 2025.03.19, and kumoc refuses them on older releases: K2008.)
        if !all_sources.is_empty() && g.rng.chance(50) && version >= "2025.03.19" {
            let s = g.rng.pick(&all_sources);
            body.push(block(
                format!("source {}", q(&s)),
                vec![line("provider_source_selection_rate = 10/s")],
            ));
        }
        top.push(block(format!("provider {}", q(&p)), body));
    }
    // Automation: actions on tenants and campaigns, set_config with names and durations.
    if g.rng.chance(40) {
        let regex = if g.hostile("text") {
            hostile_name(&mut g.rng)
        } else {
            "4\\.7\\.\\d+ .*rate".to_string()
        };
        let (dur, _) = duration(&mut g, &["1h", "30m"]);
        let action = match g.rng.below(4) {
            0 => "suspend".to_string(),
            1 => "suspend_tenant".to_string(),
            2 => format!("set_config(provider_name = {})", q(&name(&mut g, "prov"))),
            _ => {
                let (t, _) = duration(&mut g, &["30s", "2m"]);
                format!("set_config(connect_timeout = {t})")
            }
        };
        let key = domain(&mut g);
        top.push(block(
            format!("shaping {}", q(&key)),
            vec![
                line("mx_rollup = false"),
                block(
                    "automation",
                    vec![
                        line(format!("regex = {}", q(&regex))),
                        line(format!("action = {action}")),
                        line(format!("duration = {dur}")),
                    ],
                ),
                block(
                    if version >= "2025.03.19" && g.rng.chance(50) {
                        "additional_source_selection_rates"
                    } else {
                        "additional_message_rate_throttles"
                    },
                    vec![line(format!("{} = 100/h", q(&name(&mut g, "throttle"))))],
                ),
            ],
        ));
        ex.shaping
            .push((Some(key.to_ascii_lowercase()), Vec::new()));
    }

    // Listeners and logging.
    let mut smtp = Vec::new();
    if g.rng.chance(50) {
        let host = if g.hostile("domain") {
            hostile_domain(&mut g.rng)
        } else {
            "mta.example.com".to_string()
        };
        smtp.push(line(format!("hostname = {}", q(&host))));
    }
    if g.rng.chance(30) {
        let banner = if g.hostile("text") {
            hostile_name(&mut g.rng)
        } else {
            "Welcome".to_string()
        };
        smtp.push(line(format!("banner = {}", q(&banner))));
    }
    if g.rng.chance(40) {
        let (text, bytes) = size(&mut g, &["20Mi", "50Mi", "1Gi"]);
        smtp.push(line(format!("max_message_size = {text}")));
        if let Some(b) = bytes {
            ex.calls
                .push(("kumo.start_esmtp_listener", "max_message_size", big(b)));
        }
    }
    if g.rng.chance(40) {
        let (text, ms) = duration(&mut g, &["60s", "5m"]);
        smtp.push(line(format!("client_timeout = {text}")));
        if let Some(ms) = ms {
            ex.calls
                .push(("kumo.start_esmtp_listener", "client_timeout", big(ms)));
        }
    }
    smtp.push(line("relay_hosts = [10.244.0.0/16]"));
    top.push(block("smtp_listener", smtp));
    if g.rng.chance(50) {
        let users_secret = name(&mut g, "users");
        let mut users = Vec::new();
        for _ in 0..g.rng.range(1, 3) {
            let u = if g.hostile("user") {
                g.rng
                    .pick(&[
                        "-alice", ".alice", "_bob", "a.b", "UPPER", "a-b", "..x", "x/y", "é", "1",
                    ])
                    .to_string()
            } else {
                name(&mut g, "user")
            };
            if !users.contains(&u) {
                users.push(u);
            }
        }
        let keys: Vec<String> = users.iter().map(|u| q(u)).collect();
        secrets.push(block(
            format!("secret {}", q(&users_secret)),
            vec![line(format!("keys = [{}]", keys.join(", ")))],
        ));
        let (limit, bytes) = size(&mut g, &["2Mi", "10Mi"]);
        top.push(block(
            "http_listener",
            vec![
                line(format!("users = secret({})", q(&users_secret))),
                line(format!("request_body_limit = {limit}")),
            ],
        ));
        if let Some(b) = bytes {
            ex.calls
                .push(("kumo.start_http_listener", "request_body_limit", big(b)));
        }
        ex.users = users;
    }
    if g.rng.chance(40) {
        let filter = if g.hostile("text") {
            g.rng
                .pick(&[
                    "kumod=debug",
                    "kumod=loud",
                    "=info",
                    "kumod[span]=info",
                    "info,",
                    "é=info",
                ])
                .to_string()
        } else {
            "kumod=info,lua=warn".to_string()
        };
        let header = if g.hostile("header") {
            hostile_name(&mut g.rng)
        } else {
            "Subject".to_string()
        };
        top.push(block(
            "logging",
            vec![
                line(format!("filter = {}", q(&filter))),
                line(format!("headers = [{}]", q(&header))),
            ],
        ));
    }

    // Event webhooks: each name becomes a log hook's name and the domain of its records'
    // queue (`<name>.log_hook`), so it must survive KumoMTA's queue-name parser.
    let mut webhooks: Vec<String> = Vec::new();
    for i in 0..g.rng.below(3) {
        let w = name(&mut g, "webhook");
        if webhooks.contains(&w) {
            continue;
        }
        let header = if g.hostile("header") {
            hostile_name(&mut g.rng)
        } else {
            "X-Customer-ID".to_string()
        };
        let mut body = vec![
            line(format!(
                "url = {}",
                q(&format!("https://hooks.example.com/{i}"))
            )),
            line("records = [delivery, bounce, transient_failure]"),
            line(format!("headers = [{}]", q(&header))),
        ];
        if g.rng.chance(50) {
            let (age, _) = duration(&mut g, &["1d", "7d", "12h"]);
            body.push(line(format!("max_age = {age}")));
        }
        top.push(block(format!("webhook {}", q(&w)), body));
        ex.calls.push(("log_hooks:new", "name", json!(w)));
        webhooks.push(w);
    }

    // The cluster.
    let (spool_text, spool_bytes) = if production {
        size(&mut g, &["20Gi", "25Gi", "100Gi", "1Ti"])
    } else {
        size(&mut g, &["1Gi", "25Gi", "100Gi", "512Mi"])
    };
    let replicas = int(&mut g, 1..=5, &["0", "1000", "1001", "2147483648"]);
    let mut mta = vec![
        line(format!("replicas = {replicas}")),
        line(format!("spool = {spool_text}")),
    ];
    if g.rng.chance(30) {
        let (t, ms) = duration(&mut g, &["300s", "60s"]);
        mta.push(line(format!("termination_grace_period = {t}")));
        if let Some(ms) = ms {
            ex.values.push((
                "k8s/statefulset-mta.yaml",
                "/spec/template/spec/terminationGracePeriodSeconds".into(),
                seconds_of(ms),
            ));
        }
    }
    if g.rng.chance(20) {
        let sc = if g.hostile("k8s-name") {
            g.rng.pick(&["Fast_SSD", "ssd.", "a..b"]).to_string()
        } else {
            "fast-ssd".to_string()
        };
        mta.push(line(format!("storage_class = {}", q(&sc))));
    }
    if g.rng.chance(40) {
        let ports = ["http", "metrics", "smtp"];
        let mut taken = BTreeSet::new();
        let mut pb = Vec::new();
        for p in ports {
            let v = if g.hostile("port") {
                g.rng
                    .pick(&[
                        "0", "1", "80", "1023", "1024", "8000", "8080", "2500", "65535", "65536",
                    ])
                    .to_string()
            } else {
                loop {
                    let v = g.rng.range(1024, 65535);
                    if taken.insert(v) && v != 8000 {
                        break v.to_string();
                    }
                }
            };
            pb.push(line(format!("{p} = {v}")));
        }
        mta.push(block("ports", pb));
    }
    let mut res_body = Vec::new();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    // Sane values keep requests ≤ limits; production needs requests (a lint asks for them).
    if production || g.rng.chance(60) {
        let (rc, rcq) = cpu(&mut g, &["500m", "1", "2"]);
        let (rm, rmb) = size(&mut g, &["1Gi", "2Gi"]);
        requests.push(line(format!("cpu = {rc}")));
        requests.push(line(format!("memory = {rm}")));
        if let Some(x) = rcq {
            ex.resources.insert("requests.cpu".into(), x);
        }
        if let Some(b) = rmb {
            ex.resources.insert(
                "requests.memory".into(),
                k8s_rules::Quantity { num: b, den: 1 },
            );
        }
        if production || g.rng.chance(60) {
            let (lc, lcq) = cpu(&mut g, &["2", "4"]);
            let (lm, lmb) = size(&mut g, &["4Gi", "8Gi"]);
            limits.push(line(format!("cpu = {lc}")));
            limits.push(line(format!("memory = {lm}")));
            if let Some(x) = lcq {
                ex.resources.insert("limits.cpu".into(), x);
            }
            if let Some(b) = lmb {
                ex.resources.insert(
                    "limits.memory".into(),
                    k8s_rules::Quantity { num: b, den: 1 },
                );
            }
        }
    }
    if !requests.is_empty() {
        res_body.push(block("requests", requests));
    }
    if !limits.is_empty() {
        res_body.push(block("limits", limits));
    }
    if !res_body.is_empty() {
        mta.push(block("resources", res_body));
    }
    let autoscale = g.rng.chance(30);
    if autoscale {
        let min = int(&mut g, 1..=3, &["0", "1", "1000", "1001"]);
        let max = int(&mut g, 3..=10, &["1", "1000", "1001"]);
        let pct = if g.hostile("percent") {
            g.rng.pick(&["0%", "1%", "100%", "101%"]).to_string()
        } else {
            format!("{}%", g.rng.range(50, 90))
        };
        let mut body = vec![
            line(format!("min = {min}")),
            line(format!("max = {max}")),
            line(format!("cpu = {pct}")),
        ];
        // Queue-depth autoscaling: a KEDA ScaledObject instead of the HPA.
        if g.rng.chance(30) {
            let depth = int(&mut g, 100..=50_000, &["0", "1", "1000000001"]);
            body.push(line("on = queue_depth"));
            body.push(line(format!("queue_depth = {depth}")));
            body.push(line(
                "prometheus = \"http://prometheus-operated.monitoring.svc:9090\"",
            ));
        }
        mta.push(block("autoscale", body));
    } else {
        ex.mta_replicas = replicas.parse().ok();
    }
    if g.rng.chance(30) {
        let (p, pms) = duration(&mut g, &["10s", "30s"]);
        let (t, tms) = duration(&mut g, &["1s", "5s"]);
        let (d, dms) = duration(&mut g, &["0s", "15s"]);
        let probe = g.rng.pick(&["readiness", "startup", "liveness"]);
        mta.push(block(
            "probes",
            vec![block(
                probe,
                vec![
                    line(format!("period = {p}")),
                    line(format!("timeout = {t}")),
                    line(format!("initial_delay = {d}")),
                ],
            )],
        ));
        let at = format!("/spec/template/spec/containers/0/{probe}Probe");
        for (field, ms) in [
            ("periodSeconds", pms),
            ("timeoutSeconds", tms),
            ("initialDelaySeconds", dms),
        ] {
            if let Some(ms) = ms {
                // An initial delay of 0 is written by leaving the field out.
                let want = if ms == 0 && field == "initialDelaySeconds" {
                    Json::Null
                } else {
                    seconds_of(ms)
                };
                ex.values
                    .push(("k8s/statefulset-mta.yaml", format!("{at}/{field}"), want));
            }
        }
    }
    ex.spool_bytes = spool_bytes;
    let mut cluster = vec![line("pod_cidr = 10.244.0.0/16"), block("mta", mta)];
    if g.rng.chance(60) {
        let tsa_replicas = int(&mut g, 1..=3, &["0", "16", "17"]);
        let (st, _) = size(&mut g, &["1Gi", "5Gi"]);
        let mut tsa = vec![
            line(format!("replicas = {tsa_replicas}")),
            line(format!("storage = {st}")),
        ];
        if g.rng.chance(30) {
            let (rc, _) = cpu(&mut g, &["100m", "250m"]);
            let (lc, _) = cpu(&mut g, &["500m", "1"]);
            tsa.push(block(
                "resources",
                vec![
                    block("requests", vec![line(format!("cpu = {rc}"))]),
                    block("limits", vec![line(format!("cpu = {lc}"))]),
                ],
            ));
        }
        cluster.push(block("tsa", tsa));
    }
    let sink_port = if g.hostile("port") {
        Some(g.rng.pick(&["8000", "1024", "65535", "2525"]).to_string())
    } else {
        None
    };
    let mut sink = vec![line(format!("enabled = {}", !production))];
    if let Some(p) = &sink_port {
        sink.push(line(format!("port = {p}")));
    }
    cluster.push(block("sink", sink));
    if g.rng.chance(40) {
        let mut redis = vec![line("url = \"redis://redis.example.net:6379\"")];
        if g.rng.chance(50) {
            let sec = name(&mut g, "redis");
            let key = if g.hostile("key") {
                g.rng.pick(&["..pw", "pw.", "-pw", "p_w"]).to_string()
            } else {
                "password".to_string()
            };
            let user = if g.hostile("text") {
                hostile_name(&mut g.rng)
            } else {
                "kumo".to_string()
            };
            redis.push(line(format!("username = {}", q(&user))));
            redis.push(line(format!("password = secret({}, {})", q(&sec), q(&key))));
            secrets.push(block(
                format!("secret {}", q(&sec)),
                vec![line(format!("keys = [{}]", q(&key)))],
            ));
        }
        cluster.push(block("redis", redis));
    }
    if g.rng.chance(40) {
        let (iv, ivms) = duration(&mut g, &["30s", "1m", "15s"]);
        if let Some(ms) = ivms {
            ex.values.push((
                "k8s/servicemonitor-mta.yaml",
                "/spec/endpoints/0/interval".into(),
                big(ms),
            ));
        }
        let mut body = vec![
            line("service_monitor = true"),
            line(format!("interval = {iv}")),
        ];
        // Alerts (a PrometheusRule) and a dashboard (a ConfigMap).
        if g.rng.chance(40) {
            let ratio = int(&mut g, 1..=99, &["0", "100"]);
            let free = int(&mut g, 11..=60, &["0", "100"]);
            let (stuck, _) = duration(&mut g, &["1h", "6h"]);
            body.push(block(
                "alerts",
                vec![
                    line(format!("failure_ratio = {ratio}%")),
                    line(format!("spool_free = {free}%")),
                    line(format!("queue_stuck = {stuck}")),
                ],
            ));
        }
        if g.rng.chance(30) {
            body.push(block("dashboard", vec![line("folder = \"KumoMTA\"")]));
        }
        cluster.push(block("metrics", body));
    }
    top.push(block("cluster", cluster));
    ex.sink_routing = !production;

    // An overlay for the other environment, or for this one: it changes replicas, the default
    // queue's max_age and the sink, and the expectations follow the effective values.
    let mut overlays = Vec::new();
    if g.rng.chance(40) {
        let which = if g.rng.chance(50) {
            Environment::Production
        } else {
            Environment::Staging
        };
        let applies = which == g.effective;
        let mut ob = Vec::new();
        let new_replicas = g.rng.range(1, 4);
        ob.push(block(
            "cluster",
            vec![block(
                "mta",
                vec![line(format!("replicas = {new_replicas}"))],
            )],
        ));
        if queue_default_age.is_some() && g.rng.chance(50) {
            let (a, ms) = duration(&mut g, &["6h", "12h"]);
            ob.push(block("queue default", vec![line(format!("max_age = {a}"))]));
            if applies {
                if let Some(qd) = ex.queues.iter_mut().find(|x| x.domain.is_none()) {
                    qd.max_age_ms = ms;
                }
            }
        }
        if applies && !autoscale {
            ex.mta_replicas = Some(new_replicas);
        }
        // A campaign the overlay adds to a tenant (blocks merge by name).
        if !tenant_names.is_empty() && g.rng.chance(40) {
            let t = g.rng.pick(&tenant_names);
            let c = name(&mut g, "ecampaign");
            ob.push(block(
                format!("tenant {}", q(&t)),
                vec![block(
                    format!("campaign {}", q(&c)),
                    vec![line("overall_max_message_rate = 5/s")],
                )],
            ));
            if applies {
                if let Some((_, cs)) = ex.tenants.iter_mut().find(|(x, _)| *x == t) {
                    cs.push(c);
                }
            }
        }
        overlays.push(block(format!("env {}", which.name()), ob));
    }

    // Spread the blocks over one to three files, overlays anywhere.
    let nfiles = g.rng.range(1, 3) as usize;
    let mut files: Vec<(String, Vec<Node>)> = (0..nfiles)
        .map(|i| (format!("{}.kumo", ["main", "mail", "extra"][i]), Vec::new()))
        .collect();
    for node in top.into_iter().chain(secrets).chain(overlays) {
        let i = g.rng.below(nfiles);
        files[i].1.push(node);
    }
    if std::env::var("KUMOC_PROPERTY_DRAWS").is_ok() {
        eprintln!("case {n}: {} draws", g.draws);
    }
    Case {
        files,
        env,
        hostility,
        expect: ex,
    }
}

// ---------------------------------------------------------------------------------------------
// Running a case
// ---------------------------------------------------------------------------------------------

/// What went wrong with a case: a kind (the first word, which the shrinker keeps) and details.
#[derive(Debug, Clone)]
struct Failure {
    kind: &'static str,
    detail: String,
}

fn fail(kind: &'static str, detail: impl Into<String>) -> Failure {
    Failure {
        kind,
        detail: detail.into(),
    }
}

impl Failure {
    /// What must persist while shrinking: the kind, and the gist of the detail (its last
    /// clause without the names, or, for a refused sane case, the first error's code).
    fn key(&self) -> String {
        if self.kind == "refused-sane" {
            let first = self.detail.split('"').nth(1).unwrap_or("");
            return format!("{}:{}", self.kind, first.split(' ').next().unwrap_or(""));
        }
        if !matches!(
            self.kind,
            "k8s-api" | "k8s-schema" | "helper" | "toml" | "lua"
        ) {
            return self.kind.to_string();
        }
        // The gist: without quoted names, parenthesized values and numbers.
        let mut gist = String::new();
        let (mut quoted, mut depth) = (false, 0usize);
        let mut prev = ' ';
        for c in self.detail.lines().next().unwrap_or("").chars() {
            match c {
                '"' if prev != '\\' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth = depth.saturating_sub(1),
                c if quoted || depth > 0 || c.is_ascii_digit() => {}
                c => gist.push(c),
            }
            prev = c;
        }
        format!("{}:{}", self.kind, gist.trim())
    }
}

enum Outcome {
    Refused,
    Built,
}

/// Analyse and, if it builds, run every consumer; the failures found.
fn run(case: &Case, scratch: &Path) -> (Option<Outcome>, Vec<Failure>) {
    let files = case.texts();
    let options = Options {
        env: case.env,
        ..Options::default()
    };
    let analysis = match std::panic::catch_unwind(|| analyze(&files, &options)) {
        Ok(a) => a,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            return (
                None,
                vec![fail("panic", format!("analyze panicked: {msg}"))],
            );
        }
    };
    if analysis.has_errors() {
        let mut failures = Vec::new();
        if std::env::var("KUMOC_PROPERTY_VERBOSE").is_ok() {
            eprintln!("{}", crate::support::human(&analysis));
        }
        for d in analysis
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            if d.code.is_empty() || d.help.is_none() || !d.labels.iter().any(|l| l.primary) {
                failures.push(fail(
                    "uncoded",
                    format!(
                        "an error without code, primary label or help: {}",
                        d.message
                    ),
                ));
            }
        }
        if case.hostility == 0 {
            let shown: Vec<String> = analysis
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| format!("{} {}", d.code, d.message))
                .collect();
            failures.push(fail(
                "refused-sane",
                format!("a sane deployment was refused: {shown:?}"),
            ));
        }
        return (Some(Outcome::Refused), failures);
    }
    let failures = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        consumers(case, &analysis, scratch)
    })) {
        Ok(f) => f,
        Err(_) => vec![fail("panic", "emitting or a consumer panicked")],
    };
    (Some(Outcome::Built), failures)
}

fn consumers(case: &Case, analysis: &Analysis, scratch: &Path) -> Vec<Failure> {
    let mut out = Vec::new();
    let Some(files) = analysis.emit() else {
        return vec![fail("emit", "no output from an error-free analysis")];
    };
    let Some(model) = analysis.model.as_ref() else {
        return vec![fail("emit", "no model")];
    };
    let version = &model.version.value;

    // TOML: the toml crate, then the helpers' schemas.
    let mut toml_docs: BTreeMap<&str, Json> = BTreeMap::new();
    for (path, check) in [
        (
            "policy/sources.toml",
            helper_schemas::check_sources as fn(&str, &_) -> Vec<String>,
        ),
        ("policy/dkim_data.toml", helper_schemas::check_dkim),
        ("policy/queues.toml", helper_schemas::check_queues),
        ("policy/shaping.toml", helper_schemas::check_shaping),
    ] {
        let Some(text) = files.get(path) else {
            out.push(fail("toml", format!("{path} is missing")));
            continue;
        };
        match toml::from_str::<toml::Value>(text) {
            Ok(v) => {
                toml_docs.insert(path, serde_json::to_value(v).unwrap());
            }
            Err(e) => {
                out.push(fail("toml", format!("{path} is not TOML: {e}")));
                continue;
            }
        }
        for problem in check(text, version) {
            if !problem.contains("warning:") {
                out.push(fail("helper", format!("{path}: {problem}")));
            }
        }
    }
    read_back_toml(case, &toml_docs, &mut out);

    // Kubernetes: YAML, the schemas, the API's value rules, values read back.
    let mut objects: BTreeMap<String, Json> = BTreeMap::new();
    for (path, text) in &files.files {
        if !path.starts_with("k8s/") || path.ends_with("kustomization.yaml") {
            continue;
        }
        match serde_norway::from_str::<Json>(text) {
            Ok(v) => {
                objects.insert(path.clone(), v);
            }
            Err(e) => out.push(fail("yaml", format!("{path}: {e}"))),
        }
    }
    let max = k8s_rules::max_pods(objects.values());
    for (path, o) in &objects {
        for e in schema_errors(o) {
            out.push(fail("k8s-schema", format!("{path}: {e}")));
        }
        for e in k8s_rules::api_errors(o, &max) {
            out.push(fail("k8s-api", format!("{path}: {e}")));
        }
    }
    read_back_k8s(case, &objects, &mut out);
    let mut parsed: BTreeMap<String, Json> = objects.clone();
    for (path, doc) in &toml_docs {
        parsed.insert((*path).to_string(), doc.clone());
    }
    read_back_values(case, &parsed, &mut out);

    // Queue names: every (campaign, tenant, domain, routing domain) round-trips.
    queue_names(model, &mut out);

    // Lua: the policies under the stub, through the injection harness's observer.
    match observe(analysis, scratch, None) {
        Err(e) => out.push(fail("lua", e)),
        Ok(observed) => read_back_lua(case, &observed.tree, &mut out),
    }
    out
}

/// `a.b.c` in a parsed TOML tree.
fn at<'j>(doc: &'j Json, path: &[&str]) -> Option<&'j Json> {
    path.iter().try_fold(doc, |v, k| v.get(*k))
}

fn read_back_toml(case: &Case, docs: &BTreeMap<&str, Json>, out: &mut Vec<Failure>) {
    let ex = &case.expect;
    let null = Json::Null;
    let sources = docs.get("policy/sources.toml").unwrap_or(&null);
    for (pool, members) in &ex.pools {
        // Entries written twice (the same source twice in one pool) are merged by the checker
        // or refused; the table has one entry per source.
        let mut want: BTreeMap<&str, u64> = BTreeMap::new();
        for (s, w) in members {
            want.insert(s, *w);
        }
        match at(sources, &["pool", pool]) {
            None => out.push(fail(
                "read-back",
                format!("sources.toml: pool {pool:?} is missing"),
            )),
            Some(t) => {
                for (s, w) in &want {
                    let got = t
                        .get(*s)
                        .and_then(|e| e.get("weight"))
                        .and_then(Json::as_u64);
                    if got != Some(*w) {
                        out.push(fail(
                            "read-back",
                            format!("sources.toml: pool {pool:?} source {s:?}: weight {got:?}, written {w}"),
                        ));
                    }
                }
                let extra: Vec<&String> = t
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                    .filter(|k| !want.contains_key(k.as_str()))
                    .collect();
                if !extra.is_empty() {
                    out.push(fail(
                        "read-back",
                        format!("sources.toml: pool {pool:?} has extra entries {extra:?}"),
                    ));
                }
            }
        }
    }
    for s in &ex.sources {
        if at(sources, &["source", s]).is_none() {
            out.push(fail(
                "read-back",
                format!("sources.toml: source {s:?} is missing"),
            ));
        }
    }
    let queues = docs.get("policy/queues.toml").unwrap_or(&null);
    for (t, campaigns) in &ex.tenants {
        if at(queues, &["tenant", t]).is_none() {
            out.push(fail(
                "read-back",
                format!("queues.toml: tenant {t:?} is missing"),
            ));
        }
        for c in campaigns {
            if at(queues, &["tenant", t, "campaigns", c]).is_none() {
                out.push(fail(
                    "read-back",
                    format!("queues.toml: tenant {t:?} campaign {c:?} is missing"),
                ));
            }
        }
    }
    for qe in &ex.queues {
        let key = qe.domain.as_deref().unwrap_or("default");
        let Some(qt) = at(queues, &["queue", key]) else {
            out.push(fail(
                "read-back",
                format!("queues.toml: queue {key:?} is missing"),
            ));
            continue;
        };
        if let Some(ms) = qe.max_age_ms {
            let got = qt.get("max_age").and_then(Json::as_str);
            let parsed = got.and_then(|s| {
                kumoc_lang::units::parse_humantime(s, kumoc_lang::units::HumantimeFlavor::V2_2)
                    .ok()
                    .or_else(|| {
                        kumoc_lang::units::parse_humantime(
                            s,
                            kumoc_lang::units::HumantimeFlavor::V2_3,
                        )
                        .ok()
                    })
            });
            if parsed.map(u128::from) != Some(ms) {
                out.push(fail(
                    "read-back",
                    format!("queues.toml: queue {key:?} max_age {got:?} is not {ms} ms"),
                ));
            }
        }
        if let Some(rd) = &qe.routing_domain {
            if qt.get("routing_domain").and_then(Json::as_str) != Some(rd) {
                out.push(fail(
                    "read-back",
                    format!("queues.toml: queue {key:?} routing_domain is not {rd:?}"),
                ));
            }
        }
        for (t, cs) in &qe.tenants {
            let Some(tt) = qt.get(t).filter(|v| v.is_object()) else {
                out.push(fail(
                    "read-back",
                    format!("queues.toml: queue {key:?} tenant {t:?} is missing"),
                ));
                continue;
            };
            for c in cs {
                if !tt.get(c).is_some_and(Json::is_object) {
                    out.push(fail(
                        "read-back",
                        format!(
                            "queues.toml: queue {key:?} tenant {t:?} campaign {c:?} is missing"
                        ),
                    ));
                }
            }
        }
    }
    let shaping = docs.get("policy/shaping.toml").unwrap_or(&null);
    for (key, srcs) in &ex.shaping {
        let key = key.as_deref().unwrap_or("default");
        let Some(st) = shaping.get(key) else {
            out.push(fail(
                "read-back",
                format!("shaping.toml: {key:?} is missing"),
            ));
            continue;
        };
        for s in srcs {
            if at(st, &["sources", s]).is_none() {
                out.push(fail(
                    "read-back",
                    format!("shaping.toml: {key:?} source {s:?} is missing"),
                ));
            }
        }
    }
    let dkim = docs.get("policy/dkim_data.toml").unwrap_or(&null);
    for (d, sel) in &ex.dkim {
        if at(dkim, &["domain", d, "selector"]).and_then(Json::as_str) != Some(sel) {
            out.push(fail(
                "read-back",
                format!("dkim_data.toml: domain {d:?} selector is not {sel:?}"),
            ));
        }
    }
}

/// `(file, pointer, value)` expectations, against the parsed output files.
fn read_back_values(case: &Case, files: &BTreeMap<String, Json>, out: &mut Vec<Failure>) {
    for (file, pointer, want) in &case.expect.values {
        let got = files
            .get(*file)
            .and_then(|f| f.pointer(pointer))
            .unwrap_or(&Json::Null);
        let same = got == want
            || match (got.as_str(), want.as_u64()) {
                (Some(s), Some(ms)) if file.ends_with(".yaml") => prometheus_ms(s) == Some(ms),
                (Some(_), Some(_)) => lua_value_is(got, want),
                _ => false,
            };
        if !same {
            out.push(fail(
                "read-back",
                format!("{file} {pointer}: {got}, written {want}"),
            ));
        }
    }
}

/// A Prometheus duration (`1h30m`, `500ms`) in ms.
fn prometheus_ms(s: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        let value: u64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let (unit, len): (u64, usize) = if rest.starts_with("ms") {
            (1, 2)
        } else {
            match rest.chars().next()? {
                's' => (1000, 1),
                'm' => (60_000, 1),
                'h' => (3_600_000, 1),
                'd' => (86_400_000, 1),
                'w' => (604_800_000, 1),
                'y' => (31_536_000_000, 1),
                _ => return None,
            }
        };
        total = total.checked_add(value.checked_mul(unit)?)?;
        rest = &rest[len..];
    }
    Some(total)
}

/// Whole seconds (the JSON number), or a marker that no output value equals when `ms` is
/// not a whole number of seconds (the consumer could not read it back exactly).
fn seconds_of(ms: u128) -> Json {
    if ms.is_multiple_of(1000) {
        big(ms / 1000)
    } else {
        json!(format!("{ms} ms, not whole seconds"))
    }
}

/// A JSON pointer segment.
fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

fn read_back_k8s(case: &Case, objects: &BTreeMap<String, Json>, out: &mut Vec<Failure>) {
    let ex = &case.expect;
    let Some(sts) = objects.get("k8s/statefulset-mta.yaml") else {
        out.push(fail("read-back", "no MTA StatefulSet"));
        return;
    };
    if let Some(r) = ex.mta_replicas {
        if sts["spec"]["replicas"].as_u64() != Some(r) {
            out.push(fail(
                "read-back",
                format!("MTA replicas {} written {r}", sts["spec"]["replicas"]),
            ));
        }
    }
    if let Some(b) = ex.spool_bytes {
        let got =
            sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
                .as_str()
                .and_then(|s| k8s_rules::quantity(s).ok())
                .and_then(|q| q.whole());
        if got != Some(b) {
            out.push(fail(
                "read-back",
                format!("spool: {got:?} bytes, written {b}"),
            ));
        }
    }
    let res = &sts["spec"]["template"]["spec"]["containers"][0]["resources"];
    for (key, want) in &ex.resources {
        let (side, r) = key.split_once('.').unwrap();
        let got = res[side][r]
            .as_str()
            .and_then(|s| k8s_rules::quantity(s).ok());
        let same = got.is_some_and(|g| g.le(want) == Some(true) && want.le(&g) == Some(true));
        if !same {
            out.push(fail(
                "read-back",
                format!("{key}: {:?}, written {want:?}", res[side][r]),
            ));
        }
    }
}

/// Every scheduled queue name the built deployment can produce, from kumoc's model (what it
/// accepted): each tenant with each of its campaigns (and none), for each queue domain (and
/// any other), routed to the queue's routing domain or the sink. Each must round-trip.
fn queue_names(model: &kumoc_compiler::Deployment, out: &mut Vec<Failure>) {
    use kumoc_compiler::value::Typed;
    let sink = model
        .cluster
        .sink
        .enabled
        .value
        .then(|| kumoc_compiler::names::Names::new(model).sink_host());
    let mut check =
        |campaign: Option<&str>, tenant: Option<&str>, domain: &str, routing: Option<&str>| {
            let c = QueueNameComponents {
                campaign: campaign.map(str::to_string),
                tenant: tenant.map(str::to_string),
                domain: domain.replace('*', "w"),
                routing_domain: routing.map(str::to_string),
            };
            let name = c.format();
            let back = QueueNameComponents::parse(&name);
            if back != c {
                out.push(fail(
                    "queue-name",
                    format!("{name:?} parses as {back:?}, not {c:?}"),
                ));
            }
        };
    let mut domains: Vec<(String, Option<String>)> = vec![("gmail.com".to_string(), None)];
    let mut tenants: Vec<(String, Vec<String>)> = model
        .tenants
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.campaigns.iter().map(|c| c.name.clone()).collect(),
            )
        })
        .collect();
    for q in &model.queues {
        let routing = match q.settings.get("routing_domain").map(|s| &s.value) {
            Some(Typed::Str(r)) => Some(r.as_str().to_owned()),
            _ => None,
        };
        if q.key.as_str() != "default" {
            domains.push((q.key.as_str().to_string(), routing));
        }
        for t in &q.tenants {
            tenants.push((
                t.name.clone(),
                t.campaigns.iter().map(|c| c.name.clone()).collect(),
            ));
        }
    }
    // A webhook's records are queued as `<name>.log_hook`, with no tenant or campaign.
    for w in &model.webhooks {
        check(None, None, &format!("{}.log_hook", &*w.name), None);
    }
    for (d, rd) in &domains {
        let routing = sink.as_deref().or(rd.as_deref());
        check(None, None, d, routing);
        for (t, cs) in &tenants {
            check(None, Some(t), d, routing);
            for c in cs {
                check(Some(c), Some(t), d, routing);
            }
        }
    }
}

fn read_back_lua(case: &Case, tree: &Json, out: &mut Vec<Failure>) {
    for (file, run) in tree["lua"].as_object().into_iter().flatten() {
        for r in run["results"].as_array().into_iter().flatten() {
            if let Some(e) = r[2].get("err") {
                // A tenant header naming no tenant is rejected on purpose; nothing else may fail.
                out.push(fail(
                    "lua",
                    format!("{file}: {} {} failed: {e}", r[0], r[1]),
                ));
            }
        }
        if run["validate"]["failed"] == json!(true) || run["validate"].get("err").is_some() {
            out.push(fail(
                "lua",
                format!("{file}: --validate fails: {}", run["validate"]),
            ));
        }
        for w in run["warnings"].as_array().into_iter().flatten() {
            out.push(fail("lua", format!("{file}: warning: {w}")));
        }
    }
    let calls = tree["lua"]["init.lua"]["calls"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (call, param, want) in &case.expect.calls {
        let got: Vec<&Json> = calls
            .iter()
            .filter(|c| c[0] == json!(call))
            .map(|c| &c[1][0][param])
            .collect();
        if !got.iter().any(|g| lua_value_is(g, want)) {
            out.push(fail(
                "read-back",
                format!("{call} {{ {param} = {got:?} }}: written {want}"),
            ));
        }
    }
    let results = tree["lua"]["init.lua"]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for user in &case.expect.users {
        let r = results
            .iter()
            .find(|r| r[0] == "http_server_validate_auth_basic" && r[1][0] == json!(user));
        if r.is_none_or(|r| r[2]["ok"] != json!([true])) {
            out.push(fail(
                "read-back",
                format!("API user {user:?} cannot log in: {:?}", r.map(|r| &r[2])),
            ));
        }
    }
    for (pool, members) in &case.expect.pools {
        let Some(r) = results
            .iter()
            .find(|r| r[0] == "get_egress_pool" && r[1][0] == json!(pool))
        else {
            out.push(fail(
                "lua",
                format!("get_egress_pool({pool:?}) was not fired"),
            ));
            continue;
        };
        let entries = r[2]["ok"][0]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let got: BTreeSet<(String, u64)> = entries
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap_or("").to_string(),
                    e["weight"].as_u64().unwrap_or(1),
                )
            })
            .collect();
        let want: BTreeSet<(String, u64)> = members.iter().cloned().collect();
        if got != want {
            out.push(fail(
                "lua",
                format!("get_egress_pool({pool:?}) = {got:?}, written {want:?}"),
            ));
        }
    }
}

/// A number as JSON (a string when it does not fit 64 bits, so it matches nothing).
fn big(n: u128) -> Json {
    u64::try_from(n).map_or_else(|_| json!(n.to_string()), |n| json!(n))
}

/// A value as the policy passes it: a number, or a duration string (read with the humantime
/// parser of the stub's release, in ms).
fn lua_value_is(got: &Json, want: &Json) -> bool {
    if got == want {
        return true;
    }
    match (got.as_str(), want.as_u64()) {
        (Some(s), Some(ms)) => [
            kumoc_lang::units::HumantimeFlavor::V2_2,
            kumoc_lang::units::HumantimeFlavor::V2_3,
        ]
        .into_iter()
        .any(|f| kumoc_lang::units::parse_humantime(s, f).ok() == Some(ms)),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes JSON schemas (compiled once)
// ---------------------------------------------------------------------------------------------

fn schema_errors(o: &Json) -> Vec<String> {
    static VALIDATORS: OnceLock<BTreeMap<&'static str, jsonschema::Validator>> = OnceLock::new();
    let validators = VALIDATORS.get_or_init(|| {
        [
            "statefulset-apps-v1",
            "deployment-apps-v1",
            "service-v1",
            "configmap-v1",
            "secret-v1",
            "serviceaccount-v1",
            "namespace-v1",
            "horizontalpodautoscaler-autoscaling-v2",
            "poddisruptionbudget-policy-v1",
            "networkpolicy-networking-v1",
            "../crds/prometheusrule-monitoring-v1",
            "../crds/scaledobject-keda-v1alpha1",
        ]
        .into_iter()
        .map(|name| {
            let path = root().join(format!("tests/schemas/kubernetes-v1.33/{name}.json"));
            let schema: Json =
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            (name, jsonschema::validator_for(&schema).unwrap())
        })
        .collect()
    });
    let name = match (
        o["apiVersion"].as_str().unwrap_or(""),
        o["kind"].as_str().unwrap_or(""),
    ) {
        ("apps/v1", "StatefulSet") => "statefulset-apps-v1",
        ("apps/v1", "Deployment") => "deployment-apps-v1",
        ("v1", "Service") => "service-v1",
        ("v1", "ConfigMap") => "configmap-v1",
        ("v1", "Secret") => "secret-v1",
        ("v1", "ServiceAccount") => "serviceaccount-v1",
        ("v1", "Namespace") => "namespace-v1",
        ("autoscaling/v2", "HorizontalPodAutoscaler") => "horizontalpodautoscaler-autoscaling-v2",
        ("policy/v1", "PodDisruptionBudget") => "poddisruptionbudget-policy-v1",
        ("networking.k8s.io/v1", "NetworkPolicy") => "networkpolicy-networking-v1",
        ("monitoring.coreos.com/v1", "PrometheusRule") => "../crds/prometheusrule-monitoring-v1",
        ("keda.sh/v1alpha1", "ScaledObject") => "../crds/scaledobject-keda-v1alpha1",
        ("monitoring.coreos.com/v1", "ServiceMonitor") => return Vec::new(),
        (api, kind) => return vec![format!("no schema for {api} {kind}")],
    };
    validators[name]
        .iter_errors(o)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Shrinking
// ---------------------------------------------------------------------------------------------

/// Every node of a case by its path (file index, then child indexes).
fn paths(case: &Case) -> Vec<Vec<usize>> {
    fn walk(nodes: &[Node], prefix: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        for (i, n) in nodes.iter().enumerate() {
            prefix.push(i);
            out.push(prefix.clone());
            if let Node::Block(_, body) = n {
                walk(body, prefix, out);
            }
            prefix.pop();
        }
    }
    let mut out = Vec::new();
    for (f, (_, nodes)) in case.files.iter().enumerate() {
        walk(nodes, &mut vec![f], &mut out);
    }
    out
}

fn without(case: &Case, path: &[usize]) -> Case {
    fn remove(nodes: &mut Vec<Node>, path: &[usize]) {
        match path {
            [i] => {
                nodes.remove(*i);
            }
            [i, rest @ ..] => {
                if let Node::Block(_, body) = &mut nodes[*i] {
                    remove(body, rest);
                }
            }
            [] => {}
        }
    }
    let mut c = case.clone();
    remove(&mut c.files[path[0]].1, &path[1..]);
    c
}

/// Remove blocks and lines (deepest last, so a whole block goes first) while a failure of
/// the same kind persists. The expectations are kept: a removal that makes a read-back fail
/// for the wrong reason is a different kind of failure or, for read-backs, tolerated by
/// comparing kinds only; the shrunk text is shown for reading, with its own failures.
fn shrink(case: &Case, key: &str, scratch: &Path) -> (Case, Vec<Failure>) {
    // A read-back compares with what the generator wrote; removing the block it is about
    // would keep it failing for another reason. Those cases are shown whole.
    if key.starts_with("read-back") {
        let (_, failures) = run(case, scratch);
        return (case.clone(), failures);
    }
    let mut best = case.clone();
    let mut best_failures = Vec::new();
    let mut budget = 400usize;
    loop {
        let mut progressed = false;
        for p in paths(&best) {
            if budget == 0 {
                return (best, best_failures);
            }
            budget -= 1;
            let candidate = without(&best, &p);
            let (_, failures) = run(&candidate, scratch);
            if failures.iter().any(|f| f.key() == key) {
                best = candidate;
                best_failures = failures;
                progressed = true;
                break;
            }
        }
        if !progressed {
            return (best, best_failures);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

pub(crate) const DEFAULT_SEED: u64 = 0x6B75_6D6F_635F_3131; // "kumoc_11"
const DEFAULT_ITERATIONS: u64 = 400;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| {
        let v = v.trim();
        v.strip_prefix("0x")
            .map_or_else(|| v.parse().ok(), |h| u64::from_str_radix(h, 16).ok())
    })
}

#[test]
fn generated_deployments_are_refused_or_read_back_exactly() {
    let seed = env_u64("KUMOC_PROPERTY_SEED").unwrap_or(DEFAULT_SEED);
    let cases: Vec<u64> = match env_u64("KUMOC_PROPERTY_CASE") {
        Some(n) => vec![n],
        None => (0..env_u64("KUMOC_PROPERTY_ITERATIONS").unwrap_or(DEFAULT_ITERATIONS)).collect(),
    };
    let scratch = Scratch::new("property");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let results: Vec<(u64, usize, Option<Outcome>, Vec<Failure>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (next, cases) = (&next, &cases);
                let dir = scratch.path().join(format!("worker-{w}"));
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&n) = cases.get(i) else { break };
                        let case = generate(seed, n);
                        let (outcome, failures) = run(&case, &dir);
                        mine.push((n, case.hostility, outcome, failures));
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<_> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|r| r.0);
        all
    });
    let built = results
        .iter()
        .filter(|r| matches!(r.2, Some(Outcome::Built)))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r.2, Some(Outcome::Refused)))
        .count();
    let mut by_hostility = [0usize; 4];
    for r in &results {
        if matches!(r.2, Some(Outcome::Built)) {
            by_hostility[r.1] += 1;
        }
    }
    eprintln!(
        "seed {seed:#x}: {} cases, {built} built and read back, {refused} refused with a coded error (built by hostility 0..3: {by_hostility:?})",
        results.len()
    );
    let failing: Vec<&(u64, usize, Option<Outcome>, Vec<Failure>)> =
        results.iter().filter(|r| !r.3.is_empty()).collect();
    if failing.is_empty() {
        if cases.len() > 20 {
            assert!(
                built * 4 >= cases.len(),
                "too few cases build: the generator is too hostile"
            );
            assert!(
                refused > 0,
                "no case was refused: the generator is not hostile enough"
            );
        }
        return;
    }
    let mut report = format!(
        "{} of {} cases fail (seed {seed:#x})\n",
        failing.len(),
        results.len()
    );
    let mut kinds: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (n, _, _, failures) in &failing {
        for f in failures {
            kinds.entry(f.key()).or_default().push(*n);
        }
    }
    for (kind, ns) in &kinds {
        let mut ns = ns.clone();
        ns.dedup();
        report.push_str(&format!("  {kind}: cases {ns:?}\n"));
    }
    // The first case of each kind, in full and shrunk.
    let dir = scratch.path().join("shrink");
    for (kind, ns) in kinds.iter().take(8) {
        let n = ns[0];
        let case = generate(seed, n);
        let (_, failures) = run(&case, &dir);
        report.push_str(&format!(
            "\n===== case {n} ({kind}), replay with KUMOC_PROPERTY_SEED={seed:#x} KUMOC_PROPERTY_CASE={n}\n"
        ));
        for f in failures.iter().filter(|f| f.key() == *kind).take(5) {
            report.push_str(&format!("  {}: {}\n", f.kind, f.detail));
        }
        let (small, small_failures) = shrink(&case, kind, &dir);
        report.push_str(&format!("----- shrunk reproducer\n{}", small.shown()));
        for f in small_failures.iter().filter(|f| f.key() == *kind).take(3) {
            report.push_str(&format!("  => {}: {}\n", f.kind, f.detail));
        }
    }
    panic!("{report}");
}
