//! KUMO-QUE004 source-in-no-pool: a source that no pool sends from.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports a top-level `source` that is a member of no `pool`. The rest of the catalog
    /// entry (an `egress_pool` that is not defined, a pool member that is not a declared
    /// source) is a compile error of the checker (K1005), since kumoc resolves every
    /// reference.
    ///
    /// ## Why is this bad?
    /// Queues send through pools, never through sources directly: a source in no pool is
    /// never used. That is usually a mistake (an IP added for a new pool that was never
    /// wired in, or a pool entry misspelled and then fixed by defining a second source),
    /// and the IP it describes sits idle and un-warmed while you think it carries mail.
    ///
    /// ## Example
    /// ```kumo
    /// source spare-01 {
    ///   ehlo_domain = "mta2.example.com"
    /// }
    ///
    /// pool main {
    ///   source main-00 {
    ///     ehlo_domain = "mta1.example.com"
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// source spare-01 {
    ///   ehlo_domain = "mta2.example.com"
    /// }
    ///
    /// pool main {
    ///   source main-00 {
    ///     ehlo_domain = "mta1.example.com"
    ///   }
    ///   source spare-01 {}
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When the deployment has exactly one pool, the fix adds the source to it (weight 1).
    /// Mail then starts leaving from that source's IP, which may not be warmed up yet, so
    /// the fix is unsafe. Otherwise there is no fix: add it to the right pool, or delete it.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/configuration/sendingips/>
    /// - <https://docs.kumomta.com/faq/egress_pool_unspecified/>
    pub static RULE = {
        code: "KUMO-QUE004",
        name: "source-in-no-pool",
        severity: Warning,
        since: "0.1.0",
        priority: "P0",
        summary: "A source that is a member of no pool, so no mail leaves from it",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let m = cx.model;
    // Sized once (collected from a flattening iterator, it grew by rehashing).
    let n: usize = m.pools.iter().map(|p| p.members.len()).sum();
    let mut members: rustc_hash::FxHashSet<&str> =
        rustc_hash::FxHashSet::with_capacity_and_hasher(n, Default::default());
    members.extend(
        m.pools
            .iter()
            .flat_map(|p| p.members.iter().map(|x| x.source.as_str())),
    );
    for s in &m.sources {
        if cx.is_stdlib(s.loc) || members.contains(s.name.as_str()) {
            continue;
        }
        let mut d = RULE
            .diagnostic(
                cx,
                format!("source `{}` is in no pool: no mail leaves from it", s.name),
                s.loc,
                "not a member of any pool",
            )
            .with_help(format!(
                "add `source {} {{}}` to the pool that should send from it, or delete the source",
                s.name
            ));
        if let [pool] = m.pools.as_slice() {
            if !cx.is_stdlib(pool.loc) {
                d = d.with_secondary(pool.loc, "the only pool");
                if let Some(edit) =
                    util::insert_after_brace(cx, pool.loc, &format!("\n  source {} {{}}", s.name))
                {
                    d = d.with_fix(
                        format!("add `{}` to pool `{}`", s.name, pool.name),
                        Applicability::Unsafe,
                        vec![edit],
                    );
                }
            }
        }
        out.push(d);
    }
}
