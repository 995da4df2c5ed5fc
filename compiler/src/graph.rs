//! `kumoc graph`: the deployment at a glance, as data ([`Graph`]), Mermaid text and SVG.
//!
//! Mail flows top to bottom: the listeners (on every MTA pod) → the queues and tenants
//! that choose an egress pool → the pools → their sources (edges carry the weights) → the
//! MX lookup → the providers and domains with shaping of their own. Beside it, the
//! cluster: the MTA pods, the TSA replicas they publish to, Redis and the sink.
//!
//! Large deployments are summarised, never drawn whole: of each kind (queues, tenants,
//! pools, sources per pool, providers, domains) at most `top` items are drawn, the largest
//! first (pools and sources by weight; blocks you wrote before stdlib presets), and a
//! "+N more" node counts the rest; a 10,000-domain deployment draws about 40 boxes.
//!
//! The SVG is laid out by `layout-rs` (a pure-Rust Sugiyama layout with no dependencies),
//! with one font size, so its output is deterministic.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Deployment, ShapingKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// On each MTA pod: listeners, queues, pools, sources.
    Mta,
    /// Destinations with shaping of their own.
    Destinations,
    /// The other workloads and services.
    Cluster,
}

impl Group {
    fn title(self) -> &'static str {
        match self {
            Group::Mta => "on every MTA pod",
            Group::Destinations => "destinations with their own shaping",
            Group::Cluster => "cluster",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeKind {
    Listener,
    Queue,
    Tenant,
    Pool,
    Source,
    Lookup,
    Provider,
    Domain,
    Pods,
    Tsa,
    Redis,
    Sink,
    /// "+N more": what was not drawn.
    More,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Node {
    pub id: String,
    pub label: String,
    pub kind: NodeKind,
    pub group: Group,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
    /// Not mail: control traffic (logs to TSA, throttles, subscriptions).
    pub dashed: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Graph {
    pub title: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    /// What the deployment holds in all (`queues: 10001`), drawn or not.
    pub totals: BTreeMap<&'static str, usize>,
}

impl Graph {
    fn node(
        &mut self,
        id: impl Into<String>,
        label: impl Into<String>,
        kind: NodeKind,
        group: Group,
    ) -> String {
        let id = id.into();
        if !self.nodes.iter().any(|n| n.id == id) {
            self.nodes.push(Node {
                id: id.clone(),
                label: label.into(),
                kind,
                group,
            });
        }
        id
    }
    fn edge(&mut self, from: &str, to: &str, label: Option<String>, dashed: bool) {
        let e = Edge {
            from: from.to_string(),
            to: to.to_string(),
            label,
            dashed,
        };
        if !self.edges.contains(&e) {
            self.edges.push(e);
        }
    }
}

/// A node id from a name: `pool_shared`, safe in Mermaid and unique per kind.
fn id(prefix: &str, name: &str) -> String {
    let mut s = String::from(prefix);
    s.push('_');
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c);
        } else {
            let _ = write!(s, "_{:x}_", u32::from(c));
        }
    }
    s
}

/// `a, b, c` or `a, b, ... (+5)`.
fn list(names: &[&str], top: usize) -> String {
    if names.len() <= top {
        names.join(", ")
    } else {
        format!("{}, ... (+{})", names[..top].join(", "), names.len() - top)
    }
}

fn more(n: usize, what: &str) -> String {
    format!("+{n} more {what}")
}

/// The graph of a deployment, drawing at most `top` items of each kind.
pub fn graph(d: &Deployment, top: usize) -> Graph {
    let top = top.max(1);
    let mut g = Graph {
        title: format!("{} ({})", d.name.value, d.environment.value.name()),
        ..Default::default()
    };
    let m = &d.cluster.mta;

    // Listeners.
    let smtp = g.node(
        "smtp",
        format!("SMTP listener :{}", m.smtp_port.value),
        NodeKind::Listener,
        Group::Mta,
    );
    let http = g.node(
        "http",
        format!("HTTP listener :{} (inject API)", m.http_port.value),
        NodeKind::Listener,
        Group::Mta,
    );

    // Queues and tenants, each with the pool it chooses.
    let mut choosers: Vec<(String, Option<String>)> = Vec::new();
    let domain_rules: Vec<_> = d
        .queues
        .iter()
        .filter(|q| q.key != ShapingKey::Default)
        .collect();
    // A rule or tenant without `egress_pool` keeps `queue default`'s (the queue helper
    // merges the layers over it).
    let default_pool = d
        .queues
        .iter()
        .find(|q| q.key == ShapingKey::Default)
        .and_then(|q| pool_of(&q.settings));
    let pool_of = |s: &crate::model::Settings| pool_of(s).or_else(|| default_pool.clone());
    g.totals.insert("queue rules", d.queues.len());
    g.totals.insert("tenants", d.tenants.len());
    for q in d.queues.iter().filter(|q| q.key == ShapingKey::Default) {
        let n = g.node(
            "queue_default",
            "queue default",
            NodeKind::Queue,
            Group::Mta,
        );
        choosers.push((n, pool_of(&q.settings)));
    }
    for q in domain_rules.iter().take(top) {
        let name = q.key.as_str();
        let n = g.node(
            id("queue", name),
            format!("queue {name}"),
            NodeKind::Queue,
            Group::Mta,
        );
        choosers.push((n, pool_of(&q.settings)));
    }
    if domain_rules.len() > top {
        let n = g.node(
            "queue_more",
            more(domain_rules.len() - top, "queue rules"),
            NodeKind::More,
            Group::Mta,
        );
        // Where the undrawn rules send mail, as one edge per pool.
        let mut pools: Vec<Option<String>> = domain_rules
            .iter()
            .skip(top)
            .map(|q| pool_of(&q.settings))
            .collect();
        pools.sort();
        pools.dedup();
        for p in pools {
            choosers.push((n.clone(), p));
        }
    }
    for t in d.tenants.iter().take(top) {
        let n = g.node(
            id("tenant", &t.name),
            format!("tenant {}", t.name),
            NodeKind::Tenant,
            Group::Mta,
        );
        choosers.push((n, pool_of(&t.settings)));
    }
    if d.tenants.len() > top {
        let n = g.node(
            "tenant_more",
            more(d.tenants.len() - top, "tenants"),
            NodeKind::More,
            Group::Mta,
        );
        choosers.push((n, default_pool.clone()));
    }
    if choosers.is_empty() {
        let n = g.node(
            "queue_default",
            "queue default (KumoMTA defaults)",
            NodeKind::Queue,
            Group::Mta,
        );
        choosers.push((n, None));
    }
    let chooser_ids: Vec<String> = {
        let mut v: Vec<String> = choosers.iter().map(|(n, _)| n.clone()).collect();
        v.dedup();
        v
    };
    for c in &chooser_ids {
        g.edge(&smtp, c, None, false);
        g.edge(&http, c, None, false);
    }

    // Pools, largest first.
    let mut pools: Vec<(&crate::model::Pool, u64)> = d
        .pools
        .iter()
        .map(|p| (p, p.members.iter().map(|m| u64::from(m.weight)).sum()))
        .collect();
    pools.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.name.cmp(&b.0.name)));
    g.totals.insert("pools", d.pools.len());
    g.totals.insert("sources", d.sources.len());
    let drawn: Vec<&str> = pools
        .iter()
        .take(top)
        .map(|(p, _)| p.name.as_str())
        .collect();
    let pool_node = |g: &mut Graph, name: Option<&str>| -> String {
        match name {
            None => g.node(
                "pool_unspecified",
                "pool unspecified (built-in: source unspecified)",
                NodeKind::Pool,
                Group::Mta,
            ),
            Some(p) if drawn.contains(&p) => g.node(
                id("pool", p),
                format!("pool {p}"),
                NodeKind::Pool,
                Group::Mta,
            ),
            Some(_) => g.node(
                "pool_more",
                more(pools.len().saturating_sub(top), "pools"),
                NodeKind::More,
                Group::Mta,
            ),
        }
    };
    for (c, p) in &choosers {
        let to = pool_node(&mut g, p.as_deref());
        g.edge(c, &to, Some("egress_pool".into()), false);
    }
    // Every drawn pool, even one no queue chooses.
    for name in &drawn {
        pool_node(&mut g, Some(name));
    }
    let lookup = g.node(
        "lookup",
        if d.cluster.sink.enabled.value {
            "MX lookup (the sink takes all mail)".to_string()
        } else {
            "MX lookup: site name".to_string()
        },
        NodeKind::Lookup,
        Group::Destinations,
    );
    let mut any_source = false;
    for (p, total) in pools.iter().take(top) {
        let pid = id("pool", &p.name);
        let mut members: Vec<(&str, u64)> = Vec::new();
        for mbr in &p.members {
            match members.iter_mut().find(|(s, _)| *s == mbr.source) {
                Some((_, w)) => *w += u64::from(mbr.weight),
                None => members.push((&mbr.source, u64::from(mbr.weight))),
            }
        }
        members.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        for (s, w) in members.iter().take(top) {
            let sid = g.node(
                id("source", s),
                source_label(d, s),
                NodeKind::Source,
                Group::Mta,
            );
            g.edge(&pid, &sid, Some(format!("weight {w}")), false);
            g.edge(&sid, &lookup, None, false);
            any_source = true;
        }
        if members.len() > top {
            let rest: u64 = members.iter().skip(top).map(|(_, w)| w).sum();
            let mid = g.node(
                id("source_more", &p.name),
                more(members.len() - top, "sources"),
                NodeKind::More,
                Group::Mta,
            );
            g.edge(&pid, &mid, Some(format!("weight {rest} of {total}")), false);
            g.edge(&mid, &lookup, None, false);
            any_source = true;
        }
    }
    if g.nodes.iter().any(|n| n.id == "pool_unspecified") {
        let sid = g.node(
            "source_unspecified",
            "source unspecified (the pod's address)",
            NodeKind::Source,
            Group::Mta,
        );
        g.edge("pool_unspecified", &sid, None, false);
        g.edge(&sid, &lookup, None, false);
        any_source = true;
    }
    if let Some(more_pools) = g
        .nodes
        .iter()
        .find(|n| n.id == "pool_more")
        .map(|n| n.id.clone())
    {
        g.edge(&more_pools, &lookup, None, false);
        any_source = true;
    }
    if !any_source {
        g.edge(&smtp, &lookup, None, false);
    }

    // Destinations: the providers and domain blocks the user wrote or changed, one node
    // each (at most `top`); the stdlib's untouched presets as one node per kind.
    let user = |loc: crate::source::Loc| loc.file.0 as usize >= crate::stdlib::FILES.len();
    let touched_block = |b: &crate::model::ShapingBlock| {
        user(b.loc) || b.shaping.settings.values().any(|s| user(s.loc))
    };
    let (mine, presets): (Vec<&crate::model::Provider>, Vec<&crate::model::Provider>) = d
        .providers
        .iter()
        .partition(|p| user(p.loc) || !p.overridden_at.is_empty());
    g.totals.insert("providers", d.providers.len());
    for p in mine.iter().take(top) {
        let how = if p.preset {
            " (stdlib preset, changed)"
        } else {
            ""
        };
        let n = g.node(
            id("provider", &p.name),
            format!("provider {}{how}", p.name),
            NodeKind::Provider,
            Group::Destinations,
        );
        g.edge(&lookup, &n, None, false);
    }
    if mine.len() > top {
        let n = g.node(
            "provider_more",
            more(mine.len() - top, "providers"),
            NodeKind::More,
            Group::Destinations,
        );
        g.edge(&lookup, &n, None, false);
    }
    if !presets.is_empty() {
        let names: Vec<&str> = presets.iter().map(|p| p.name.as_str()).collect();
        let n = g.node(
            "provider_presets",
            format!(
                "{} stdlib provider presets: {}",
                names.len(),
                list(&names, top)
            ),
            NodeKind::Provider,
            Group::Destinations,
        );
        g.edge(&lookup, &n, None, false);
    }
    let (mine, presets): (
        Vec<&crate::model::ShapingBlock>,
        Vec<&crate::model::ShapingBlock>,
    ) = d
        .shaping
        .iter()
        .map(|b| &**b)
        .filter(|b| b.key != ShapingKey::Default)
        .partition(|b| touched_block(b));
    g.totals
        .insert("shaping domains", mine.len() + presets.len());
    for b in mine.iter().take(top) {
        let n = g.node(
            id("domain", b.key.as_str()),
            format!("shaping {}", b.key.as_str()),
            NodeKind::Domain,
            Group::Destinations,
        );
        g.edge(&lookup, &n, None, false);
    }
    if mine.len() > top {
        let n = g.node(
            "domain_more",
            more(mine.len() - top, "shaping domains"),
            NodeKind::More,
            Group::Destinations,
        );
        g.edge(&lookup, &n, None, false);
    }
    if !presets.is_empty() {
        let names: Vec<&str> = presets.iter().map(|b| b.key.as_str()).collect();
        let n = g.node(
            "domain_presets",
            format!(
                "{} stdlib domain blocks: {}",
                names.len(),
                list(&names, top)
            ),
            NodeKind::Domain,
            Group::Destinations,
        );
        g.edge(&lookup, &n, None, false);
    }

    // The cluster.
    let pods = match &m.autoscale {
        Some(a) => format!("MTA pods ×{}..{} (StatefulSet, HPA)", a.min, a.max),
        None => format!("MTA pods ×{} (StatefulSet)", m.replicas.value),
    };
    let pods = g.node("mta", pods, NodeKind::Pods, Group::Cluster);
    g.edge(&pods, &smtp, Some("runs".into()), true);
    if let Some(tsa) = &d.cluster.tsa {
        let names = crate::names::Names::new(d);
        let svc = g.node(
            "tsa_service",
            format!("TSA Service {}", names.tsa),
            NodeKind::Tsa,
            Group::Cluster,
        );
        g.edge(&pods, &svc, Some("subscribe".into()), true);
        let n = tsa.replicas.value as usize;
        for i in 0..n.min(top) {
            let t = g.node(
                format!("tsa_{i}"),
                format!("TSA {}-{i}", names.tsa),
                NodeKind::Tsa,
                Group::Cluster,
            );
            g.edge(&pods, &t, Some("publish logs".into()), true);
            g.edge(&svc, &t, None, true);
        }
        if n > top {
            let t = g.node(
                "tsa_more",
                more(n - top, "TSA replicas"),
                NodeKind::More,
                Group::Cluster,
            );
            g.edge(&pods, &t, Some("publish logs".into()), true);
        }
    }
    if let Some(r) = &d.cluster.redis {
        let host = r
            .settings
            .get("url")
            .and_then(|u| u.value.text())
            .map(redis_host)
            .unwrap_or_default();
        let n = g.node(
            "redis",
            format!("Redis {host}"),
            NodeKind::Redis,
            Group::Cluster,
        );
        g.edge(&pods, &n, Some("shared throttles".into()), true);
    }
    if d.cluster.sink.enabled.value {
        let n = g.node(
            "sink",
            format!("sink ×{} (accepts and drops mail)", d.cluster.sink.replicas),
            NodeKind::Sink,
            Group::Cluster,
        );
        g.edge(&lookup, &n, Some("all mail".into()), false);
    }
    g
}

