//! Phase B, lowering: the merged, checked tree becomes the [`Deployment`] model, each value
//! with where it was written and each default applied.

use std::collections::BTreeMap;

use std::sync::Arc;

use super::{Lent, Memo, Part, Resolver};
use crate::check::{HAttr, HBlock};
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::schema::{self, BlockSchema};
use crate::source::{FileId, Loc};
use crate::value::{Spanned, Trigger, Typed, TypedAt};

impl<'t, 'd> Resolver<'t, 'd> {
    /// The model. `bulk` (the `domain`, `queue` and `shaping` blocks, outside the tree the
    /// resolver borrows, in the parts of the tree they were left in) is consumed: each owned
    /// block's values move into the model and the rest of it is freed as soon as it is
    /// lowered, so the typed tree and the model of tens of thousands of blocks are never both
    /// whole (a borrowed block's values are copied).
    ///
    /// `parts` is sized for every bulk block; with `later`, `bulk` is the first part of
    /// them, and the second is walked and lowered on a thread of its own (joined here, see
    /// [`Later`]).
    pub(super) fn lower<B: Lowered>(
        &mut self,
        environment: Spanned<Environment>,
        bulk: Vec<Vec<B>>,
        mut parts: BulkParts,
        later: &mut Option<Later<'_>>,
    ) -> Option<Deployment> {
        let dep = self.top_one("deployment")?;
        let name = Spanned {
            value: dep.label.clone().unwrap_or_default(),
            loc: dep.label_loc(),
        };
        if let Err(why) = crate::grammars::check_k8s_name(&name.value) {
            self.diags.push(
                Diagnostic::new(codes::INVALID_NAME, format!("`{}` cannot name Kubernetes objects", name.value), name.loc, why)
                    .with_help("the deployment name prefixes every object: use lowercase letters, digits and `-`"),
            );
        } else if !name.value.starts_with(|c: char| c.is_ascii_lowercase()) {
            self.diags.push(
                Diagnostic::new(
                    codes::INVALID_NAME,
                    format!("`{}` cannot name Kubernetes Services", name.value),
                    name.loc,
                    "starts with a digit",
                )
                .with_help("the deployment name prefixes its Services, whose names start with a letter (DNS-1035): start it with a letter"),
            );
        }
        // `namespace` is required (K1007 when missing); lowering goes on with Kubernetes's own.
        let namespace = dep
            .value("namespace")
            .and_then(|v| v.read(|v| v.as_k8s_name().map(str::to_string)))
            .unwrap_or_else(|| Spanned {
                value: "default".to_string(),
                loc: dep.header_loc(),
            });
        let version = dep
            .value("kumomta")
            .and_then(|v| v.read(|v| v.as_version().cloned()))?;
        let at = dep.header_loc();
        let image = field(Some(dep), &schema::DEPLOYMENT, "image", at, |v| {
            v.text().map(str::to_string)
        })
        .value;

        // Read from the tree alone (no findings): here, while the bulk blocks' second part
        // is lowered on the other thread.
        let sources = self.sources();
        self.lower_bulk(bulk, &mut parts);
        if let Some(l) = later.take() {
            self.join(l, Some(&mut parts));
        }
        self.diags.append(&mut parts.diags);
        let BulkParts {
            domains,
            queues,
            shaping,
            shaping_labels,
            ..
        } = parts;
        let pools = self.top("pool").map(|p| self.pool(p)).collect();
        let tenants = self.top("tenant").map(|t| self.tenant(t)).collect();
        let order = sort_order(&shaping, |a, b| a.key.cmp(&b.key));
        let shaping = permute(shaping, &order);
        // Where each block's label is, for the checks on the model.
        let shaping_labels: Vec<Loc> = order
            .iter()
            .filter_map(|&i| shaping_labels.get(i).copied())
            .collect();
        let mut providers: Vec<Provider> = self.top("provider").map(|p| self.provider(p)).collect();
        providers.sort_by(|a, b| a.name.cmp(&b.name));
        let secrets = self.top("secret").map(|s| self.secret(s)).collect();
        let cluster = self.cluster(&queues);
        let mut webhooks: Vec<Webhook> = Vec::new();
        for b in self.top("webhook").collect::<Vec<_>>() {
            let mut s = settings(b);
            // `secret_header = secret("name")` reads the key `token`.
            if let Some(mut setting) = s.remove("secret_header") {
                if let crate::value::Typed::Secret(r) = &mut setting.value {
                    if r.key.is_none() {
                        r.key = Some(("token".to_string(), r.name_loc));
                        let (name, at) = (r.name.clone(), r.name_loc);
                        self.secret_key(&name, "token", at);
                    }
                }
                s.insert_missing(setting);
            }
            webhooks.push(Webhook {
                name: b.label.clone().unwrap_or_default(),
                loc: b.header_loc(),
                settings: s,
            });
        }
        webhooks.sort_by(|a, b| a.name.cmp(&b.name));
        let warmups = self.warmups();
        let exposure = |kw: &str| {
            self.top_one("cluster")
                .and_then(|c| c.child(kw))
                .map(|b| Exposure {
                    loc: b.header_loc(),
                    settings: settings(b),
                })
        };
        let smtp_load_balancer = exposure("smtp_load_balancer");
        let api_ingress = exposure("api_ingress");
        let settings_of = |kw: &'static str| self.top_one(kw).map(settings).unwrap_or_default();

        let d = Deployment {
            name,
            namespace,
            version,
            image,
            environment,
            create_namespace: field(
                Some(dep),
                &schema::DEPLOYMENT,
                "create_namespace",
                at,
                Typed::as_bool,
            )
            .value,
            domains,
            dkim_defaults: settings_of("dkim_defaults"),
            vault: settings_of("vault"),
            webhooks,
            warmups,
            smtp_load_balancer,
            api_ingress,
            sources,
            pools,
            tenancy: settings_of("tenancy"),
            tenants,
            queues,
            shaping,
            providers,
            secrets,
            smtp_listener: settings_of("smtp_listener"),
            http_listener: settings_of("http_listener"),
            logging: settings_of("logging"),
            cluster,
        };
        if let Some(crate::value::Typed::Secret(r)) = d.vault.get("token").map(|s| &s.value) {
            if r.key.is_none() {
                self.secret_key(&r.name, "token", r.name_loc);
            }
        }
        if let (Some(m), true) = (d.dkim_defaults.get("vault_mount"), d.vault.is_empty()) {
            self.diags.push(
                Diagnostic::new(
                    codes::DKIM_KEY_SOURCE,
                    "DKIM keys are read from Vault, but there is no `vault` block".to_string(),
                    m.loc,
                    "Vault's address and token are missing",
                )
                .with_help("add `vault { address = \"https://...\"  token = secret(\"vault-token\", \"token\") }`"),
            );
        }
        self.derived_checks(&d, &shaping_labels);
        Some(d)
    }

