//! Helm values (`--helm-values`): what the chart renders the pods from, for the `deployment`
//! and `cluster` blocks and for the environment the policy reads.
//!
//! The keys read are the usual chart conventions, as the seed chart uses them
//! (`shared/reference/kumomta.md` §12.1): `image.repository` / `image.tag`, `replicaCount`,
//! `resources`, `autoscaling`, `service.{http,metrics,smtp}Port`, the container `env` (and
//! `tsa.env`), `serviceMonitor.enabled`, `sink.enabled` / `sink.replicaCount`,
//! `tsa.replicaCount`, and the Secret volumes and their mounts. Several files merge the way
//! `helm -f a.yaml -f b.yaml` merges them (maps merge, lists replace). Secret values are
//! never read: of `httpListenerKeys.users` only the user names are, and an environment
//! variable from a `secretKeyRef` becomes a `secret(...)` reference.

use kumoc_lang::Span;
use serde_json::Value as J;

use super::eval::{Env, EnvVar};
use super::policy::Mta;
use super::write::{KBlock, KVal};
use super::{Cx, Sev};
use crate::codes;
use crate::diagnostic::{Diagnostic, Loc, Severity};
use crate::source::FileId;

/// What the Helm values say.
#[derive(Debug, Default, Clone)]
pub struct Helm {
    /// The files, parsed, in order.
    docs: Vec<(FileId, J)>,
    pub image_repo: Option<(String, FileId, Span)>,
    pub image_tag: Option<(String, FileId, Span)>,
    pub env_mta: Env,
    pub env_tsa: Env,
    pub service_monitor: Option<bool>,
    pub sink_enabled: Option<(bool, FileId, Span)>,
    pub sink_replicas: Option<i64>,
    pub tsa_replicas: Option<(i64, FileId, Span)>,
    /// Secret volumes: (mount path, Secret name).
    pub mounts: Vec<(String, String)>,
    /// Secret volumes mounted `optional: true`.
    pub optional_secrets: std::collections::BTreeSet<String>,
    /// API user names (`httpListenerKeys.users` keys; the passwords are not read).
    pub users: Vec<String>,
}

impl Helm {
    /// The value at `path` in the last file that sets it, with its file and line.
    fn get(&self, cx: &Cx, path: &[&str]) -> Option<(&J, FileId, Span)> {
        self.docs.iter().rev().find_map(|(file, doc)| {
            let mut v = doc;
            for k in path {
                v = v.get(k)?;
            }
            if v.is_null() {
                return None;
            }
            let text = cx.sources.get(*file).map_or("", |f| &*f.text);
            Some((v, *file, locate(text, path)))
        })
    }

    /// Warn where the Service and the policy disagree on ports.
    pub fn check_ports(&self, cx: &mut Cx, mta: &Mta) {
        let listens = [
            (
                "httpPort",
                mta.http_port.map(|p| p.port),
                "the HTTP listener",
            ),
            (
                "smtpPort",
                mta.smtp_port.map(|p| p.port),
                "the SMTP listener",
            ),
            (
                "metricsPort",
                mta.metrics.as_ref().map(|(p, _)| p.port),
                "a metrics listener",
            ),
        ];
        for (key, policy, what) in listens {
            let Some((v, file, span)) = self.get(cx, &["service", key]) else {
                continue;
            };
            let Some(port) = v.as_i64() else { continue };
            let matches = policy.is_some_and(|p| i64::from(p) == port);
            if matches {
                continue;
            }
            let label = match policy {
                Some(p) => format!("the policy's {what} is on port {p}"),
                None => format!("the policy starts no {}", what.trim_start_matches("a ")),
            };
            cx.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("`service.{key}` is {port}"), Loc::new(file, span), label)
                    .with_help("kumoc derives the container ports and the Service from the listeners (`cluster.mta.ports`), so they always match; a metrics port gets its own listener"),
            );
        }
    }
}

