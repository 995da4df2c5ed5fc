//! KUMO-K8S010 spool-too-small: the MTA spool volume is smaller than 20 GiB.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext};

const MIN_SPOOL: u64 = 20 * 1024 * 1024 * 1024;

declare_rule! {
    /// ## What it does
    /// Reports an MTA `spool` smaller than 20 GiB.
    ///
    /// kumoc always puts the spool on a PersistentVolumeClaim per pod, so the `emptyDir`
    /// case of the catalog cannot happen. Sizing the spool from the expected backlog (peak
    /// rate × outage window, or `max_age` × average message size) needs traffic figures
    /// kumoc does not have, so only the documented minimum is checked.
    ///
    /// ## Why is this bad?
    /// The spool is the queue: every accepted message lives there until it is delivered
    /// or expires. KumoMTA's hardware guide asks for at least 20 GB of spool storage. A
    /// small volume fills during a destination outage, after which kumod refuses new mail
    /// (or, with a full disk, cannot write its logs and RocksDB state). And growing it later
    /// is not a one-line change: a StatefulSet's volume claim templates cannot be edited in
    /// place.
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   mta { spool = 5Gi }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   mta { spool = 25Gi }
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix sets `spool = 20Gi`. It is unsafe: on a running cluster the StatefulSet must be
    /// recreated (or the PVCs expanded by hand) for the new size to apply.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/hardware/>
    /// - <https://kubernetes.io/docs/concepts/workloads/controllers/statefulset/#volume-claim-templates>
    pub static RULE = {
        code: "KUMO-K8S010",
        name: "spool-too-small",
        severity: ErrorInProduction,
        since: "0.1.0",
        priority: "P0",
        summary: "The MTA spool volume is smaller than 20 GiB",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let mta = &cx.model.cluster.mta;
    let spool = &mta.spool_bytes;
    if spool.value >= MIN_SPOOL {
        return;
    }
    let size = kumoc_lang::units::format_size(spool.value);
    let written = !cx.is_stdlib(spool.loc) && mta.loc != Some(spool.loc);
    let at = if cx.is_stdlib(spool.loc) {
        mta.loc.unwrap_or(cx.model.name.loc)
    } else {
        spool.loc
    };
    let d = RULE
        .diagnostic(
            cx,
            format!("the MTA spool ({size} per pod) is smaller than the 20Gi minimum"),
            at,
            "the queue must fit here",
        )
        .with_help(
            "size the spool for the backlog of a long destination outage, at least `spool = 20Gi`",
        );
    out.push(if written {
        d.with_fix(
            "set spool = 20Gi",
            Applicability::Unsafe,
            vec![Edit {
                loc: spool.loc,
                replacement: "20Gi".to_string(),
            }],
        )
    } else {
        d
    });
}