    /// Some of the bulk blocks lowered, in order, after what `parts` holds (`BulkCx`: what
    /// their lowering reads beyond them, shared with the other thread's resolver).
    pub(super) fn lower_bulk<B: Lowered>(&self, bulk: Vec<Vec<B>>, parts: &mut BulkParts) {
        // Found once: a search per domain is quadratic in the number of domains.
        let dkim_defaults = self.top_one("dkim_defaults");
        // What a domain's lowering reads beyond its block (see `Part::Domain`).
        let dkim_cx = DkimCx {
            vault: dkim_defaults.is_some_and(|b| b.attr("vault_mount").is_some()),
            selector: dkim_defaults
                .and_then(|b| b.read("selector", Typed::text).map(str::to_string)),
        };
        BulkCx {
            tree: self.tree,
            names: &self.names,
            dkim_defaults,
            dkim_cx: &dkim_cx,
        }
        .lower_into(bulk, parts);
    }

    /// Wait for `later` and take what it did as if done here, in order: its walk's findings
    /// after this walk's, where that ended; each pool's uses after these; its parts (when
    /// the lowering went that far: `parts`) after these.
    pub(super) fn join(&mut self, later: Later<'_>, parts: Option<&mut BulkParts>) {
        // A walk or a lowering that panics fails the build as it does on one thread.
        let done = later
            .thread
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        let at = later.walked.min(self.diags.len());
        self.diags.splice(at..at, done.walk_diags);
        for (pool, mut uses) in done.pool_uses {
            self.pool_uses.entry(pool).or_default().append(&mut uses);
        }
        if let Some(p) = parts {
            p.append(done.parts);
        }
    }

    /// The warm-up schedules: a source's own `warmup` block (top level or in a pool), else
    /// the `warmup` block of a pool it is a member of (the first such pool by name).
    fn warmups(&mut self) -> Vec<Warmup> {
        let mut out: BTreeMap<String, Warmup> = BTreeMap::new();
        let mut own: Vec<(String, &HBlock)> = self
            .top("source")
            .filter_map(|s| Some((s.child("warmup")?, s.label.clone()?)))
            .map(|(w, name)| (name, w))
            .collect();
        let mut pools: Vec<_> = self.top("pool").collect();
        pools.sort_by(|a, b| a.label.cmp(&b.label));
        for p in &pools {
            own.extend(
                p.children("source")
                    .filter_map(|s| Some((s.child("warmup")?, s.label.clone()?)))
                    .map(|(w, name)| (name, w)),
            );
        }
        for (name, w) in own {
            if out.contains_key(&name) {
                continue;
            }
            if let Some(sched) = self.warmup_schedule(w) {
                out.insert(name.clone(), sched.for_source(&name, None));
            }
        }
        for p in &pools {
            let (Some(pool), Some(w)) = (&p.label, p.child("warmup")) else {
                continue;
            };
            let Some(sched) = self.warmup_schedule(w) else {
                continue;
            };
            for s in p.children("source") {
                if let Some(name) = &s.label {
                    if !out.contains_key(name) {
                        out.insert(name.clone(), sched.for_source(name, Some(pool)));
                    }
                }
            }
        }
        out.into_values().collect()
    }

    /// A `warmup` block, its start date read (K2020 when it is not a date).
    fn warmup_schedule(&mut self, w: &HBlock) -> Option<Warmup> {
        let start = w.value("start")?;
        let text = start.value.text()?.to_string();
        let start_epoch = match crate::grammars::utc_date_start(&text) {
            Ok(t) => t,
            Err(why) => {
                self.diags.push(
                    Diagnostic::new(
                        codes::INVALID_DATE,
                        format!("`{text}` is not a date"),
                        start.loc,
                        why,
                    )
                    .with_help("write the first day of the warm-up as \"YYYY-MM-DD\" (UTC)"),
                );
                return None;
            }
        };
        let ramp: Vec<Spanned<i64>> = w.read_items("ramp", Typed::as_int);
        if ramp.is_empty() {
            return None;
        }
        Some(Warmup {
            source: String::new(),
            loc: w.header_loc(),
            pool: None,
            start: Spanned {
                value: text,
                loc: start.loc,
            },
            start_epoch,
            ramp,
        })
    }

    fn sources(&self) -> Vec<Source> {
        let mut out: Vec<Source> = self
            .top("source")
            .map(|s| Source {
                name: s.label.clone().unwrap_or_default(),
                loc: s.header_loc(),
                settings: settings(s),
            })
            .collect();
        // Hashed and borrowed: a B-tree of copied names was most of this step's time.
        // Sized for every source a pool may define (grown by doubling, it was rehashed about
        // fourteen times at 10,000).
        let in_pools: usize = self.top("pool").map(|p| p.blocks.len()).sum();
        let mut seen: rustc_hash::FxHashSet<&str> = rustc_hash::FxHashSet::with_capacity_and_hasher(
            out.len() + in_pools,
            Default::default(),
        );
        seen.extend(
            self.top("source")
                .map(|s| s.label.as_deref().unwrap_or_default()),
        );
        out.reserve(in_pools);
        for pool in self.top("pool") {
            for s in pool.children("source") {
                let Some(name) = &s.label else { continue };
                if !seen.insert(name) {
                    continue;
                }
                // The pool's `weight` is the membership's, not the source's (left out, not
                // removed afterwards: a removal reallocates the settings).
                let st = s
                    .attrs
                    .iter()
                    .filter(|a| a.name() != "weight")
                    .filter_map(|a| setting(a.field?, a.value.clone()?))
                    .collect();
                out.push(Source {
                    name: name.clone(),
                    loc: s.header_loc(),
                    settings: st,
                });
            }
        }
        let order = sort_order(&out, |a, b| a.name.cmp(&b.name));
        permute(out, &order)
    }

    fn pool(&mut self, p: &HBlock) -> Pool {
        let name = p.label.clone().unwrap_or_default();
        let top_sources: rustc_hash::FxHashSet<&str> = self
            .top("source")
            .filter_map(|s| s.label.as_deref())
            .collect();
        // The schema's default, read once rather than per member.
        let default_weight = field(None, &schema::POOL_SOURCE, "weight", Loc::default(), as_u32);
        let members = p
            .children("source")
            .filter_map(|s| {
                let source = s.label.clone()?;
                if top_sources.contains(source.as_str()) {
                    if let Some(extra) = s.attrs.iter().find(|a| a.name() != "weight") {
                        self.diags.push(
                            Diagnostic::new(codes::UNKNOWN_FIELD, format!("`{}` cannot be set here: source `{source}` is defined at the top level", extra.name()), extra.key_loc(), "set it in the source's definition")
                                .with_help("in a pool, an entry for a top-level source only sets `weight`"),
                        );
                    }
                }
                let weight = s.read("weight", as_u32).unwrap_or(default_weight.value);
                Some(PoolMember { source, weight, loc: s.header_loc() })
            })
            .collect();
        Pool {
            name,
            loc: p.header_loc(),
            members,
        }
    }

