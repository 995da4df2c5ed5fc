//! Phase B, checks on the lowered description: what kumoc derives from it (Kubernetes
//! object names, trust lists, its own shaping blocks), values that must agree with each other
//! (ports, requests within limits, pools a queue can send from), and names a consumer keeps
//! for itself.

use kumoc_lang::units::Feature;

use super::Resolver;
use crate::check::HBlock;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::{Deployment, Pool};
use crate::source::Loc;
use crate::value::{Spanned, Typed};

impl<'t, 'd> Resolver<'t, 'd> {
    /// Checks on what kumoc derives from the description (trust lists, pools, listeners).
    /// `shaping_labels`: where the label of each of `d.shaping` is written.
    pub(super) fn derived_checks(&mut self, d: &Deployment, shaping_labels: &[Loc]) {
        let c = &d.cluster;
        let cluster_loc = self
            .top_one("cluster")
            .map(HBlock::header_loc)
            .unwrap_or(d.name.loc);
        if c.pod_cidr.is_none() {
            let needs = [
                (
                    c.tsa.is_some(),
                    "TSA trusts the MTA pods that publish to it",
                ),
                (
                    c.sink.enabled.value,
                    "the sink relays only for the MTA pods",
                ),
            ];
            if let Some((_, why)) = needs.iter().find(|(on, _)| *on) {
                self.diags.push(
                    Diagnostic::new(codes::MISSING_FIELD, "`cluster` is missing `pod_cidr`", cluster_loc, "`pod_cidr` is required here")
                        .with_help(format!("{why}: set `pod_cidr` to the cluster's pod network, e.g. `pod_cidr = 10.244.0.0/16`")),
                );
            }
        }
        let has_acls = d.version.value.supports(Feature::AccessControlLists);
        if c.metrics.enabled && !c.metrics.scraper_cidrs.is_empty() && !has_acls {
            let at = c.metrics.loc.unwrap_or(c.mta.metrics_port.loc);
            let nets: Vec<String> = c
                .metrics
                .scraper_cidrs
                .iter()
                .map(|x| x.value.to_string())
                .collect();
            let nets = nets.join(", ");
            self.diags.push(
                Diagnostic::new(
                    codes::METRICS_LISTENER_UNRESTRICTED,
                    format!("on KumoMTA {}, the metrics port cannot be limited to /metrics", d.version.value),
                    at,
                    format!("{nets} may also inject and use the admin API on port {}", c.mta.metrics_port.value),
                )
                .with_help("narrow `scraper_cidrs` to where Prometheus runs; the NetworkPolicy for the metrics port limits who can connect"),
            );
        }
        for p in &d.pools {
            let uses = self.pool_uses.get(&p.name).map_or(&[][..], Vec::as_slice);
            if let Some(first) = uses.first() {
                self.unusable_pool(p, *first, uses.len());
            } else if p.members.is_empty() {
                self.gate(
                    Feature::EmptyPools,
                    &format!("an empty pool (`{}`)", p.name),
                    p.loc,
                );
            }
        }
        self.derived_names(d);
        self.secret_sizes(d);
        self.derived_shaping_keys(d, shaping_labels);
        self.api_user_names();
        self.built_in_names(d);
    }