/// `rediss://user:pw@host:6379/0` → `host:6379` (never the credentials).
fn redis_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    rest.split('/').next().unwrap_or(rest)
}

fn pool_of(s: &crate::model::Settings) -> Option<String> {
    s.get("egress_pool")
        .and_then(|x| x.value.as_ref_name())
        .map(str::to_string)
}

fn source_label(d: &Deployment, name: &str) -> String {
    let Some(s) = d.source(name) else {
        return format!("source {name}");
    };
    let addr = crate::dns::egress_address(s).map(|(ip, _)| ip.to_string());
    match addr {
        Some(a) => format!("source {name} ({a})"),
        None => format!("source {name} (node address)"),
    }
}

/// Mermaid flowchart text (for Markdown: GitHub, GitLab and most editors render it).
pub fn mermaid(g: &Graph) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "---\ntitle: {}\n---", mermaid_text(&g.title));
    s.push_str("flowchart TB\n");
    let totals: Vec<String> = g.totals.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(s, "  %% in all: {}", totals.join(", "));
    for group in [Group::Mta, Group::Destinations, Group::Cluster] {
        let nodes: Vec<&Node> = g.nodes.iter().filter(|n| n.group == group).collect();
        if nodes.is_empty() {
            continue;
        }
        let gid = match group {
            Group::Mta => "g_mta",
            Group::Destinations => "g_destinations",
            Group::Cluster => "g_cluster",
        };
        let _ = writeln!(s, "  subgraph {gid}[\"{}\"]", mermaid_text(group.title()));
        for n in nodes {
            let (open, close) = match n.kind {
                NodeKind::Listener => ("([", "])"),
                NodeKind::Pool | NodeKind::Lookup => ("{{", "}}"),
                NodeKind::Redis | NodeKind::Tsa => ("[(", ")]"),
                NodeKind::More => ("[/", "/]"),
                _ => ("[", "]"),
            };
            let _ = writeln!(s, "    {}{open}\"{}\"{close}", n.id, mermaid_text(&n.label));
        }
        s.push_str("  end\n");
    }
    for e in &g.edges {
        let arrow = if e.dashed { "-.->" } else { "-->" };
        match &e.label {
            Some(l) => {
                let _ = writeln!(s, "  {} {arrow}|\"{}\"| {}", e.from, mermaid_text(l), e.to);
            }
            None => {
                let _ = writeln!(s, "  {} {arrow} {}", e.from, e.to);
            }
        }
    }
    s
}