    fn tenant(&self, t: &HBlock) -> Tenant {
        Tenant {
            name: t.label.clone().unwrap_or_default(),
            loc: t.header_loc(),
            settings: settings(t),
            campaigns: campaigns(t),
        }
    }

    fn provider(&self, p: &HBlock) -> Provider {
        let matches = p
            .read_items("match", Typed::as_match)
            .into_iter()
            .map(|m| Spanned {
                value: m.value.clone(),
                loc: m.loc,
            })
            .collect();
        Provider {
            name: p.label.clone().unwrap_or_default(),
            loc: p.header_loc(),
            preset: self.is_stdlib(p.file),
            overridden_at: p.overridden_at.clone(),
            matches,
            shaping: shaping(p, &["match", "replace_base"]),
        }
    }

    fn is_stdlib(&self, file: FileId) -> bool {
        file.0 < crate::stdlib::FILES.len() as u32
    }

    fn secret(&self, s: &HBlock) -> Secret {
        let name = s.label.clone().unwrap_or_default();
        let keys = self
            .names
            .secrets
            .get(name.as_str())
            .cloned()
            .unwrap_or_default();
        let files = s
            .child("files")
            .map(|f| {
                f.attrs
                    .iter()
                    .filter_map(|a| {
                        let path = a.value.as_ref()?.read(|v| v.text().map(str::to_string))?;
                        Some((a.name().to_string(), path))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Secret {
            name,
            loc: s.header_loc(),
            keys,
            files,
        }
    }

    fn cluster(&mut self, queues: &[Shared<QueueRule>]) -> Cluster {
        use schema::{LIVENESS, METRICS, MTA, PORTS, READINESS, SINK, STARTUP, TSA};
        let c = self.top_one("cluster");
        let child = |kw: &str| c.and_then(|c| c.child(kw));
        let mta_b = child("mta");
        // Where defaults are reported: the mta block, else the cluster block, else the deployment.
        let fallback = mta_b
            .or(c)
            .or_else(|| self.top_one("deployment"))
            .map_or(Loc::default(), HBlock::header_loc);
        let ports = mta_b.and_then(|m| m.child("ports"));
        let port = |name: &str| field(ports, &PORTS, name, fallback, as_u16);
        let probes = mta_b.and_then(|m| m.child("probes"));
        let probe = |schema: &'static BlockSchema| {
            probe(probes.and_then(|p| p.child(schema.keyword)), schema)
        };
        let http_port = port("http");
        let metrics_port = port("metrics");
        let smtp_port = port("smtp");
        self.distinct_ports(&[
            ("http", &http_port),
            ("metrics", &metrics_port),
            ("smtp", &smtp_port),
        ]);
        let mta = Mta {
            loc: mta_b.map(HBlock::header_loc),
            replicas: field(mta_b, &MTA, "replicas", fallback, as_u32),
            spool_bytes: field(mta_b, &MTA, "spool", fallback, Typed::as_size),
            storage_class: mta_b
                .and_then(|m| m.read("storage_class", Typed::text).map(str::to_string)),
            termination_grace_ms: field(
                mta_b,
                &MTA,
                "termination_grace_period",
                fallback,
                Typed::as_duration_ms,
            )
            .value,
            http_port,
            metrics_port,
            smtp_port,
            resources: {
                let r = mta_b.and_then(|m| m.child("resources"));
                self.requests_within_limits(r);
                resources(r)
            },
            autoscale: mta_b
                .and_then(|m| m.child("autoscale"))
                .map(|a| self.autoscale(a)),
            readiness: probe(&READINESS),
            startup: probe(&STARTUP),
            liveness: probe(&LIVENESS),
        };
        let tsa = child("tsa").and_then(|t| {
            let at = t.header_loc();
            if !field(Some(t), &TSA, "enabled", at, Typed::as_bool).value {
                return None;
            }
            Some(Tsa {
                loc: at,
                replicas: field(Some(t), &TSA, "replicas", at, as_u32),
                port: field(Some(t), &TSA, "port", at, as_u16).value,
                storage_bytes: field(Some(t), &TSA, "storage", at, Typed::as_size).value,
                storage_class: t.read("storage_class", Typed::text).map(str::to_string),
                pre_filter: field(Some(t), &TSA, "pre_filter", at, Typed::as_bool).value,
                cache_ttl_ms: field(Some(t), &TSA, "cache_ttl", at, Typed::as_duration_ms).value,
                resources: resources(t.child("resources")),
            })
        });
        if let Some(t) = child("tsa") {
            self.requests_within_limits(t.child("resources"));
        }
        let sink_b = child("sink");
        self.requests_within_limits(sink_b.and_then(|s| s.child("resources")));
        self.sink_port(sink_b);
        let sink = Sink {
            loc: sink_b.map(HBlock::header_loc),
            // Without a sink block there is no sink (`enabled` is required in one).
            enabled: sink_b
                .and_then(|s| s.value("enabled"))
                .and_then(|v| v.read(Typed::as_bool))
                .unwrap_or(Spanned {
                    value: false,
                    loc: fallback,
                }),
            replicas: field(sink_b, &SINK, "replicas", fallback, as_u32).value,
            port: field(sink_b, &SINK, "port", fallback, as_u16).value,
            resources: resources(sink_b.and_then(|s| s.child("resources"))),
        };
        let redis = child("redis").map(|r| Redis {
            loc: r.header_loc(),
            settings: settings(r),
        });
        let metrics_b = child("metrics");
        let pod_cidr = c
            .and_then(|c| c.value("pod_cidr"))
            .and_then(|v| v.read(Typed::as_cidr));
        // Scrapers default to the pod network (`scraper_cidrs`'s described default).
        let scraper_cidrs = match metrics_b.and_then(|m| m.value("scraper_cidrs")) {
            Some(list) => list.read_items(Typed::as_cidr).collect(),
            None => pod_cidr.iter().cloned().collect(),
        };
        let metrics = Metrics {
            loc: metrics_b.map(HBlock::header_loc),
            enabled: field(metrics_b, &METRICS, "enabled", fallback, Typed::as_bool).value,
            service_monitor: field(
                metrics_b,
                &METRICS,
                "service_monitor",
                fallback,
                Typed::as_bool,
            )
            .value,
            interval_ms: field(
                metrics_b,
                &METRICS,
                "interval",
                fallback,
                Typed::as_duration_ms,
            )
            .value,
            scraper_cidrs,
            alerts: metrics_b
                .and_then(|m| m.child("alerts"))
                .and_then(|a| alerts(a, queues)),
            dashboard: metrics_b
                .and_then(|m| m.child("dashboard"))
                .and_then(dashboard),
        };
        Cluster {
            pod_cidr,
            mta,
            tsa,
            sink,
            redis,
            metrics,
        }
    }

    fn autoscale(&mut self, a: &HBlock) -> Autoscale {
        let min = a
            .read("min", Typed::as_int)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(1);
        let max = a
            .read("max", Typed::as_int)
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(min);
        if min > max {
            if let Some(at) = a.attr("max") {
                self.diags.push(
                    Diagnostic::new(
                        codes::INCONSISTENT_VALUES,
                        format!("autoscale `max` ({max}) is below `min` ({min})"),
                        at.value_loc(),
                        "below `min`",
                    )
                    .with_secondary(
                        a.attr("min").map_or(a.header_loc(), HAttr::value_loc),
                        "`min` set here",
                    )
                    .with_help("`max` must be at least `min`"),
                );
            }
        }
        let pct = |name: &str| a.read(name, Typed::as_percent);
        let (cpu_percent, memory_percent) = (pct("cpu"), pct("memory"));
        let at = a.header_loc();
        let on = field(Some(a), &schema::AUTOSCALE, "on", at, |v| {
            v.as_enum().map(|x| match x.name {
                "queue_depth" => AutoscaleOn::QueueDepth,
                _ => AutoscaleOn::Cpu,
            })
        });
        if on.value == AutoscaleOn::Cpu && a.attr("cpu").is_none() && a.attr("memory").is_none() {
            self.diags.push(
                Diagnostic::new(
                    codes::MISSING_FIELD,
                    "`autoscale` has no target",
                    a.header_loc(),
                    "scales on nothing",
                )
                .with_help("set `cpu = 80%` and/or `memory = 80%`, or scale on the queue with `on = queue_depth`"),
            );
        }
        Autoscale {
            loc: at,
            min,
            max,
            cpu_percent,
            memory_percent,
            queue_depth: field(Some(a), &schema::AUTOSCALE, "queue_depth", at, |v| {
                v.as_int().and_then(|n| u64::try_from(n).ok())
            })
            .value,
            prometheus: a
                .value("prometheus")
                .and_then(|v| v.read(|v| v.text().map(str::to_string))),
            polling_interval_ms: field(
                Some(a),
                &schema::AUTOSCALE,
                "polling_interval",
                at,
                Typed::as_duration_ms,
            )
            .value,
            on,
        }
    }
}

/// What lowering a `domain`, `queue` or `shaping` block reads beyond the block: shared by
/// the threads that lower them (`Resolver::lower_bulk`).
struct BulkCx<'r, 't> {
    tree: &'r [&'t HBlock],
    names: &'r super::Names<'t>,
    dkim_defaults: Option<&'t HBlock>,
    dkim_cx: &'r DkimCx,
}

/// What some of the bulk blocks were lowered to, in their order, with the findings.
#[derive(Default)]
pub(super) struct BulkParts {
    domains: Vec<Shared<Domain>>,
    queues: Vec<Shared<QueueRule>>,
    shaping: Vec<Shared<ShapingBlock>>,
    /// Where each `shaping` block's label is.
    shaping_labels: Vec<Loc>,
    diags: Vec<Diagnostic>,
}

/// The second part of the bulk blocks, walked and lowered on a thread of its own
/// (`resolve`), and where this resolver's walk ended (its findings go there).
pub(super) struct Later<'s> {
    pub thread: std::thread::ScopedJoinHandle<'s, LaterDone>,
    pub walked: usize,
}

/// What the thread of [`Later`] did.
pub(super) struct LaterDone {
    pub walk_diags: Vec<Diagnostic>,
    pub pool_uses: BTreeMap<String, Vec<Loc>>,
    pub parts: BulkParts,
}

impl BulkCx<'_, '_> {
    /// Some of the bulk blocks lowered, in order, after what `p` holds.
    fn lower_into<B: Lowered>(&self, bulk: Vec<Vec<B>>, p: &mut BulkParts) {
        let dkim_cx = self.dkim_cx;
        for b in bulk.into_iter().flatten() {
            let keyword = b.block().schema.keyword;
            // A session's unchanged block: what it lowered to last time, when that still
            // holds (see `Memo`).
            let memo = b.memo();
            let reused = memo.and_then(|m| m.get(keyword, dkim_cx));
            match (keyword, reused) {
                ("domain", Some(Part::Domain(d, derived))) => {
                    if let (true, Some(k)) = (derived, d.dkim.as_ref().and_then(|k| k.key.as_ref()))
                    {
                        self.names
                            .secret_key(&k.secret, &k.key, k.loc, &mut p.diags);
                    }
                    p.domains.push(Shared::Shared(d));
                }
                ("queue", Some(Part::Queue(q))) => p.queues.push(Shared::Shared(q)),
                ("shaping", Some(Part::Shaping(sb))) => {
                    p.shaping_labels.push(b.block().label_loc());
                    p.shaping.push(Shared::Shared(sb));
                }
                ("domain", _) => {
                    let before = p.diags.len();
                    let (d, derived) = self.domain(b, &mut p.diags);
                    // Kept only when it found nothing: its findings are not replayed.
                    p.domains
                        .push(match memo.filter(|_| p.diags.len() == before) {
                            Some(m) => {
                                let d = Arc::new(d);
                                m.set(Part::Domain(Arc::clone(&d), derived), dkim_cx);
                                Shared::Shared(d)
                            }
                            None => Shared::Own(d),
                        });
                }
                ("queue", _) => {
                    let q = queue(b);
                    p.queues.push(match memo {
                        Some(m) => {
                            let q = Arc::new(q);
                            m.set(Part::Queue(Arc::clone(&q)), dkim_cx);
                            Shared::Shared(q)
                        }
                        None => Shared::Own(q),
                    });
                }
                _ => {
                    p.shaping_labels.push(b.block().label_loc());
                    // A block that starts `from` a preset reads the preset too: not kept.
                    let from = b.block().from.is_some();
                    let sb = self.shaping_block(b);
                    p.shaping.push(match memo.filter(|_| !from) {
                        Some(m) => {
                            let sb = Arc::new(sb);
                            m.set(Part::Shaping(Arc::clone(&sb)), dkim_cx);
                            Shared::Shared(sb)
                        }
                        None => Shared::Own(sb),
                    });
                }
            }
        }
    }

