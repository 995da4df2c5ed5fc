//! KUMO-SEC001 open-relay: the SMTP listener relays for (almost) anyone.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports an SMTP listener whose `relay_hosts` contains `0.0.0.0/0`, `::/0` or another
    /// public-wide range.
    ///
    /// ## Why is this bad?
    /// A peer in `relay_hosts` may relay mail to any domain without authenticating. With
    /// `0.0.0.0/0` the MTA is an open relay: anyone who can reach port 2500 sends spam from
    /// your IPs, and your reputation is gone within hours. The seed chart shipped exactly
    /// this (`relay_hosts = { "0.0.0.0/0" }`). The sink is kumoc's own and relays only for
    /// the pod network.
    ///
    /// ## Example
    /// ```kumo
    /// smtp_listener {
    ///   relay_hosts = [0.0.0.0/0]
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// smtp_listener {
    ///   relay_hosts = [10.244.0.0/16] // the injectors' network only
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// The fix removes the public range from the list. It is unsafe: injectors outside the
    /// remaining ranges can no longer relay, which is the point, but they need another way in.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/userguide/installation/security/> ("SMTP Relaying")
    /// - <https://docs.kumomta.com/reference/kumo/start_esmtp_listener/relay_hosts/>
    pub static RULE = {
        code: "KUMO-SEC001",
        name: "open-relay",
        severity: Error,
        since: "0.1.0",
        priority: "P0",
        summary: "The SMTP listener relays for a public-wide range",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let list = util::cidrs(&cx.model.smtp_listener, "relay_hosts");
    for c in list.iter().filter(|c| util::is_public_wide(&c.value)) {
        let keep: Vec<String> = list
            .iter()
            .filter(|o| !util::is_public_wide(&o.value))
            .map(|o| cx.text(o.loc).to_string())
            .collect();
        let d = RULE
            .diagnostic(
                cx,
                format!("open relay: `{}` may relay mail to any domain", c.value),
                c.loc,
                "relays for anyone here",
            )
            .with_help(
                "list only the networks of your injectors, e.g. the pod network `10.244.0.0/16`",
            );
        let d = match cx.model.smtp_listener.get("relay_hosts") {
            Some(s) => d.with_fix(
                "remove the public range from relay_hosts",
                Applicability::Unsafe,
                vec![Edit {
                    loc: s.loc,
                    replacement: format!("[{}]", keep.join(", ")),
                }],
            ),
            None => d,
        };
        out.push(d);
    }
}
