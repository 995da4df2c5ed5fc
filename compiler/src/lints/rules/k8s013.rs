//! KUMO-K8S013 requests-above-limits: a container requests more CPU or memory than its limit.

use crate::codes;
use crate::declare_rule;
use crate::lints::Kind;

declare_rule! {
    /// ## What it does
    /// Reports a `resources` block of the MTA, TSA or sink (`cluster { mta | tsa | sink { } }`)
    /// whose CPU or memory request is above the limit for the same resource.
    ///
    /// ## Why is this bad?
    /// The Kubernetes API rejects such a pod template ("must be less than or equal to cpu
    /// limit"): `kubectl apply` fails for the StatefulSet or Deployment, and the workload is
    /// not created or not updated, while everything else in the build applies. The request
    /// is what the scheduler reserves, the limit the most the container may use, so a request
    /// above the limit has no meaning. The checker refuses it (K2013, at the request, with
    /// the limit as a second label), so no output the API would reject is ever written.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta {
    ///     resources {
    ///       requests { cpu = 4  memory = 8Gi }
    ///       limits   { cpu = 2  memory = 8Gi }
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
    ///       limits   { memory = 8Gi } // or a CPU limit of at least 4
    ///     }
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// Not applicable: whether the request or the limit is wrong is yours to say.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>
    /// - Kubernetes API validation: `ValidateResourceRequirements` (pkg/apis/core/validation)
    pub static RULE = {
        code: "KUMO-K8S013",
        name: "requests-above-limits",
        severity: Error,
        since: "0.2.0",
        priority: "P0",
        summary: "A container requests more CPU or memory than its limit, which the Kubernetes API rejects",
        kind: Kind::Checker(&[codes::INCONSISTENT_VALUES]),
    };
}
