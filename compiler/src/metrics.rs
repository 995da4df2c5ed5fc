//! The Prometheus metrics kumoc's alerts, dashboard and queue-depth autoscaling read: one
//! table, each metric with its kind, its labels, who exports it and where its exporter
//! defines it. `docs/metrics.md` is generated from it (`tests/it/observability.rs`), and the
//! PromQL in `emit/k8s/promql.rs` names metrics only through these constants.
//!
//! Facts from KumoMTA's source (KumoCorp/kumomta) that shape the expressions:
//! - the delivery counters and the ready-queue gauge are kept twice: per ready queue, with
//!   `service` = `PROTOCOL:QUEUE` (`smtp_client:pool->site`), and rolled up per protocol,
//!   with `service` = `PROTOCOL` (`smtp_client`; `crates/kumod/src/delivery_metrics.rs`,
//!   `DeliveryMetrics::new(service, service_type)`, called from
//!   `crates/kumod/src/ready_queue.rs` with `format!("{proto}:{name}")`). Summing every
//!   `service` counts each message twice: kumoc reads the rollup for rates, and the
//!   per-queue series (`service=~".+:.+"`) for sizes (older releases have no ready-count
//!   rollup);
//! - `scheduled_queue_count` (what the community dashboards plot as "Scheduled Queue
//!   Depth") is the number of scheduled *queues* the QueueManager tracks, not messages
//!   (`crates/kumod/src/queue/manager.rs`); the messages are `scheduled_count`, per `queue`
//!   (`crates/kumod/src/queue/metrics.rs`);
//! - `disk_free_percent` and `disk_free_inodes_percent` are whole percentages (floored), per
//!   monitored path `name` (spools and logs); KumoMTA itself stops accepting mail below 10%
//!   free by default (`MinFree::default` in `crates/kumo-server-common/src/disk_space.rs`).

use kumoc_lang::units::Feature;

/// A metric's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    /// Exported as `NAME_bucket`, `NAME_sum` and `NAME_count`.
    Histogram,
}

impl MetricKind {
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        }
    }
}

/// Who exports a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exporter {
    /// kumod's `/metrics`, scraped through kumoc's ServiceMonitor.
    Kumod,
    /// kube-state-metrics (the Kubernetes objects' state), scraped by the cluster's
    /// monitoring stack: kumoc reads it for what KumoMTA cannot report about itself.
    KubeStateMetrics,
}

impl Exporter {
    pub fn name(self) -> &'static str {
        match self {
            Exporter::Kumod => "kumod",
            Exporter::KubeStateMetrics => "kube-state-metrics",
        }
    }
}

/// One metric kumoc reads.
#[derive(Debug)]
pub struct Metric {
    pub name: &'static str,
    pub kind: MetricKind,
    pub labels: &'static [&'static str],
    pub exporter: Exporter,
    /// Where the exporter defines it (a path in its repository).
    pub source: &'static str,
    /// The KumoMTA feature (release) that introduced it, when not every supported one has it.
    pub since: Option<Feature>,
    /// What it counts, and what kumoc uses it for.
    pub doc: &'static str,
}

const fn kumod(
    name: &'static str,
    kind: MetricKind,
    labels: &'static [&'static str],
    source: &'static str,
    doc: &'static str,
) -> Metric {
    Metric {
        name,
        kind,
        labels,
        exporter: Exporter::Kumod,
        source,
        since: None,
        doc,
    }
}

const DELIVERY: &str = "crates/kumod/src/metrics_helper.rs";

