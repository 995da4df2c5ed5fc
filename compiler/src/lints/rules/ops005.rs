//! KUMO-OPS005 metrics-not-scraped: MTA metrics no scraper can read.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports MTA metrics that are on (`cluster { metrics { } }`, on unless
    /// `enabled = false`) but that nothing scrapes, once, for the first of:
    /// - no scraper network: neither `scraper_cidrs` nor the cluster's `pod_cidr` (the
    ///   default) is set, so kumoc cannot let any scraper read `/metrics`;
    /// - in production, no ServiceMonitor (`service_monitor = false`, the default).
    ///
    /// Metrics turned off with `enabled = false` are a decision, not an oversight, and are
    /// not reported.
    ///
    /// ## Why is this bad?
    /// KumoMTA serves `/metrics` only to trusted hosts: any other scraper gets `401`, and a
    /// Prometheus target that always fails looks like a down MTA or, worse, like no MTA at
    /// all. kumoc opens the metrics port (its NetworkPolicy and its listener's trusted
    /// hosts) to the scraper network only, so without one nothing can read the metrics.
    /// Without a ServiceMonitor, the prometheus-operator never scrapes the pods, and queue
    /// growth, TSA suspensions and delivery failures in production go unseen.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   metrics { service_monitor = false }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   pod_cidr = 10.244.0.0/16 // Prometheus scrapes from the pod network
    ///   metrics { service_monitor = true }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When `service_monitor = false` is written, the fix sets it to `true`. It is unsafe:
    /// the ServiceMonitor kind exists only where the prometheus-operator is installed, and
    /// applying the manifests fails elsewhere. A missing scraper network has no automatic
    /// fix: kumoc cannot know where Prometheus runs.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/http/kumod/metrics_get/>
    /// - KumoCorp/kumomta#359
    pub static RULE = {
        code: "KUMO-OPS005",
        name: "metrics-not-scraped",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "MTA metrics are on, but no scraper may read them, or (production) none is set up",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    let metrics = &m.cluster.metrics;
    if !metrics.enabled {
        return;
    }
    let at = [metrics.loc, m.cluster.mta.loc]
        .into_iter()
        .flatten()
        .find(|l| !cx.is_stdlib(*l))
        .unwrap_or(m.name.loc);
    if metrics.scraper_cidrs.is_empty() {
        out.push(
            RULE.diagnostic(cx, "MTA metrics are on, but no network may scrape them: every scrape gets 401", at, "no scraper network")
                .with_help("set `cluster { pod_cidr = ... }` (Prometheus in the cluster) or `metrics { scraper_cidrs = [...] }` to the scraper's network"),
        );
        return;
    }
    if !cx.production() || metrics.service_monitor {
        return;
    }
    let written = util::find_written(cx, &["cluster", "metrics"], "service_monitor")
        .filter(|w| cx.text(w.loc) == "false");
    let d = RULE
        .diagnostic(cx, "no ServiceMonitor: nothing scrapes the production MTA's metrics", written.as_ref().map_or(at, |w| w.loc), "no ServiceMonitor")
        .with_help("set `cluster { metrics { service_monitor = true } }` (needs the prometheus-operator), or scrape the metrics port another way");
    out.push(match written {
        Some(w) => d.with_fix(
            "emit a ServiceMonitor",
            Applicability::Unsafe,
            vec![Edit {
                loc: w.loc,
                replacement: "true".to_string(),
            }],
        ),
        None => d,
    });
}