    /// A Secret holds at most 1 MiB: the DKIM keys each `secret` block is used for, at their
    /// estimated size, must fit (K1012, a warning: the sizes are estimates; `build --secrets`
    /// checks the real files).
    fn secret_sizes(&mut self, d: &Deployment) {
        // Hashed (looked up once per domain, read back in the secrets' order).
        let mut estimate: rustc_hash::FxHashMap<&str, (u64, u64)> = Default::default();
        // The defaults' values, read once.
        let algorithm = d.dkim_defaults.get("algorithm");
        let bits = d.dkim_defaults.get("bits");
        for dom in &d.domains {
            let Some(k) = &dom.dkim else { continue };
            // A key read from Vault is in no Secret.
            let Some(key) = &k.key else { continue };
            let ed25519 = k
                .settings
                .get("algorithm")
                .or(algorithm)
                .and_then(|s| s.value.as_enum())
                .is_some_and(|v| v.name == "ed25519");
            let bits = k
                .settings
                .get("bits")
                .or(bits)
                .and_then(|s| s.value.as_int());
            let e = estimate.entry(key.secret.as_str()).or_default();
            e.0 += 1;
            e.1 += crate::grammars::dkim_key_pem_bytes(ed25519, bits);
        }
        for s in &d.secrets {
            let Some(&(keys, bytes)) = estimate.get(s.name.as_str()) else {
                continue;
            };
            if bytes <= crate::grammars::SECRET_LIMIT {
                continue;
            }
            let per_key = bytes / keys.max(1);
            let fits = crate::grammars::SECRET_LIMIT / per_key.max(1);
            self.diags.push(
                Diagnostic::new(
                    codes::SECRET_TOO_LARGE,
                    format!("the Secret `{}` cannot hold its DKIM keys", s.name),
                    s.loc,
                    format!(
                        "{keys} keys × ~{:.1} KB ≈ {:.1} MB > 1 MiB",
                        per_key as f64 / 1000.0,
                        bytes as f64 / 1_000_000.0
                    ),
                )
                .with_help(format!(
                    "the API server refuses a Secret over 1 MiB: split the keys into {} or more `secret` blocks of at most {fits} keys each (each is its own Secret, mounted whole), and point each domain's `key` at one of them",
                    keys.div_ceil(fits.max(1))
                )),
            );
        }
    }

    /// `unspecified` is KumoMTA's built-in pool and source: `EgressPool::resolve` and
    /// `EgressSource::resolve` (`crates/kumod/src/egress_source.rs`) answer for that name
    /// without asking the policy, so a pool of that name, or a source of that name with
    /// settings, would be silently replaced by the built-in one. (A pool may list the
    /// built-in source with a weight.)
    pub(super) fn built_in_names(&mut self, d: &Deployment) {
        const BUILT_IN: &str = "unspecified";
        let pool = d.pools.iter().find(|p| p.name == BUILT_IN).map(|p| {
            (
                p.loc,
                "pool",
                "whose only member is the built-in source, so these sources would never be used",
            )
        });
        let source = d
            .sources
            .iter()
            .find(|s| s.name == BUILT_IN && !s.settings.is_empty())
            .map(|s| {
                (
                    s.loc,
                    "source",
                    "the kernel's choice of address and the host name as EHLO, so these settings would be ignored",
                )
            });
        for (at, what, built_in) in pool.into_iter().chain(source) {
            self.diags.push(
                Diagnostic::new(
                    codes::INVALID_NAME,
                    format!("`{BUILT_IN}` is KumoMTA's built-in {what}"),
                    at,
                    "KumoMTA never asks the policy for it",
                )
                .with_help(format!(
                    "KumoMTA uses its own `{BUILT_IN}` {what}, {built_in}: choose another name"
                )),
            );
        }
    }

    /// The keys of the Secret `http_listener.users` names are API user names. The policy
    /// reads a user's password from the file named after the user, and only accepts names of
    /// letters, digits, `_`, `.` and `-` starting with a letter, digit or `_` (never a hidden
    /// file, never an option): a key such as `-alice` (a valid Secret key) could never log in.
    pub(super) fn api_user_names(&mut self) {
        let Some(users) = self
            .top_one("http_listener")
            .and_then(|h| h.read("users", Typed::as_secret))
            .map(|r| r.name.clone())
        else {
            return;
        };
        let Some(secret) = self
            .top("secret")
            .find(|s| s.label.as_deref() == Some(users.as_str()))
        else {
            return;
        };
        let mut keys: Vec<(String, Loc)> = secret
            .read_items("keys", Typed::text)
            .into_iter()
            .map(|k| (k.value.to_string(), k.loc))
            .collect();
        if let Some(files) = secret.child("files") {
            keys.extend(
                files
                    .attrs
                    .iter()
                    .map(|a| (a.name().to_string(), a.key_loc())),
            );
        }
        for (k, at) in keys {
            let ok = k
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                && k.len() <= 253
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !ok {
                self.diags.push(
                    Diagnostic::new(
                        codes::INVALID_NAME,
                        format!("`{k}` cannot be an API user name"),
                        at,
                        "a key of the `http_listener.users` Secret",
                    )
                    .with_help("each key of this Secret is a user of the HTTP API: names are letters, digits, `_`, `.` and `-`, and start with a letter, digit or `_`"),
                );
            }
        }
    }

