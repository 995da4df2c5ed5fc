//! KUMO-SEC008 unprotected-redis: the Redis throttles connect without a password or without TLS.

use crate::declare_rule;
use crate::diagnostic::{Applicability, Diagnostic, Edit};
use crate::lints::{Kind, LintContext, util};

declare_rule! {
    /// ## What it does
    /// Reports `cluster.redis` (the shared throttles and connection limits) when it has no
    /// `password`, or when its `url` is not `rediss://` (TLS).
    ///
    /// ## Why is this bad?
    /// Every MTA pod counts its throttles and connection limits in this Redis. A Redis that
    /// any pod in the cluster can reach without a password can be read and rewritten by any
    /// of them: a single `FLUSHALL` resets every limit, and crafted keys stall the senders.
    /// Without TLS the password itself crosses the network in clear text. (KumoProxy, the
    /// other unauthenticated internal service in the catalog row, is not configured by
    /// kumoc.)
    ///
    /// ## Example
    /// ```kumo
    /// cluster {
    ///   redis {
    ///     url = "redis://redis.mail.svc.cluster.local:6379"
    ///   }
    /// }
    /// ```
    ///
    /// ## Use instead
    /// ```kumo
    /// cluster {
    ///   redis {
    ///     url      = "rediss://redis.mail.svc.cluster.local:6379"
    ///     password = secret("redis", "password")
    ///   }
    /// }
    ///
    /// secret "redis" {
    ///   keys = ["password"]
    /// }
    /// ```
    ///
    /// ## Fix safety
    /// When only TLS is missing, the fix changes the scheme to `rediss://`. It is unsafe: the
    /// server must serve TLS on that port with a certificate the pods trust. A missing
    /// password has no fix: the Secret must exist first.
    ///
    /// ## References
    /// - <https://docs.kumomta.com/reference/kumo/configure_redis_throttles/>
    /// - <https://redis.io/docs/latest/operate/oss_and_stack/management/security/>
    pub static RULE = {
        code: "KUMO-SEC008",
        name: "unprotected-redis",
        severity: Warning,
        since: "0.1.0",
        priority: "P1",
        summary: "The Redis throttles connect without a password or without TLS",
        kind: Kind::Check(check),
    };
}

fn check(cx: &LintContext<'_>, out: &mut Vec<Diagnostic>) {
    let Some(redis) = &cx.model.cluster.redis else {
        return;
    };
    let Some(url) = util::string(&redis.settings, "url") else {
        return;
    };
    if cx.is_stdlib(url.loc) {
        return;
    }
    let tls = url.value.starts_with("rediss://");
    let password = redis.settings.contains_key("password");
    let (message, label, help) = match (password, tls) {
        (true, true) => return,
        (false, false) => (
            "the Redis throttles connect without a password and without TLS",
            "no `password`, clear text",
            "set `password = secret(\"redis\", \"password\")` and use a `rediss://` URL",
        ),
        (false, true) => (
            "the Redis throttles connect without a password",
            "no `password`",
            "set `password = secret(\"redis\", \"password\")` from a Secret",
        ),
        (true, false) => (
            "the Redis password crosses the network in clear text",
            "`redis://` has no TLS",
            "use a `rediss://` URL so the password and the throttle state are encrypted",
        ),
    };
    let mut d = RULE.diagnostic(cx, message, url.loc, label).with_help(help);
    if password && !tls {
        if let Some(rest) = url.value.strip_prefix("redis://") {
            let text = cx.text(url.loc);
            let quote = if text.starts_with('\'') { '\'' } else { '"' };
            d = d.with_fix(
                "use `rediss://`",
                Applicability::Unsafe,
                vec![Edit {
                    loc: url.loc,
                    replacement: format!("{quote}rediss://{rest}{quote}"),
                }],
            );
        }
    }
    out.push(d);
}