/// Read and merge the values files.
pub fn read(cx: &mut Cx, files: &[FileId]) -> Helm {
    let mut h = Helm::default();
    for id in files {
        let text = cx
            .sources
            .get(*id)
            .map(|f| f.text.clone())
            .unwrap_or_default();
        match serde_norway::from_str::<J>(&text) {
            Ok(J::Null) => {}
            Ok(v @ J::Object(_)) => h.docs.push((*id, v)),
            Ok(_) => cx.push(
                Diagnostic::new(
                    codes::IMPORT_DATA_FILE,
                    format!("{} is not a map of Helm values", cx.sources.name(*id)),
                    Loc::new(*id, Span::default()),
                    "not a map",
                )
                .with_help("Helm values files are YAML maps"),
            ),
            Err(e) => {
                let offset = e.location().map_or(0, |l| l.index());
                cx.push(
                    Diagnostic::new(
                        codes::IMPORT_DATA_FILE,
                        format!("cannot read {}: {e}", cx.sources.name(*id)),
                        Loc::new(*id, Span::new(offset, offset)),
                        "invalid YAML",
                    )
                    .with_help("fix the YAML, then import again"),
                );
            }
        }
    }
    let str_at = |h: &Helm, cx: &Cx, path: &[&str]| {
        h.get(cx, path)
            .and_then(|(v, f, s)| v.as_str().map(|x| (x.to_string(), f, s)))
    };
    h.image_repo = str_at(&h, cx, &["image", "repository"]);
    h.image_tag = str_at(&h, cx, &["image", "tag"]);
    h.service_monitor = h
        .get(cx, &["serviceMonitor", "enabled"])
        .and_then(|(v, _, _)| v.as_bool());
    h.sink_enabled = h
        .get(cx, &["sink", "enabled"])
        .and_then(|(v, f, s)| v.as_bool().map(|b| (b, f, s)));
    h.sink_replicas = h
        .get(cx, &["sink", "replicaCount"])
        .and_then(|(v, _, _)| v.as_i64());
    h.tsa_replicas = h
        .get(cx, &["tsa", "replicaCount"])
        .and_then(|(v, f, s)| v.as_i64().map(|n| (n, f, s)));
    h.env_mta = env(&h, cx, &["env"]);
    h.env_tsa = env(&h, cx, &["tsa", "env"]);
    if let Some((J::Object(users), _, _)) = h.get(cx, &["httpListenerKeys", "users"]) {
        h.users = users.keys().cloned().collect();
    }
    h.mounts = mounts(&h, cx);
    let mut optional = std::collections::BTreeSet::new();
    if let Some((J::Array(vols), _, _)) = h.get(cx, &["volumes"]) {
        for v in vols {
            let secret = v.get("secret");
            if secret.and_then(|s| s.get("optional")).and_then(J::as_bool) == Some(true) {
                if let Some(n) = secret.and_then(|s| s.get("secretName")).and_then(J::as_str) {
                    optional.insert(n.to_string());
                }
            }
        }
    }
    h.optional_secrets = optional;
    notes(&h, cx);
    h
}

fn env(h: &Helm, cx: &Cx, path: &[&str]) -> Env {
    let mut out = Env::default();
    let Some((J::Array(items), file, _)) = h.get(cx, path) else {
        return out;
    };
    let origin = format!(
        "{}: {}",
        cx.sources.name(file).rsplit('/').next().unwrap_or(""),
        path.join(".")
    );
    for item in items {
        let Some(name) = item.get("name").and_then(J::as_str) else {
            continue;
        };
        if let Some(v) = item.get("value") {
            let value = match v {
                J::String(s) => s.clone(),
                J::Null => String::new(),
                other => other.to_string(),
            };
            out.vars.insert(
                name.to_string(),
                EnvVar {
                    value,
                    origin: origin.clone(),
                },
            );
        } else if let Some(r) = item.get("valueFrom").and_then(|v| v.get("secretKeyRef")) {
            if let (Some(s), Some(k)) = (
                r.get("name").and_then(J::as_str),
                r.get("key").and_then(J::as_str),
            ) {
                out.secret_refs
                    .insert(name.to_string(), (s.to_string(), k.to_string()));
                out.vars.insert(
                    name.to_string(),
                    EnvVar {
                        value: String::new(),
                        origin: format!("{origin} (Secret {s:?})"),
                    },
                );
            }
        }
    }
    out
}

