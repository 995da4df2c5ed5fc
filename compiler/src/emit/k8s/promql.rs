//! The PromQL the alerts, the dashboard and KEDA share, over the metrics of
//! [`crate::metrics`] (the only place that names a metric).
//!
//! Label handling: kumoc's ServiceMonitor sets `honorLabels: true`, so KumoMTA's own
//! `service` label (the ready queue, or the protocol rollup) keeps its name. Without it,
//! Prometheus renames a scraped label that collides with a target label: the
//! prometheus-operator's targets carry `service` (the Kubernetes Service), so KumoMTA's
//! label would arrive as `exported_service`, as in the community dashboards. The MTA's
//! series are selected by their target's `job` (the headless Service's name, which the
//! prometheus-operator uses as `job`) and `namespace`, which KumoMTA never exports.

use crate::metrics::{
    self, DELIVERED, DISK_FREE_INODES_PERCENT, DISK_FREE_PERCENT, FAIL, Metric, READY_COUNT,
    SCHEDULED_COUNT, TRANSFAIL,
};

/// The recording rule of the queued messages per pod (scheduled + ready queues).
pub const QUEUED_RECORD: &str = "kumomta:queued_messages:sum";
/// The window of the rates alerts compare.
pub const RATE_WINDOW: &str = "10m";

/// Selects one deployment's MTA series.
#[derive(Debug, Clone)]
pub struct Sel {
    /// `job="...",namespace="..."`.
    target: String,
}

impl Sel {
    pub fn new(job: &str, namespace: &str) -> Self {
        Sel {
            target: format!("job=\"{job}\",namespace=\"{namespace}\""),
        }
    }

    /// `metric{target,extra}`.
    pub fn series(&self, m: &Metric, extra: &str) -> String {
        if extra.is_empty() {
            format!("{}{{{}}}", m.name, self.target)
        } else {
            format!("{}{{{},{extra}}}", m.name, self.target)
        }
    }

    /// A histogram's `_count` series.
    pub fn count(&self, m: &Metric, extra: &str) -> String {
        format!("{}_count{{{},{extra}}}", m.name, self.target)
    }

    /// The messages queued in the scheduled and ready queues, summed `by` these labels
    /// (empty: one total). The per-queue ready counts only: the protocol rollup would count
    /// each message twice.
    pub fn queued(&self, by: &str) -> String {
        let inner = format!(
            "{} or {}",
            self.series(&SCHEDULED_COUNT, ""),
            self.series(
                &READY_COUNT,
                &format!("service=~\"{}\"", metrics::SERVICE_PER_QUEUE)
            )
        );
        if by.is_empty() {
            format!("sum({inner})")
        } else {
            format!("sum by ({by}) ({inner})")
        }
    }

    /// The per-second rate of an SMTP delivery counter (the `smtp_client` rollup), by pod.
    pub fn delivery_rate(&self, m: &Metric, window: &str) -> String {
        format!(
            "sum by (namespace, pod) (rate({}[{window}]))",
            self.series(m, &format!("service=\"{}\"", metrics::SERVICE_SMTP_CLIENT))
        )
    }

    /// The share of delivery attempts that ended as `outcome` (FAIL or TRANSFAIL), by pod.
    pub fn outcome_ratio(&self, outcome: &Metric, window: &str) -> String {
        format!(
            "{} / ({} + {} + {})",
            self.delivery_rate(outcome, window),
            self.delivery_rate(&DELIVERED, window),
            self.delivery_rate(&FAIL, window),
            self.delivery_rate(&TRANSFAIL, window)
        )
    }

    /// Free space and free inodes of the monitored paths (whole percentages), the lower of
    /// the two per path. (`or` would keep only one: the two series have the same labels.)
    pub fn disk_free(&self) -> String {
        format!(
            "min by (namespace, pod, name) ({{__name__=~\"{}|{}\",{}}})",
            DISK_FREE_PERCENT.name, DISK_FREE_INODES_PERCENT.name, self.target
        )
    }
}
