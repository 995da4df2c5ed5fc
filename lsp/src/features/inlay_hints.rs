//! Inlay hints: what a written value means that the user cannot see, for the rates and
//! per-pod limits written between two offsets.

use kumoc_lang::ast::{Attr, Stmt, ValueKind};

/// How many MTA pods apply a per-pod value, and whether throttles are shared by the
/// cluster (Redis), in which case only `local:` values are per pod.
#[derive(Debug, Clone, Copy)]
pub struct Pods {
    pub count: u32,
    pub shared: bool,
}

/// (offset, label) of each hint for the values that end between `from` and `to`.
pub fn hints(items: &[Stmt], from: u32, to: u32, pods: Pods) -> Vec<(u32, String)> {
    fn attrs<'a>(items: &'a [Stmt], from: u32, to: u32, out: &mut Vec<&'a Attr>) {
        for s in items {
            if s.span().end < from || s.span().start > to {
                continue;
            }
            match s {
                Stmt::Attr(a) => out.push(a),
                Stmt::Block(b) => attrs(&b.body, from, to, out),
                Stmt::Error(_) => {}
            }
        }
    }
    let mut all = Vec::new();
    attrs(items, from, to, &mut all);
    let mut hints = Vec::new();
    for a in all {
        let ValueKind::Rate(raw) = &a.value.kind else {
            continue;
        };
        if a.value.span.end < from || a.value.span.end > to {
            continue;
        }
        if raw.contains('/') {
            if let Ok(r) = kumoc_lang::units::parse_rate(raw) {
                let per = r.per_second();
                let text = if per >= 1.0 {
                    format!("= {per:.0}/s")
                } else {
                    format!("= {:.1}/h", per * 3600.0)
                };
                let text = if pods.count > 1 && (!pods.shared || r.local) {
                    format!("{text} × {} pods", pods.count)
                } else {
                    text
                };
                hints.push((a.value.span.end, text));
            }
        } else if let Ok(l) = kumoc_lang::units::parse_limit(raw) {
            if pods.count > 1 && (!pods.shared || l.local) {
                hints.push((
                    a.value.span.end,
                    format!(
                        "× {} pods = {}",
                        pods.count,
                        l.limit * u64::from(pods.count)
                    ),
                ));
            }
        }
    }
    hints
}
