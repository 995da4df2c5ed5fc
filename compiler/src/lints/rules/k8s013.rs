//! KUMO-K8S013 requests-above-limits: a container requests more CPU or memory than its limit.

use crate::declare_rule;
use crate::diagnostic::{Diagnostic, Loc};
use crate::lints::{Kind, LintContext};
use crate::model::Resources;

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
    /// above the limit has no meaning.
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
    /// There is no automatic fix: whether the request or the limit is wrong is yours to say.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/>
    /// - Kubernetes API validation: `ValidateResourceRequirements` (pkg/apis/core/validation)
    pub static RULE = {
        code: "KUMO-K8S013",
        name: "requests-above-limits",
        severity: Error,
        priority: "P0",
        summary: "A container requests more CPU or memory than its limit, which the Kubernetes API rejects",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let c = &cx.model.cluster;
    let mut pods: Vec<(&str, &Resources, Option<Loc>)> =
        vec![("the MTA", &c.mta.resources, c.mta.loc)];
    if let Some(tsa) = &c.tsa {
        pods.push(("TSA", &tsa.resources, Some(tsa.loc)));
    }
    if c.sink.enabled.value {
        pods.push(("the sink", &c.sink.resources, c.sink.loc));
    }
    for (what, r, block) in pods {
        let Some(at) = r.loc.or(block).filter(|l| !cx.is_stdlib(*l)) else {
            continue;
        };
        let mut over = Vec::new();
        if let (Some(req), Some(lim)) = (r.requests_cpu, r.limits_cpu) {
            if req > lim {
                over.push(format!(
                    "CPU {} > {}",
                    kumoc_lang::units::format_cpu(req),
                    kumoc_lang::units::format_cpu(lim)
                ));
            }
        }
        if let (Some(req), Some(lim)) = (r.requests_memory, r.limits_memory) {
            if req > lim {
                over.push(format!(
                    "memory {} > {}",
                    kumoc_lang::units::format_size(req),
                    kumoc_lang::units::format_size(lim)
                ));
            }
        }
        if over.is_empty() {
            continue;
        }
        out.push(
            RULE.diagnostic(
                cx,
                format!(
                    "{what} requests more than its limit ({}): the Kubernetes API rejects the pod template",
                    over.join(", ")
                ),
                at,
                "request above limit",
            )
            .with_help("make each request at most its limit: raise the limit, lower the request, or drop the limit"),
        );
    }
}
