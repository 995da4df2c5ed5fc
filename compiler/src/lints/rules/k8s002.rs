//! KUMO-K8S002 privileged-smtp-port: the MTA listens for SMTP on a port below 1024.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

declare_rule! {
    /// ## What it does
    /// Reports an MTA SMTP port (`cluster { mta { ports { smtp } } }`) below 1024.
    ///
    /// kumoc's other ports (HTTP, metrics, TSA, sink) cannot be set below 1024, and kumoc
    /// never adds capabilities, so the SMTP port is the one case to check.
    ///
    /// ## Why is this bad?
    /// Binding a port below 1024 needs root or `CAP_NET_BIND_SERVICE`. kumoc runs kumod
    /// in the Pod Security "restricted" profile: non-root, with every capability dropped.
    /// kumod then fails to start its listener and the pod never becomes ready. Listen on an
    /// unprivileged port and let the Service or load balancer in front of it take port 25.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta {
    ///     ports { smtp = 25 }
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   mta {
    ///     ports { smtp = 2525 } // a LoadBalancer Service maps 25 → 2525
    ///   }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets the port to 2525 (or another free unprivileged port). It is unsafe: the
    /// Service kumoc emits then listens on that port too, so injectors, or a Service of your
    /// own mapping 25 to it, must follow.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/security/>
    /// - <https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted>
    pub static RULE = {
        code: "KUMO-K8S002",
        name: "privileged-smtp-port",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The MTA's SMTP port is below 1024 but kumod runs without privileges",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let mta = &cx.model.cluster.mta;
    let port = &mta.smtp_port;
    if port.value >= 1024 {
        return;
    }
    let written = !cx.is_stdlib(port.loc) && cx.text(port.loc).trim() == port.value.to_string();
    let at = if cx.is_stdlib(port.loc) {
        mta.loc.unwrap_or(cx.model.name.loc)
    } else {
        port.loc
    };
    let d = RULE
        .diagnostic(cx, format!("SMTP port {} needs root or NET_BIND_SERVICE, and kumod runs without either", port.value), at, "a privileged port")
        .with_help(format!("listen on 2525 and map port {} to it in the Service or load balancer in front of the MTA", port.value));
    let taken = [mta.http_port.value, mta.metrics_port.value];
    let free = [2525u16, 2500, 2526, 2527]
        .into_iter()
        .find(|p| !taken.contains(p));
    out.push(match (written, free) {
        (true, Some(p)) => d.with_fix(
            format!("listen on {p}"),
            Applicability::Unsafe,
            vec![Edit {
                loc: port.loc,
                replacement: p.to_string(),
            }],
        ),
        _ => d,
    });
}