pub static SCHEDULED_COUNT: Metric = kumod(
    "scheduled_count",
    MetricKind::Gauge,
    &["queue"],
    "crates/kumod/src/queue/metrics.rs",
    "Messages in one scheduled queue. Queue depth (alerts, autoscaling, dashboard).",
);
pub static READY_COUNT: Metric = kumod(
    "ready_count",
    MetricKind::Gauge,
    &["service"],
    DELIVERY,
    "Messages in a ready queue (`service` = `smtp_client:QUEUE`). Queue depth.",
);
pub static DELIVERED: Metric = kumod(
    "total_messages_delivered",
    MetricKind::Counter,
    &["service"],
    DELIVERY,
    "Messages delivered (`service=\"smtp_client\"`: every SMTP delivery). Failure ratios, throughput.",
);
pub static TRANSFAIL: Metric = kumod(
    "total_messages_transfail",
    MetricKind::Counter,
    &["service"],
    DELIVERY,
    "Delivery attempts that failed transiently (4xx). Transient failure ratio.",
);
pub static FAIL: Metric = kumod(
    "total_messages_fail",
    MetricKind::Counter,
    &["service"],
    DELIVERY,
    "Delivery attempts that failed permanently (5xx). Failure ratio.",
);
pub static RECEIVED: Metric = kumod(
    "total_messages_received",
    MetricKind::Counter,
    &["service"],
    DELIVERY,
    "Messages received (`service=\"esmtp_listener\"`: by SMTP). Dashboard.",
);
pub static CONNECTIONS: Metric = kumod(
    "connection_count",
    MetricKind::Gauge,
    &["service"],
    DELIVERY,
    "Open connections (`smtp_client` out, `esmtp_listener` in). Dashboard.",
);
pub static DISK_FREE_PERCENT: Metric = kumod(
    "disk_free_percent",
    MetricKind::Gauge,
    &["name"],
    "crates/kumo-server-common/src/disk_space.rs",
    "Free space of a monitored path (spool, logs), a whole percentage. `KumoDiskLow`.",
);
pub static DISK_FREE_INODES_PERCENT: Metric = kumod(
    "disk_free_inodes_percent",
    MetricKind::Gauge,
    &["name"],
    "crates/kumo-server-common/src/disk_space.rs",
    "Free inodes of a monitored path, a whole percentage. `KumoDiskLow`.",
);
pub static REDIS_OPERATION_LATENCY: Metric = Metric {
    since: Some(Feature::RedisOperationMetrics),
    ..kumod(
        "redis_operation_latency",
        MetricKind::Histogram,
        &["service", "operation", "status"],
        "crates/mod-redis/src/lib.rs",
        "Redis operations by `status` (`ok`, `error`): `_count{status=\"error\"}` is the failure rate of the shared throttles. `KumoRedisErrors`.",
    )
};
pub static UP: Metric = Metric {
    name: "up",
    kind: MetricKind::Gauge,
    labels: &["job", "instance"],
    exporter: Exporter::Kumod,
    source: "Prometheus itself: 1 when the last scrape of the target succeeded",
    since: None,
    doc: "Whether Prometheus could scrape a pod's `/metrics`. `KumoMtaDown`.",
};
pub static RESTARTS: Metric = Metric {
    name: "kube_pod_container_status_restarts_total",
    kind: MetricKind::Counter,
    labels: &["namespace", "pod", "container"],
    exporter: Exporter::KubeStateMetrics,
    source: "kubernetes/kube-state-metrics docs/metrics/workload/pod-metrics.md",
    since: None,
    doc: "Container restarts. `KumoPodRestarting`.",
};
pub static STS_READY: Metric = Metric {
    name: "kube_statefulset_status_replicas_ready",
    kind: MetricKind::Gauge,
    labels: &["namespace", "statefulset"],
    exporter: Exporter::KubeStateMetrics,
    source: "kubernetes/kube-state-metrics docs/metrics/workload/statefulset-metrics.md",
    since: None,
    doc: "Ready pods of a StatefulSet: the TSA replicas the MTAs publish to. `KumoTsaUnavailable` (kumod exports no metric of its own for a TSA it cannot reach).",
};

/// Every metric kumoc reads, in the order `docs/metrics.md` lists them.
pub static ALL: &[&Metric] = &[
    &SCHEDULED_COUNT,
    &READY_COUNT,
    &DELIVERED,
    &TRANSFAIL,
    &FAIL,
    &RECEIVED,
    &CONNECTIONS,
    &DISK_FREE_PERCENT,
    &DISK_FREE_INODES_PERCENT,
    &REDIS_OPERATION_LATENCY,
    &UP,
    &RESTARTS,
    &STS_READY,
];

/// The rollup `service` of SMTP deliveries (every ready queue's counters add to it).
pub const SERVICE_SMTP_CLIENT: &str = "smtp_client";
/// The rollup `service` of the SMTP listener.
pub const SERVICE_ESMTP_LISTENER: &str = "esmtp_listener";
/// The per-ready-queue `service` values (`PROTOCOL:QUEUE`), as a PromQL regex.
pub const SERVICE_PER_QUEUE: &str = ".+:.+";

/// The table as markdown (the body of `docs/metrics.md`'s table).
pub fn markdown_table() -> String {
    let mut s = String::from(
        "| metric | kind | labels | exported by | defined in | since | what kumoc reads it for |\n|---|---|---|---|---|---|---|\n",
    );
    for m in ALL {
        let labels: Vec<String> = m.labels.iter().map(|l| format!("`{l}`")).collect();
        let since = m
            .since
            .map_or_else(String::new, |f| f.introduced_in().tag.to_string());
        s.push_str(&format!(
            "| `{}` | {} | {} | {} | `{}` | {} | {} |\n",
            m.name,
            m.kind.name(),
            labels.join(", "),
            m.exporter.name(),
            m.source,
            since,
            m.doc
        ));
    }
    s
}