    /// A pool a queue sends from needs a source that can be picked: one with a weight above
    /// 0. KumoMTA's weighted selection (`crates/kumod/src/egress_source.rs`) never picks a
    /// weight-0 entry, and releases before 2026.04.09 drop an empty pool at load, so mail
    /// queued for it waits until it expires, on every release.
    pub(super) fn unusable_pool(&mut self, p: &Pool, first_use: Loc, uses: usize) {
        let why = if p.members.is_empty() {
            "it has no sources"
        } else if p.members.iter().all(|m| m.weight == 0) {
            "every source has weight 0"
        } else {
            return;
        };
        let more = match uses {
            1 => String::new(),
            2 => " (and 1 more place)".to_string(),
            n => format!(" (and {} more places)", n - 1),
        };
        self.diags.push(
            Diagnostic::new(
                codes::UNUSABLE_POOL,
                format!("pool `{}` cannot send: {why}", p.name),
                first_use,
                format!("mail queued here is never sent{more}"),
            )
            .with_secondary(p.loc, "the pool")
            .with_help(
                "give the pool a source with a weight of at least 1, or send from another pool",
            ),
        );
    }

    /// The Kubernetes objects named after the deployment, each against its kind's rule: a
    /// Service name is a DNS-1035 label (at most 63); a StatefulSet's pods carry the label
    /// `controller-revision-hash: <name>-<hash>` (a label value, at most 63, the hash up to 10
    /// characters), so a StatefulSet name longer than 52 creates no pods; pod names
    /// `<statefulset>-<ordinal>` are DNS-1123 labels. (ConfigMaps, ServiceAccounts and the
    /// rest are subdomains of up to 253 characters, never the binding limit.)
    pub(super) fn derived_names(&mut self, d: &Deployment) {
        let n = crate::names::Names::new(d);
        let mut objects: Vec<(&str, &str, usize)> = vec![
            ("the MTA StatefulSet", &n.mta, 52),
            ("the MTA headless Service", &n.mta_headless, 63),
        ];
        if d.cluster.tsa.is_some() {
            objects.push(("the TSA StatefulSet", &n.tsa, 52));
            objects.push(("the TSA headless Service", &n.tsa_headless, 63));
        }
        if d.cluster.sink.enabled.value {
            objects.push(("the sink Service", &n.sink, 63));
        }
        let worst = objects
            .iter()
            .copied()
            .filter(|(_, name, max)| name.len() > *max)
            .max_by_key(|(_, name, max)| name.len() - max);
        let Some((what, object, max)) = worst else {
            return;
        };
        let over = object.len() - max;
        let limit = d.name.value.len().saturating_sub(over);
        let why = if max == 52 {
            "its pods are labelled `<name>-<revision hash>`, at most 63 characters"
        } else {
            "a Service name has at most 63 characters"
        };
        self.diags.push(
            Diagnostic::new(
                codes::INVALID_NAME,
                "the deployment name is too long",
                d.name.loc,
                format!("{what} would be `{object}`, {} characters", object.len()),
            )
            .with_help(format!(
                "{why}: shorten the deployment name to at most {limit} characters"
            )),
        );
    }