/// Secret volumes and where they are mounted.
fn mounts(h: &Helm, cx: &Cx) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some((J::Array(vols), _, _)) = h.get(cx, &["volumes"]) else {
        return out;
    };
    let Some((J::Array(mounts), _, _)) = h.get(cx, &["volumeMounts"]) else {
        return out;
    };
    for m in mounts {
        let (Some(name), Some(path)) = (
            m.get("name").and_then(J::as_str),
            m.get("mountPath").and_then(J::as_str),
        ) else {
            continue;
        };
        let secret = vols
            .iter()
            .find(|v| v.get("name").and_then(J::as_str) == Some(name))
            .and_then(|v| v.get("secret"))
            .and_then(|s| s.get("secretName"))
            .and_then(J::as_str);
        if let Some(s) = secret {
            out.push((path.trim_end_matches('/').to_string(), s.to_string()));
        }
    }
    out
}

/// What the values say that kumoc does differently.
fn notes(h: &Helm, cx: &mut Cx) {
    let mut found = Vec::new();
    for (path, vol, what, help) in [
        (
            &["volumes"][..],
            "spool",
            "the MTA spool is an emptyDir",
            "kumoc gives every MTA pod a spool volume of its own (`cluster.mta.spool`): an emptyDir loses every queued message when the pod goes",
        ),
        (
            &["tsa", "volumes"][..],
            "tsa-spool",
            "TSA's database is on an emptyDir",
            "kumoc keeps TSA's database on a volume per replica (`cluster.tsa.storage`): on an emptyDir, suspensions and overrides are lost at each restart",
        ),
    ] {
        if let Some((J::Array(vols), file, _)) = h.get(cx, path) {
            let empty = vols.iter().any(|v| {
                v.get("name").and_then(J::as_str) == Some(vol) && v.get("emptyDir").is_some()
            });
            if empty {
                let text = cx.sources.get(file).map_or("", |f| &*f.text);
                let span = locate_value(text, vol).unwrap_or_default();
                found.push(
                    Diagnostic::new(
                        codes::IMPORT_SETTING_NOT_DESCRIBED,
                        what,
                        Loc::new(file, span),
                        "not imported",
                    )
                    .with_help(help),
                );
            }
        }
    }
    if let Some((v, file, span)) = h.get(cx, &["debug", "enabled"]) {
        if v.as_bool() == Some(true) {
            found.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, "the debug pod is not imported", Loc::new(file, span), "kumoc emits no debug pod")
                    .with_help("a long-running pod with network tools (and a `latest` image) is not part of a deployment kumoc writes"),
            );
        }
    }
    for d in found {
        cx.push(d);
    }
}