    /// A `domain` block, consumed; and whether its DKIM key's name was derived (and
    /// checked against its secret's keys: `secret_key`).
    fn domain<B: Lowered>(&self, mut d: B, diags: &mut Vec<Diagnostic>) -> (Domain, bool) {
        let dkim_defaults = self.dkim_defaults;
        let name = d.take_label().unwrap_or_default();
        let loc = d.block().header_loc();
        let vault_mount = dkim_defaults
            .and_then(|b| b.attr("vault_mount"))
            .map(|a| a.key_loc());
        let dkim = d
            .into_children()
            .find(|b| b.block().schema.keyword == "dkim");
        let mut derived = false;
        let dkim = dkim.and_then(|mut k| {
            // Read before the values move into the settings.
            let selector = k.block().read("selector", Typed::text).map(str::to_string);
            let (s, key_setting) = k.take_settings_but("key");
            let k = k.block();
            if let (Some(a), None) = (k.attr("vault_path"), vault_mount) {
                diags.push(
                    Diagnostic::new(
                        codes::DKIM_KEY_SOURCE,
                        format!("`vault_path` for `{name}`, but DKIM keys are not read from Vault"),
                        a.key_loc(),
                        "needs `dkim_defaults.vault_mount`",
                    )
                    .with_help("set `vault_mount` in `dkim_defaults` to read every key from Vault, or remove `vault_path`"),
                );
                return None;
            }
            let Some(key_setting) = key_setting else {
                if vault_mount.is_some() {
                    return Some(Dkim {
                        loc: k.header_loc(),
                        settings: s,
                        key: None,
                    });
                }
                diags.push(
                    Diagnostic::new(
                        codes::MISSING_FIELD,
                        format!("DKIM for `{name}` has no key"),
                        k.header_loc(),
                        "`key` missing",
                    )
                    .with_help("add `key = secret(\"dkim-keys\")`, or read every key from Vault with `vault_mount` in `dkim_defaults`"),
                );
                return None;
            };
            if let Some(mount) = vault_mount {
                diags.push(
                    Diagnostic::new(
                        codes::DKIM_KEY_SOURCE,
                        format!("`key` from a Secret for `{name}`, but every DKIM key is read from Vault"),
                        key_setting.loc,
                        "KumoMTA would read this as a Vault path",
                    )
                    .with_secondary(mount, "every key comes from Vault because of this")
                    .with_help("remove `key` (set `vault_path` if the key is not at `<vault_path_prefix>/<domain>/<selector>.key`), or remove `vault_mount`"),
                );
                return None;
            }
            let Typed::Secret(key_ref) = key_setting.value else {
                return None;
            };
            let selector = selector.or_else(|| {
                    dkim_defaults.and_then(|b| b.read("selector", Typed::text).map(str::to_string))
                });
            let Some(selector) = selector else {
                diags.push(
                    Diagnostic::new(
                        codes::MISSING_FIELD,
                        format!("DKIM for `{name}` has no selector"),
                        k.header_loc(),
                        "`selector` missing",
                    )
                    .with_help("set `selector` here or in `dkim_defaults`"),
                );
                return None;
            };
            let key = match key_ref.key {
                Some((k, _)) => k,
                None => {
                    // Pushed, not formatted: one per domain (a `format!` was 800 instructions).
                    let mut key_name =
                        String::with_capacity(name.len() + selector.len() + ".key".len() + 1);
                    for part in [name.as_str(), ".", selector.as_str(), ".key"] {
                        key_name.push_str(part);
                    }
                    if key_name.starts_with('*') {
                        diags.push(
                            Diagnostic::new(
                                codes::UNKNOWN_SECRET_KEY,
                                format!("no key name for wildcard domain `{name}`"),
                                key_ref.name_loc,
                                "which key of the secret?",
                            )
                            .with_help(format!(
                                "name the key: `secret(\"{}\", \"wildcard.{selector}.key\")`",
                                key_ref.name
                            )),
                        );
                        return None;
                    }
                    self.names
                        .secret_key(&key_ref.name, &key_name, key_ref.name_loc, diags);
                    derived = true;
                    key_name
                }
            };
            Some(Dkim {
                loc: k.header_loc(),
                settings: s,
                key: Some(ResolvedSecretKey {
                    secret: key_ref.name,
                    key,
                    loc: key_ref.name_loc,
                }),
            })
        });
        (Domain { name, loc, dkim }, derived)
    }

