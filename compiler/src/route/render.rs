//! The human renderer of a [`Route`]: the text `kumoc route` prints on a terminal (JSON is
//! the route itself, serialized).

use super::{Field, Route, SourceRoute};

/// The route as text for a terminal, showing at most `top` sources (the heaviest; JSON has
/// them all).
pub fn render_human(r: &Route, top: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "route for {} ({})", r.domain, r.environment);
    if let Some(why) = &r.routing_reason {
        let _ = writeln!(s, "  routed via {}: {why}", r.routing_domain);
    }
    let _ = writeln!(
        s,
        "  MX ({}): {}",
        r.mx_origin,
        if r.mx.is_empty() {
            "none (NULL MX)".to_string()
        } else {
            r.mx.join(", ")
        }
    );
    let _ = writeln!(s, "  site name: {:?}", r.site_name);
    let _ = writeln!(s, "\nqueue {}", r.queue.name);
    for f in &r.queue.settings {
        field_line(&mut s, f);
    }
    let _ = writeln!(s, "\npool {} ({})", r.pool.name, r.pool.chosen_at);
    if let Some(at) = &r.pool.defined_at {
        let _ = writeln!(s, "  defined at {at}");
    }
    if !r.providers.is_empty() {
        let _ = writeln!(s, "\nproviders");
        for p in &r.providers {
            let _ = writeln!(s, "  {}: {} ({})", p.name, p.how, p.place);
        }
    }
    let pods = if r.pods.min == r.pods.max {
        format!("{} MTA pods", r.pods.max)
    } else {
        format!("{}..{} MTA pods", r.pods.min, r.pods.max)
    };
    let mut order: Vec<&SourceRoute> = r.sources.iter().collect();
    order.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.name.cmp(&b.name)));
    let hidden = order.len().saturating_sub(top.max(1));
    for src in order.into_iter().take(top.max(1)) {
        let _ = writeln!(
            s,
            "\nsource {} (weight {}, {}% of messages) -> ready queue {}",
            src.name, src.weight, src.share, src.ready_queue
        );
        let _ = writeln!(
            s,
            "  leaves from {}, EHLO {}",
            src.egress_address
                .as_deref()
                .unwrap_or("the node's NAT address (no source address)"),
            src.ehlo
                .as_deref()
                .unwrap_or("the pod name (no ehlo_domain)")
        );
        for f in &src.shaping {
            field_line(&mut s, f);
        }
        if !src.limits.is_empty() {
            let _ = writeln!(
                s,
                "  limits across {pods} ({}):",
                if r.pods.shared {
                    "Redis shares those not written local:"
                } else {
                    "no Redis: every pod enforces its own"
                }
            );
            for l in &src.limits {
                let _ = writeln!(
                    s,
                    "    {:<44} {:>12} {} -> cluster {}",
                    l.name,
                    l.value,
                    if l.per_pod { "per pod" } else { "shared " },
                    l.cluster
                );
            }
        }
    }
    if hidden > 0 {
        let _ = writeln!(
            s,
            "\n+{hidden} more sources (`--top N` shows more, `--format json` lists all)"
        );
    }
    if !r.automation.is_empty() {
        let _ = writeln!(s, "\nautomation rules that can fire");
        for a in &r.automation {
            let actions: Vec<String> = a.actions.iter().map(action_text).collect();
            let _ = writeln!(
                s,
                "  {} for {}, trigger {}: {} ({})",
                actions.join(" + "),
                a.duration,
                compact(&a.trigger),
                a.regex
                    .iter()
                    .map(|x| format!("'{x}'"))
                    .collect::<Vec<_>>()
                    .join(" | "),
                a.place
            );
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\nnotes");
        for n in &r.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}

/// `{"SetConfig":{"name":"x","value":1}}` → `SetConfig(x = 1)`; `"Suspend"` → `Suspend`.
fn action_text(v: &serde_json::Value) -> String {
    if let Some((kind, body)) = v.as_object().and_then(|o| o.iter().next()) {
        if let (Some(name), Some(value)) = (body.get("name"), body.get("value")) {
            return format!("{kind}({} = {})", compact(name), compact(value));
        }
        return format!("{kind}({})", compact(body));
    }
    compact(v)
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn field_line(s: &mut String, f: &Field) {
    use std::fmt::Write as _;
    let layer = match &f.overlay {
        Some(env) => format!("env {env} > {}", f.layer.describe()),
        None => f.layer.describe(),
    };
    let _ = writeln!(
        s,
        "  {:<44} {:<14} {:<28} {}",
        f.name,
        compact(&f.value),
        layer,
        f.place
    );
}
