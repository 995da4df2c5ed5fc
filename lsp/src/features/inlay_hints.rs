//! Inlay hints: what a written value means that the user cannot see, for the values that
//! end between two offsets:
//!
//! - every rate as per second (`1000/h` → `= 0.28/s`; `50/s` says it already);
//! - a per-pod rate or connection limit multiplied by the MTA pods, when each pod applies
//!   it on its own: throttles and connection limits are process-local unless Redis
//!   throttles are configured, and `local:` ones always are (KumoMTA
//!   `crates/throttle/src/limit.rs`, `LimitSpecWithDuration::acquire_lease`: a Redis lease
//!   when Redis is configured and the spec is not `force_local`, else an in-process one;
//!   `crates/throttle/src/lib.rs`, `ThrottleSpec::throttle_quantity` passes `force_local`
//!   the same way).

use kumoc_compiler::schema::{self, BlockSchema, Ty};
use kumoc_lang::ast::{Stmt, Value, ValueKind};

/// How many MTA pods apply a per-pod value (`min..=max` with autoscaling), and whether
/// throttles are shared by the cluster (Redis), in which case only `local:` values are
/// per pod.
#[derive(Debug, Clone, Copy)]
pub struct Pods {
    pub min: u32,
    pub max: u32,
    pub shared: bool,
}

impl Pods {
    /// Whether a value (`local:` or not) is applied by each pod on its own, and there are
    /// several.
    fn multiply(&self, local: bool) -> bool {
        self.max > 1 && (!self.shared || local)
    }

    /// `× 3 pods = 30` or `× 3–10 pods = 30–100`.
    fn times(&self, per_pod: f64, unit: &str) -> String {
        if self.min == self.max {
            format!(
                "× {} pods = {}{unit}",
                self.max,
                number(per_pod * f64::from(self.max))
            )
        } else {
            format!(
                "× {}–{} pods = {}–{}{unit}",
                self.min,
                self.max,
                number(per_pod * f64::from(self.min)),
                number(per_pod * f64::from(self.max))
            )
        }
    }
}

/// A number for a hint: whole numbers as they are, others with three significant digits.
pub fn number(x: f64) -> String {
    if (x - x.round()).abs() < 1e-9 || x >= 1000.0 {
        return format!("{x:.0}");
    }
    // Digits after the point for three significant ones.
    let magnitude = x.abs().log10().floor();
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let decimals = (2.0 - magnitude).clamp(0.0, 12.0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The hint for a rate as written, if it says something.
fn rate_hint(raw: &str, pods: Pods) -> Option<String> {
    let r = kumoc_lang::units::parse_rate(raw).ok()?;
    let per = r.per_second();
    let mut parts = Vec::new();
    if r.period_secs != 1 {
        parts.push(format!("= {}/s", number(per)));
    }
    if pods.multiply(r.local) {
        parts.push(pods.times(per, "/s"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The hint for a connection limit as written, if it says something.
fn limit_hint(raw: &str, pods: Pods) -> Option<String> {
    let l = kumoc_lang::units::parse_limit(raw).ok()?;
    #[allow(clippy::cast_precision_loss)]
    let limit = l.limit as f64;
    pods.multiply(l.local).then(|| pods.times(limit, ""))
}

/// Every rate in a value (lists and call arguments included: `set_config(...)`).
fn rates<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match &v.kind {
        ValueKind::Rate(raw) if raw.contains('/') => out.push(v),
        ValueKind::List(l) => l.items.iter().for_each(|i| rates(i, out)),
        ValueKind::Call(c) => c.args.iter().for_each(|a| rates(&a.value, out)),
        _ => {}
    }
}

/// (offset, label) of each hint for the values of `items` (spans relative to `base`)
/// that end between `from` and `to` (absolute); offsets are absolute.
pub fn hints(items: &[Stmt], base: u32, from: u32, to: u32, pods: Pods) -> Vec<(u32, String)> {
    fn walk(
        items: &[Stmt],
        schema: &'static BlockSchema,
        range: (u32, u32),
        pods: Pods,
        out: &mut Vec<(u32, String)>,
    ) {
        let (from, to) = range;
        for s in items {
            if s.span().end < from || s.span().start > to {
                continue;
            }
            match s {
                Stmt::Block(b) => {
                    if let Some(child) = schema.child(&b.keyword.name) {
                        walk(&b.body, child, range, pods, out);
                    }
                }
                Stmt::Attr(a) => {
                    let limit = schema
                        .field(&a.key.name)
                        .is_some_and(|f| matches!(f.ty, Ty::Limit));
                    let mut values = Vec::new();
                    match &a.value.kind {
                        ValueKind::Number(raw) | ValueKind::Rate(raw) if limit => {
                            if let Some(h) = limit_hint(raw, pods) {
                                out.push((a.value.span.end, h));
                            }
                        }
                        _ => rates(&a.value, &mut values),
                    }
                    for v in values {
                        let ValueKind::Rate(raw) = &v.kind else {
                            continue;
                        };
                        if let Some(h) = rate_hint(raw, pods) {
                            out.push((v.span.end, h));
                        }
                    }
                }
                Stmt::Error(_) => {}
            }
        }
    }
    let range = (from.saturating_sub(base), to.saturating_sub(base));
    let mut out = Vec::new();
    walk(items, &schema::ROOT, range, pods, &mut out);
    out.retain(|(at, _)| *at >= range.0 && *at <= range.1);
    out.into_iter().map(|(at, h)| (at + base, h)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        for (x, s) in [
            (2.0, "2"),
            (0.277_777, "0.278"),
            (1.666_666, "1.67"),
            (16.666, "16.7"),
            (0.000_011_574, "0.0000116"),
            (150.0, "150"),
            (1234.6, "1235"),
            (0.5, "0.5"),
        ] {
            assert_eq!(number(x), s, "{x}");
        }
    }

    #[test]
    fn rates_per_second_and_per_pod() {
        let one = Pods {
            min: 1,
            max: 1,
            shared: false,
        };
        let three = Pods {
            min: 3,
            max: 3,
            shared: false,
        };
        let scaled = Pods {
            min: 3,
            max: 10,
            shared: false,
        };
        let shared = Pods {
            min: 3,
            max: 3,
            shared: true,
        };
        assert_eq!(rate_hint("1000/h", one).as_deref(), Some("= 0.278/s"));
        assert_eq!(rate_hint("50/s", one), None);
        assert_eq!(rate_hint("7200/h", one).as_deref(), Some("= 2/s"));
        assert_eq!(
            rate_hint("50/s", three).as_deref(),
            Some("× 3 pods = 150/s")
        );
        assert_eq!(
            rate_hint("1000/h", scaled).as_deref(),
            Some("= 0.278/s × 3–10 pods = 0.833–2.78/s")
        );
        assert_eq!(rate_hint("50/s", shared), None);
        assert_eq!(
            rate_hint("local:50/s", shared).as_deref(),
            Some("× 3 pods = 150/s")
        );
        assert_eq!(limit_hint("10", three).as_deref(), Some("× 3 pods = 30"));
        assert_eq!(limit_hint("10", shared), None);
        assert_eq!(
            limit_hint("local:5", shared).as_deref(),
            Some("× 3 pods = 15")
        );
        assert_eq!(limit_hint("10", one), None);
    }
}