/// Text inside a quoted Mermaid label: quotes and angle brackets as entity codes, so no
/// name can end the label or be read as HTML.
fn mermaid_text(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '"' => s.push_str("#quot;"),
            '<' => s.push_str("#lt;"),
            '>' => s.push_str("#gt;"),
            '#' => s.push_str("#35;"),
            '\n' | '\r' => s.push(' '),
            c => s.push(c),
        }
    }
    s
}

/// A standalone SVG, laid out top to bottom by `layout-rs`.
pub fn svg(g: &Graph) -> String {
    use layout::backends::svg::SVGWriter;
    use layout::core::base::Orientation;
    use layout::core::color::Color;
    use layout::core::style::{LineStyleKind, StyleAttr};
    use layout::std_shapes::render::get_shape_size;
    use layout::std_shapes::shapes::{Arrow, Element, LineEndKind, ShapeKind};
    use layout::topo::layout::VisualGraph;

    // layout-rs styles edge labels at 15: one size, so its font table (a HashMap) has one
    // entry and the output is deterministic.
    const FONT: usize = 15;
    let mut vg = VisualGraph::new(Orientation::TopToBottom);
    let mut handles = BTreeMap::new();
    for n in &g.nodes {
        let fill = match n.kind {
            NodeKind::Listener => 0xdbeafe,
            NodeKind::Queue | NodeKind::Tenant => 0xe0e7ff,
            NodeKind::Pool => 0xfef3c7,
            NodeKind::Source => 0xdcfce7,
            NodeKind::Lookup => 0xf3f4f6,
            NodeKind::Provider | NodeKind::Domain => 0xfce7f3,
            NodeKind::Pods | NodeKind::Tsa | NodeKind::Redis | NodeKind::Sink => 0xede9fe,
            NodeKind::More => 0xffffff,
        };
        // Long labels wrap at ", " so the layers stay narrow.
        let shape = ShapeKind::new_box(&wrap(&n.label, 40));
        let dir = Orientation::LeftToRight;
        let size = get_shape_size(dir, &shape, FONT, false);
        let look = StyleAttr::new(
            Color::new(0x374151ff),
            1,
            Some(Color::new((fill << 8) | 0xff)),
            if n.kind == NodeKind::More { 0 } else { 6 },
            FONT,
        );
        handles.insert(
            n.id.clone(),
            vg.add_node(Element::create(shape, look, dir, size)),
        );
    }
    for e in &g.edges {
        let (Some(a), Some(b)) = (handles.get(&e.from), handles.get(&e.to)) else {
            continue;
        };
        let look = StyleAttr::new(Color::new(0x6b7280ff), 1, None, 0, FONT);
        let arrow = Arrow::new(
            LineEndKind::None,
            LineEndKind::Arrow,
            if e.dashed {
                LineStyleKind::Dashed
            } else {
                LineStyleKind::Normal
            },
            e.label.as_deref().unwrap_or(""),
            &look,
            &None,
            &None,
        );
        vg.add_edge(arrow, *a, *b);
    }
    let mut w = SVGWriter::new();
    vg.do_it(false, false, false, &mut w);
    let mut out = w.finalize();
    // A title for screen readers and file browsers.
    if let Some(i) = out
        .find("<svg")
        .and_then(|at| out[at..].find('>').map(|j| at + j))
    {
        let title = format!("<title>{}</title>", xml_text(&g.title));
        out.insert_str(i + 1, &title);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Break a label into lines of about `width` characters at ", " or " ".
fn wrap(label: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in label.split(' ') {
        if line > 0 && line + 1 + word.chars().count() > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += word.chars().count();
    }
    out
}

fn xml_text(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