/// The `mta` block's settings from the values: replicas, resources, autoscaling.
pub fn mta_settings(cx: &mut Cx, h: &Helm, mta: &mut KBlock) {
    if let Some((v, _, _)) = h.get(cx, &["replicaCount"]) {
        if let Some(n) = v.as_i64().filter(|n| *n != 1) {
            mta.set("replicas", KVal::lit(n.to_string()));
        }
    }
    if let Some((J::Object(res), file, span)) = h.get(cx, &["resources"]) {
        let mut r = KBlock::new("resources", None);
        for part in ["requests", "limits"] {
            let Some(J::Object(q)) = res.get(part) else {
                continue;
            };
            let b = r.child(part, None);
            for (k, ty) in [
                ("cpu", &crate::schema::Ty::Cpu),
                ("memory", &crate::schema::Ty::Size),
            ] {
                let raw = match q.get(k) {
                    Some(J::String(s)) => super::values::Raw::Str(s.clone()),
                    Some(J::Number(n)) => match n.as_i64() {
                        Some(i) => super::values::Raw::Int(i),
                        None => super::values::Raw::Float(n.as_f64().unwrap_or(0.0)),
                    },
                    _ => continue,
                };
                match super::values::convert(ty, &raw, cx.flavor) {
                    Ok(v) => b.set(k, v),
                    Err(why) => cx.push(
                        Diagnostic::new(
                            codes::IMPORT_SETTING_NOT_DESCRIBED,
                            format!("`resources.{part}.{k}` is not imported"),
                            Loc::new(file, span),
                            why,
                        )
                        .with_help("write it in `cluster.mta.resources`"),
                    ),
                }
            }
        }
        r.items
            .retain(|i| !matches!(i, super::write::Item::Block(b) if b.is_empty()));
        if !r.is_empty() {
            mta.push(r);
        }
    }
    if let Some((J::Object(a), _, _)) = h.get(cx, &["autoscaling"]) {
        if a.get("enabled").and_then(J::as_bool) == Some(true) {
            let mut s = KBlock::new("autoscale", None);
            if let Some(n) = a.get("minReplicas").and_then(J::as_i64) {
                s.set("min", KVal::lit(n.to_string()));
            }
            if let Some(n) = a.get("maxReplicas").and_then(J::as_i64) {
                s.set("max", KVal::lit(n.to_string()));
            }
            if let Some(n) = a.get("targetCPUUtilizationPercentage").and_then(J::as_i64) {
                s.set("cpu", KVal::lit(format!("{n}%")));
            }
            if let Some(n) = a
                .get("targetMemoryUtilizationPercentage")
                .and_then(J::as_i64)
            {
                s.set("memory", KVal::lit(format!("{n}%")));
            }
            mta.push(s);
        }
    }
    if h.docs.is_empty() {
        return;
    }
    if h.get(cx, &["resources", "requests"]).is_none() {
        if let Some((_, file, span)) = h.get(cx, &["resources"]) {
            cx.push(
                Diagnostic::new(
                    codes::IMPORT_ASSUMED_VALUE,
                    "the Helm values request no resources for the MTA",
                    Loc::new(file, span),
                    "none imported",
                )
                .at_severity(Severity::Info)
                .with_help("set `cluster.mta.resources` (the check says what KumoMTA needs)"),
            );
        }
    }
}

/// The line where `path` is written in a YAML file (each key searched below its parent).
pub fn locate(text: &str, path: &[&str]) -> Span {
    let mut offset = 0usize;
    let mut found = Span::default();
    let mut indent: Option<usize> = None;
    let mut start_line = 0usize;
    let lines: Vec<(usize, &str)> = text
        .split_inclusive('\n')
        .map(|l| {
            let at = offset;
            offset += l.len();
            (at, l)
        })
        .collect();
    'keys: for key in path {
        for (i, (at, line)) in lines.iter().enumerate().skip(start_line) {
            let trimmed = line.trim_start();
            let ind = line.len() - trimmed.len();
            if indent.is_some_and(|p| ind <= p)
                && !trimmed.trim().is_empty()
                && !trimmed.starts_with('#')
                && i > start_line
            {
                break;
            }
            let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
            if body.starts_with(&format!("{key}:")) {
                found = Span::new(*at + ind, *at + line.trim_end().len());
                indent = Some(ind);
                start_line = i;
                continue 'keys;
            }
        }
        break;
    }
    found
}

/// The line of `name: VALUE` (a list item naming `value`).
fn locate_value(text: &str, value: &str) -> Option<Span> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start().trim_start_matches("- ").trim();
        if t == format!("name: {value}") || t == format!("name: \"{value}\"") {
            let ind = line.len() - line.trim_start().len();
            return Some(Span::new(offset + ind, offset + line.trim_end().len()));
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_keys() {
        let text =
            "image:\n  repository: x\n  tag: 1\ntsa:\n  image:\n    tag: 2\n  replicaCount: 3\n";
        let at = |p: &[&str]| text[..locate(text, p).start as usize].matches('\n').count() + 1;
        assert_eq!(at(&["image", "tag"]), 3);
        assert_eq!(at(&["tsa", "image", "tag"]), 6);
        assert_eq!(at(&["tsa", "replicaCount"]), 7);
    }
}
