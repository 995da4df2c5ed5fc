//! KUMO-K8S003 mta-resources: the MTA has no resource requests or memory limit, or (in
//! production) requests below KumoMTA's documented minimum.

use crate::declare_rule;
use crate::diagnostic::Diagnostic;
use crate::lints::{Kind, LintContext};
use crate::source::Loc;

const MIN_CPU_MILLIS: u64 = 4000;
const MIN_MEMORY: u64 = 4 * 1024 * 1024 * 1024;

declare_rule! {
    /// ## What it does
    /// Reports the MTA's `resources` (in `cluster { mta { } }`), once, for the first of:
    /// - no CPU request, no memory request or no memory limit;
    /// - in production, a CPU request below 4 cores or a memory request below 4 GiB, the
    ///   minimum KumoMTA documents for a production node.
    ///
    /// A CPU limit is not required: CPU is compressible, and a limit only throttles kumod
    /// under load. Memory is not: without a limit, a kumod whose queues grow can take a
    /// node's memory from everything else on it.
    ///
    /// The TSA and sink pods are not reported: they are small and steady, so when their
    /// `resources` name neither a request nor a limit for CPU or memory, kumoc requests
    /// 100m of CPU and 128Mi (TSA) or 256Mi (sink) of memory, and no limit. Every pod kumoc
    /// emits therefore has requests (none is of QoS class BestEffort, the first evicted).
    /// KUMO-K8S013 reports a request above its limit.
    ///
    /// ## Why is this bad?
    /// Without requests the scheduler places MTA pods as if they cost nothing: they land on
    /// crowded nodes and are the first evicted under pressure, which for an MTA means
    /// restarts with a full spool. Below the documented minimum kumod runs, but queue
    /// management, TLS and DKIM signing compete for too little CPU, and RocksDB's memory
    /// buffers for too little memory: throughput drops exactly when a backlog needs it.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta {
    ///     resources {
    ///       requests { cpu = 500m }
    ///     }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   mta {
    ///     resources {
    ///       requests { cpu = 4  memory = 8Gi }
    ///       limits   { memory = 8Gi }
    ///     }
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// There is no automatic fix: the right figures come from your traffic and your nodes.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/hardware/>
    /// - Polaris and kube-score resource checks
    /// - <https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>
    pub static RULE = {
        code: "KUMO-K8S003",
        name: "mta-resources",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "The MTA lacks resource requests or a memory limit, or requests too little in production",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let mta = &cx.model.cluster.mta;
    let r = &mta.resources;
    let at = [r.loc, mta.loc]
        .into_iter()
        .flatten()
        .find(|l| !cx.is_stdlib(*l))
        .unwrap_or(cx.model.name.loc);
    let missing: Vec<&str> = [
        (r.requests_cpu.is_none(), "CPU request"),
        (r.requests_memory.is_none(), "memory request"),
        (r.limits_memory.is_none(), "memory limit"),
    ]
    .into_iter()
    .filter_map(|(m, what)| m.then_some(what))
    .collect();
    if !missing.is_empty() {
        out.push(
            RULE.diagnostic(cx, format!("the MTA has no {}", join(&missing)), at, label(r.loc, "incomplete resources"))
                .with_help("set `resources { requests { cpu = 4  memory = 8Gi }  limits { memory = 8Gi } }` in `cluster { mta { } }`"),
        );
        return;
    }
    if !cx.production() {
        return;
    }
    let mut low = Vec::new();
    if let Some(cpu) = r.requests_cpu.filter(|c| *c < MIN_CPU_MILLIS) {
        low.push(cores(cpu));
    }
    if let Some(mem) = r.requests_memory.filter(|m| *m < MIN_MEMORY) {
        low.push(format!("{} of memory", kumoc_lang::units::format_size(mem)));
    }
    if low.is_empty() {
        return;
    }
    out.push(
        RULE.diagnostic(
            cx,
            format!("the MTA requests {} per pod, below KumoMTA's production minimum of 4 cores and 4Gi", low.join(" and ")),
            at,
            "requests below the minimum",
        )
        .with_help("request at least `cpu = 4` and `memory = 4Gi` per MTA pod in production"),
    );
}

fn label(resources: Option<Loc>, written: &str) -> String {
    match resources {
        Some(_) => written.to_string(),
        None => "no `resources` block".to_string(),
    }
}

fn join(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn cores(millis: u64) -> String {
    match millis {
        1000 => "1 core".to_string(),
        m if m.is_multiple_of(1000) => format!("{} cores", m / 1000),
        m => format!("{m}m of CPU"),
    }
}