    /// A `shaping` block, consumed.
    fn shaping_block<B: Lowered>(&self, mut b: B) -> ShapingBlock {
        let key = shaping_key(b.take_label());
        let loc = b.block().header_loc();
        let from = b.take_from().map(|(value, loc)| Spanned { value, loc });
        let mut own = shaping_owned(b);
        if let Some(f) = &from {
            // Start from the preset's egress settings; the block's own settings win.
            if let Some(p) = self.tree.iter().find(|p| {
                p.schema.keyword == "provider" && p.label.as_deref() == Some(f.value.as_str())
            }) {
                let preset = shaping(
                    p,
                    &[
                        "match",
                        "provider_connection_limit",
                        "provider_max_message_rate",
                        "replace_base",
                    ],
                );
                for v in preset.settings {
                    own.settings.insert_missing(v);
                }
            }
        }
        ShapingBlock {
            key,
            loc,
            from: from.map(Box::new),
            shaping: own,
        }
    }
}

impl BulkParts {
    /// Empty, with room for the parts of `bulk`: each vector sized once (grown by doubling,
    /// tens of thousands of them were kept up to twice their room).
    pub(super) fn sized_for<B: Lowered>(bulk: &[Vec<B>]) -> Self {
        let count = |kw: &str| {
            bulk.iter()
                .flatten()
                .filter(|b| b.block().schema.keyword == kw)
                .count()
        };
        let (n_domains, n_queues) = (count("domain"), count("queue"));
        let n_shaping = bulk.iter().map(Vec::len).sum::<usize>() - n_domains - n_queues;
        BulkParts {
            domains: Vec::with_capacity(n_domains),
            queues: Vec::with_capacity(n_queues),
            shaping: Vec::with_capacity(n_shaping),
            shaping_labels: Vec::with_capacity(n_shaping),
            diags: Vec::new(),
        }
    }