    /// kumoc derives shaping blocks of its own (the sink's routing domain; the TSA publish
    /// targets, which are no DNS names): a user block with the same key would be the same
    /// TOML table twice.
    pub(super) fn derived_shaping_keys(&mut self, d: &Deployment, labels: &[Loc]) {
        if !d.cluster.sink.enabled.value {
            return;
        }
        let sink = crate::names::Names::new(d).sink_host();
        for (i, b) in d.shaping.iter().enumerate() {
            if b.key.as_str() == sink {
                let at = labels.get(i).copied().unwrap_or(b.loc);
                self.diags.push(
                    Diagnostic::new(
                        codes::DUPLICATE_DEFINITION,
                        format!("`shaping \"{sink}\"` is the sink's block"),
                        at,
                        "kumoc writes this block itself",
                    )
                    .with_secondary(
                        d.cluster.sink.enabled.loc,
                        "the sink is on here, and all mail is routed to it",
                    )
                    .with_help("kumoc shapes the traffic to the sink itself: remove this block, or turn the sink off"),
                );
            }
        }
    }

    /// The sink pod runs two listeners: SMTP on `port` and HTTP on 8000 (`sink.lua`, for the
    /// probes); the same port twice would leave one of them unbound.
    pub(super) fn sink_port(&mut self, sink: Option<&HBlock>) {
        let Some(p) = sink.and_then(|s| s.value("port")) else {
            return;
        };
        if p.value == Typed::Int(SINK_HTTP_PORT) {
            self.diags.push(
                Diagnostic::new(
                    codes::INCONSISTENT_VALUES,
                    format!(
                        "the sink's SMTP port is its HTTP port ({SINK_HTTP_PORT})"
                    ),
                    p.loc,
                    "taken by the sink's HTTP listener",
                )
                .with_help("the sink serves its probes over HTTP on port 8000: give SMTP another port, like 2525"),
            );
        }
    }

    /// Kubernetes refuses a container whose request exceeds its limit
    /// (`ValidateResourceRequirements`): each request is at most its limit.
    pub(super) fn requests_within_limits(&mut self, r: Option<&HBlock>) {
        let Some(r) = r else { return };
        let (Some(req), Some(lim)) = (r.child("requests"), r.child("limits")) else {
            return;
        };
        for f in ["cpu", "memory"] {
            let (Some(a), Some(b)) = (req.value(f), lim.value(f)) else {
                continue;
            };
            let (Some(x), Some(y)) = (a.value.as_quantity(), b.value.as_quantity()) else {
                continue;
            };
            if x > y {
                self.diags.push(
                    Diagnostic::new(
                        codes::INCONSISTENT_VALUES,
                        format!("the {f} request is above the {f} limit"),
                        a.loc,
                        "more than the limit",
                    )
                    .with_secondary(b.loc, "the limit")
                    .with_help("Kubernetes refuses a request above its limit: raise the limit, lower the request, or drop the limit"),
                );
            }
        }
    }

    /// The MTA's listeners each have their own port.
    pub(super) fn distinct_ports(&mut self, ports: &[(&'static str, &Spanned<u16>)]) {
        let mut seen: Vec<(&str, &Spanned<u16>)> = Vec::new();
        for &(name, p) in ports {
            if let Some((other, _)) = seen.iter().find(|(_, q)| q.value == p.value) {
                self.diags.push(
                    Diagnostic::new(
                        codes::INCONSISTENT_VALUES,
                        format!("ports `{other}` and `{name}` are both {}", p.value),
                        p.loc,
                        "same port twice",
                    )
                    .with_help("give each listener its own port"),
                );
            }
            seen.push((name, p));
        }
    }
}

/// The port of the sink's HTTP listener (written by `sink.lua` and the sink Deployment's
/// container ports, `emit/kumomta/policy.rs` and `emit/k8s.rs`).
const SINK_HTTP_PORT: i64 = 8000;