    /// `later`'s parts and findings after these.
    fn append(&mut self, mut later: BulkParts) {
        self.domains.append(&mut later.domains);
        self.queues.append(&mut later.queues);
        self.shaping.append(&mut later.shaping);
        self.shaping_labels.append(&mut later.shaping_labels);
        self.diags.append(&mut later.diags);
    }
}

/// The work of the sources of `tree` (top level, and in pools), in bulk blocks walked and
/// lowered: the thread that lowers the sources (`Resolver::sources`) and walks the pools
/// takes that many fewer bulk blocks (see `resolve`). A source is half a bulk block: with a
/// source per domain (10,000 of each), this thread's share of the work, counted in
/// instructions, was 34.9 M against the other's 24.0 M with halves of the bulk blocks, and
/// 25.8 M against 31.9 M with a bulk block a source (the other thread also starts later).
pub(super) fn source_weight(tree: &[&HBlock]) -> usize {
    let sources: usize = tree
        .iter()
        .map(|b| match b.schema.keyword {
            "source" => 1,
            "pool" => b.children("source").count(),
            _ => 0,
        })
        .sum();
    sources / 2
}

/// The chunks of `bulk` cut in two at the `at`-th block: the chunk it falls in is split,
/// no other block moves.
pub(super) fn halves<B>(mut bulk: Vec<Vec<B>>, at: usize) -> (Vec<Vec<B>>, Vec<Vec<B>>) {
    let mut left = at;
    let Some(i) = bulk.iter().position(|c| {
        let here = left < c.len();
        if !here {
            left -= c.len();
        }
        here
    }) else {
        return (bulk, Vec::new());
    };
    let mut second = bulk.split_off(i + 1);
    if let Some(c) = bulk.last_mut() {
        second.insert(0, c.split_off(left));
    }
    (bulk, second)
}

/// The egress settings of a block (a `provider`'s preset), but those in `skip`.
fn shaping(b: &HBlock, skip: &[&'static str]) -> Shaping {
    let mut st = settings(b);
    for k in skip {
        st.remove(k);
    }
    Shaping {
        settings: st,
        maps: maps(b),
        automation: b.children("automation").map(rule).collect(),
        sources: b
            .children("source")
            .map(|s| ShapingSource {
                name: s.label.clone().unwrap_or_default(),
                loc: s.header_loc(),
                settings: settings(s),
                maps: maps(s),
            })
            .collect(),
    }
}

/// The alert thresholds of an `alerts` block (none when `enabled = false`), with
/// `queue_stuck` derived from the queues' `max_age` when it is not written.
fn alerts(a: &HBlock, queues: &[Shared<QueueRule>]) -> Option<Alerts> {
    use schema::ALERTS;
    let at = a.header_loc();
    if !field(Some(a), &ALERTS, "enabled", at, Typed::as_bool).value {
        return None;
    }
    let (longest_max_age_ms, longest_max_age_at) = longest_max_age(queues);
    let written = a
        .value("queue_stuck")
        .and_then(|v| v.read(Typed::as_duration_ms));
    let pct = |name: &str| field(Some(a), &ALERTS, name, at, Typed::as_percent);
    Some(Alerts {
        loc: at,
        for_ms: field(Some(a), &ALERTS, "for", at, Typed::as_duration_ms).value,
        queue_growth: field(Some(a), &ALERTS, "queue_growth", at, |v| {
            v.as_int().and_then(|n| u64::try_from(n).ok())
        })
        .value,
        queue_growth_window_ms: field(
            Some(a),
            &ALERTS,
            "queue_growth_window",
            at,
            Typed::as_duration_ms,
        )
        .value,
        queue_stuck_written: written.is_some(),
        queue_stuck_ms: written.unwrap_or(Spanned {
            value: longest_max_age_ms / 2,
            loc: at,
        }),
        longest_max_age_ms,
        longest_max_age_at,
        failure_ratio: pct("failure_ratio"),
        transfail_ratio: pct("transfail_ratio"),
        spool_free: pct("spool_free"),
        restarts: field(Some(a), &ALERTS, "restarts", at, as_u32).value,
    })
}

/// The longest `max_age` a queued message can have, and where it is written: the largest
/// written in a queue, tenant or campaign block, and KumoMTA's own default (`queue default`
/// without `max_age`, or no `queue default`: every queue no rule names gets it).
fn longest_max_age(queues: &[Shared<QueueRule>]) -> (u64, Option<Loc>) {
    let read = |s: &Settings| {
        s.get("max_age")
            .and_then(|x| x.value.as_duration_ms().map(|ms| (ms, Some(x.loc))))
    };
    let mut longest = queues
        .iter()
        .flat_map(|q| {
            std::iter::once(&q.settings).chain(q.tenants.iter().flat_map(|t| {
                std::iter::once(&t.settings).chain(t.campaigns.iter().map(|c| &c.settings))
            }))
        })
        .filter_map(read)
        .fold((0, None), |a, b| if b.0 > a.0 { b } else { a });
    let default_sets_it = queues
        .iter()
        .any(|q| q.key == ShapingKey::Default && q.settings.contains_key("max_age"));
    if !default_sets_it {
        let kumo = schema::QUEUE
            .field("max_age")
            .and_then(|f| f.default)
            .and_then(|d| d.lit())
            .and_then(|l| l.duration_ms())
            .unwrap_or(0);
        if kumo > longest.0 {
            longest = (kumo, None);
        }
    }
    longest
}

/// The dashboard of a `dashboard` block (none when `enabled = false`).
fn dashboard(b: &HBlock) -> Option<Dashboard> {
    let at = b.header_loc();
    if !field(Some(b), &schema::DASHBOARD, "enabled", at, Typed::as_bool).value {
        return None;
    }
    Some(Dashboard {
        loc: at,
        title: b
            .read("title", Typed::text)
            .map(str::to_string)
            .unwrap_or_default(),
        folder: b.read("folder", Typed::text).map(str::to_string),
    })
}

/// The stable order that sorts `items` by `cmp`, as indices: sorting indices moves a word
/// per step where sorting the items moved a whole model block (tens of thousands of them).
fn sort_order<T>(items: &[T], mut cmp: impl FnMut(&T, &T) -> std::cmp::Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| match (items.get(a), items.get(b)) {
        (Some(x), Some(y)) => cmp(x, y),
        _ => std::cmp::Ordering::Equal,
    });
    order
}

/// `items` in `order` (a permutation of their indices, from [`sort_order`]), in place: a
/// second vector of tens of thousands of model blocks is not built beside the first.
fn permute<T>(mut items: Vec<T>, order: &[usize]) -> Vec<T> {
    // Each cycle of the permutation is applied with swaps: position `j` takes the item at
    // `order[j]`, until the cycle comes back to where it started.
    let mut done = vec![false; items.len()];
    for start in 0..items.len() {
        let mut j = start;
        while let Some(d) = done.get_mut(j) {
            if *d {
                break;
            }
            *d = true;
            let Some(&next) = order.get(j) else { break };
            if next == start || next >= items.len() {
                break;
            }
            items.swap(j, next);
            j = next;
        }
    }
    items
}

/// The key of a `queue` or `shaping` block, from its label (taken).
fn shaping_key(label: Option<String>) -> ShapingKey {
    match label {
        Some(d) if d != "default" => ShapingKey::Domain(d),
        _ => ShapingKey::Default,
    }
}

fn settings(b: &HBlock) -> Settings {
    b.attrs
        .iter()
        .filter_map(|a| setting(a.field?, a.value.clone()?))
        .collect()
}

/// One field's setting from its typed value.
fn setting(field: &'static schema::Field, v: TypedAt) -> Option<Setting> {
    let mut value = v.value;
    // `secret("name")` without a key: the key is named after the field (TLS fields
    // use the kubernetes.io/tls names). DKIM keys and API users are handled apart.
    if let Typed::Secret(r) = &mut value {
        if r.key.is_none() && !matches!(field.name, "key" | "users") {
            r.key = Some((default_secret_key(field.name).to_string(), r.name_loc));
        }
    }
    Some(Setting {
        field,
        value,
        loc: v.loc,
    })
}

/// `settings` but field `name`'s (the last, as in `Settings`), and that one apart.
fn split(settings: impl Iterator<Item = Setting>, name: &str) -> (Settings, Option<Setting>) {
    let mut apart = None;
    let rest = settings
        .filter_map(|s| {
            if s.name() == name {
                apart = Some(s);
                return None;
            }
            Some(s)
        })
        .collect();
    (rest, apart)
}

/// A block of `bulk` (see [`Resolver::lower`]) or one of its children, consumed as it is
/// lowered: owned, its values move into the model; borrowed, they are copied.
pub(crate) trait Lowered: Sized {
    type Children: Iterator<Item = Self>;
    fn block(&self) -> &HBlock;
    fn take_label(&mut self) -> Option<String>;
    fn take_from(&mut self) -> Option<(String, Loc)>;
    /// Its settings (the block keeps its attributes' syntax).
    fn take_settings(&mut self) -> Settings;
    /// Its settings but field `name`'s, and that one apart (without the search and the
    /// shrinking of `Settings::remove`: one per domain).
    fn take_settings_but(&mut self, name: &str) -> (Settings, Option<Setting>);
    fn into_children(self) -> Self::Children;
    /// The entries of a map block.
    fn into_entries(self) -> MapEntries;
    /// What a session keeps of it (see [`super::Memo`]), apart from the block (which is
    /// consumed while it is lowered).
    fn memo(&self) -> Option<Self::Memo> {
        None
    }
    /// A reference to a [`Memo`] that outlives the block's borrow.
    type Memo: std::ops::Deref<Target = Memo> + Copy;
}

/// What lowering a `domain` block reads of `dkim_defaults` (see [`super::Memo`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DkimCx {
    pub vault: bool,
    pub selector: Option<String>,
}

impl Lowered for HBlock {
    type Children = std::vec::IntoIter<HBlock>;
    type Memo = &'static Memo;
    fn block(&self) -> &HBlock {
        self
    }
    fn take_label(&mut self) -> Option<String> {
        self.label.take()
    }
    fn take_from(&mut self) -> Option<(String, Loc)> {
        self.from.take().map(|f| *f)
    }
    fn take_settings(&mut self) -> Settings {
        self.attrs
            .iter_mut()
            .filter_map(|a| setting(a.field?, a.value.take()?))
            .collect()
    }
    fn take_settings_but(&mut self, name: &str) -> (Settings, Option<Setting>) {
        split(
            self.attrs
                .iter_mut()
                .filter_map(|a| setting(a.field?, a.value.take()?)),
            name,
        )
    }
    fn into_children(self) -> Self::Children {
        self.blocks.into_iter()
    }
    fn into_entries(self) -> MapEntries {
        self.attrs
            .into_iter()
            .filter_map(|a| {
                let name = a.value.as_ref().map(|_| a.name().to_string())?;
                Some((name, a.value?))
            })
            .collect()
    }
}

impl<'a> Lowered for &'a HBlock {
    type Children = std::slice::Iter<'a, HBlock>;
    type Memo = &'static Memo;
    fn block(&self) -> &HBlock {
        self
    }
    fn take_label(&mut self) -> Option<String> {
        self.label.clone()
    }
    fn take_from(&mut self) -> Option<(String, Loc)> {
        self.from.as_deref().cloned()
    }
    fn take_settings(&mut self) -> Settings {
        settings(self)
    }
    fn take_settings_but(&mut self, name: &str) -> (Settings, Option<Setting>) {
        split(
            self.attrs
                .iter()
                .filter_map(|a| setting(a.field?, a.value.clone()?)),
            name,
        )
    }
    fn into_children(self) -> Self::Children {
        self.blocks.iter()
    }
    fn into_entries(self) -> MapEntries {
        self.attrs
            .iter()
            .filter_map(|a| Some((a.name().to_string(), a.value.clone()?)))
            .collect()
    }
}

impl<'a> Lowered for Lent<'a> {
    type Children = LentChildren<'a>;
    type Memo = &'a Memo;
    fn block(&self) -> &HBlock {
        std::borrow::Borrow::borrow(self)
    }
    fn take_label(&mut self) -> Option<String> {
        match self {
            Lent::Merged(b) => b.take_label(),
            Lent::Top(k) => (&k.block).take_label(),
            Lent::Kept(b) => b.take_label(),
        }
    }
    fn take_from(&mut self) -> Option<(String, Loc)> {
        match self {
            Lent::Merged(b) => b.take_from(),
            Lent::Top(k) => (&k.block).take_from(),
            Lent::Kept(b) => b.take_from(),
        }
    }
    fn take_settings(&mut self) -> Settings {
        match self {
            Lent::Merged(b) => b.take_settings(),
            Lent::Top(k) => (&k.block).take_settings(),
            Lent::Kept(b) => b.take_settings(),
        }
    }
    fn take_settings_but(&mut self, name: &str) -> (Settings, Option<Setting>) {
        match self {
            Lent::Merged(b) => b.take_settings_but(name),
            Lent::Top(k) => (&k.block).take_settings_but(name),
            Lent::Kept(b) => b.take_settings_but(name),
        }
    }
    fn into_children(self) -> Self::Children {
        match self {
            Lent::Merged(b) => LentChildren::Merged(b.into_children()),
            Lent::Top(k) => LentChildren::Kept(k.block.blocks.iter()),
            Lent::Kept(b) => LentChildren::Kept(b.into_children()),
        }
    }
    fn into_entries(self) -> MapEntries {
        match self {
            Lent::Merged(b) => b.into_entries(),
            Lent::Top(k) => (&k.block).into_entries(),
            Lent::Kept(b) => b.into_entries(),
        }
    }
    fn memo(&self) -> Option<&'a Memo> {
        match *self {
            Lent::Top(k) => Some(&k.memo),
            _ => None,
        }
    }
}

/// The children of a [`Lent`] block, as such.
pub(crate) enum LentChildren<'a> {
    Kept(std::slice::Iter<'a, HBlock>),
    Merged(std::vec::IntoIter<HBlock>),
}

impl<'a> Iterator for LentChildren<'a> {
    type Item = Lent<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            LentChildren::Kept(i) => i.next().map(Lent::Kept),
            LentChildren::Merged(i) => i.next().map(|b| Lent::Merged(Box::new(b))),
        }
    }
}

/// A `queue` block, consumed.
fn queue<B: Lowered>(mut q: B) -> QueueRule {
    QueueRule {
        key: shaping_key(q.take_label()),
        loc: q.block().header_loc(),
        settings: q.take_settings(),
        tenants: q
            .into_children()
            .filter(|t| t.block().schema.keyword == "tenant")
            .map(|mut t| QueueTenant {
                name: t.take_label().unwrap_or_default(),
                loc: t.block().header_loc(),
                settings: t.take_settings(),
                campaigns: campaigns_owned(t),
            })
            .collect(),
    }
}

/// The egress settings of a `shaping` block, consumed (see [`Resolver::shaping`]).
fn shaping_owned<B: Lowered>(mut b: B) -> Shaping {
    let settings = b.take_settings();
    let automation = b.block().children("automation").map(rule).collect();
    let mut maps = BTreeMap::new();
    let mut sources = Vec::new();
    for mut c in b.into_children() {
        let schema = c.block().schema;
        if schema.map_of.is_some() {
            maps.insert(schema.keyword, c.into_entries());
        } else if schema.keyword == "source" {
            let name = c.take_label().unwrap_or_default();
            let loc = c.block().header_loc();
            let settings = c.take_settings();
            sources.push(ShapingSource {
                name,
                loc,
                settings,
                maps: source_maps_owned(c),
            });
        }
    }
    Shaping {
        settings,
        maps,
        automation,
        sources,
    }
}

/// The map blocks of a block, consumed (see [`maps`]).
fn source_maps_owned<B: Lowered>(b: B) -> BTreeMap<&'static str, MapEntries> {
    b.into_children()
        .filter(|c| c.block().schema.map_of.is_some())
        .map(|c| (c.block().schema.keyword, c.into_entries()))
        .collect()
}

/// [`campaigns`], consumed.
fn campaigns_owned<B: Lowered>(t: B) -> Vec<Campaign> {
    t.into_children()
        .filter(|c| c.block().schema.keyword == "campaign")
        .map(|mut c| Campaign {
            name: c.take_label().unwrap_or_default(),
            loc: c.block().header_loc(),
            settings: c.take_settings(),
        })
        .collect()
}

/// The key a `secret("name")` reference reads when it names none.
pub fn default_secret_key(field: &str) -> &str {
    match field {
        "tls_certificate" => "tls.crt",
        "tls_private_key" => "tls.key",
        other => other,
    }
}

fn maps(b: &HBlock) -> BTreeMap<&'static str, MapEntries> {
    b.blocks
        .iter()
        .filter(|c| c.schema.map_of.is_some())
        .map(|c| {
            let entries = c
                .attrs
                .iter()
                .filter_map(|a| {
                    let v = a.value.as_ref()?;
                    Some((
                        a.name().to_string(),
                        Spanned {
                            value: v.value.clone(),
                            loc: v.loc,
                        },
                    ))
                })
                .collect();
            (c.schema.keyword, entries)
        })
        .collect()
}

fn campaigns(t: &HBlock) -> Vec<Campaign> {
    t.children("campaign")
        .map(|c| Campaign {
            name: c.label.clone().unwrap_or_default(),
            loc: c.header_loc(),
            settings: settings(c),
        })
        .collect()
}

fn rule(a: &HBlock) -> Rule {
    let owned = |s: Spanned<&str>| Spanned {
        value: s.value.to_string(),
        loc: s.loc,
    };
    let at = a.header_loc();
    Rule {
        loc: at,
        regex: a
            .read_items("regex", Typed::as_regex)
            .into_iter()
            .map(owned)
            .collect(),
        actions: a
            .read_items("action", Typed::as_action)
            .into_iter()
            .map(|x| Spanned {
                value: x.value.clone(),
                loc: x.loc,
            })
            .collect(),
        // `Immediate` only if the schema lost its default (tests/it/defaults.rs would fail).
        trigger: field_opt(
            Some(a),
            &schema::AUTOMATION,
            "trigger",
            at,
            Typed::as_trigger,
        )
        .map_or(Trigger::Immediate, |t| t.value),
        duration_ms: a.read("duration", Typed::as_duration_ms).unwrap_or(0),
        match_internal: field(
            Some(a),
            &schema::AUTOMATION,
            "match_internal",
            at,
            Typed::as_bool,
        )
        .value,
    }
}

fn resources(b: Option<&HBlock>) -> Resources {
    let Some(b) = b else {
        return Resources::default();
    };
    let get = |kw: &str, f: &str| -> Option<u64> {
        b.child(kw).and_then(|c| c.read(f, Typed::as_quantity))
    };
    Resources {
        requests_cpu: get("requests", "cpu"),
        requests_memory: get("requests", "memory"),
        limits_cpu: get("limits", "cpu"),
        limits_memory: get("limits", "memory"),
        loc: Some(b.header_loc()),
    }
}

/// A probe's timings: as written in its block, else its schema's defaults.
fn probe(b: Option<&HBlock>, schema: &'static BlockSchema) -> Probe {
    let ms = |name: &str| field(b, schema, name, Loc::default(), Typed::as_duration_ms).value;
    Probe {
        initial_delay_ms: ms("initial_delay"),
        period_ms: ms("period"),
        timeout_ms: ms("timeout"),
        failure_threshold: field(b, schema, "failure_threshold", Loc::default(), as_u32).value,
    }
}

/// Field `name` of a block of schema `schema` (which may be absent), read through one of
/// [`Typed`]'s accessors: as written, else the default kumoc applies, stated once in the
/// schema (`Typed::applied_default`), located at `fallback`. (The zero value only for a field
/// without a kumoc default, which no caller reads: `tests/it/defaults.rs` reads every
/// default back from the model.)
fn field<T: Default>(
    block: Option<&HBlock>,
    schema: &'static BlockSchema,
    name: &str,
    fallback: Loc,
    as_: impl Fn(&Typed) -> Option<T>,
) -> Spanned<T> {
    field_opt(block, schema, name, fallback, as_).unwrap_or(Spanned {
        value: T::default(),
        loc: fallback,
    })
}

/// [`field`], `None` when the field is neither written nor has a kumoc default.
fn field_opt<T>(
    block: Option<&HBlock>,
    schema: &'static BlockSchema,
    name: &str,
    fallback: Loc,
    as_: impl Fn(&Typed) -> Option<T>,
) -> Option<Spanned<T>> {
    if let Some(v) = block.and_then(|b| b.value(name)) {
        if let Some(value) = as_(&v.value) {
            return Some(Spanned { value, loc: v.loc });
        }
    }
    let default = schema.field(name).and_then(Typed::applied_default)?;
    as_(&default).map(|value| Spanned {
        value,
        loc: fallback,
    })
}

fn as_u32(v: &Typed) -> Option<u32> {
    v.as_int().and_then(|n| u32::try_from(n).ok())
}

fn as_u16(v: &Typed) -> Option<u16> {
    v.as_int().and_then(|n| u16::try_from(n).ok())
}

#[cfg(test)]
mod tests {
    use super::{permute, sort_order};

    /// The in-place permutation gives the items in sorted order, stable, for every shape of
    /// cycle (fixed points, swaps, one long cycle, several).
    #[test]
    fn permute_sorts_in_place() {
        let cases: [&[(u32, u32)]; 5] = [
            &[],
            &[(1, 0)],
            &[(2, 0), (1, 1), (0, 2)],
            &[
                (3, 0),
                (0, 1),
                (1, 2),
                (2, 3),
                (5, 4),
                (4, 5),
                (4, 6),
                (1, 7),
            ],
            &[(1, 0), (0, 1), (3, 2), (2, 3), (4, 4)],
        ];
        for items in cases {
            let order = sort_order(items, |a, b| a.0.cmp(&b.0));
            let got = permute(items.to_vec(), &order);
            let mut want = items.to_vec();
            want.sort_by_key(|x| x.0);
            assert_eq!(got, want, "{items:?}");
        }
    }
}
