//! The Kubernetes API server's own value rules, written again on the test side, for every
//! object kumoc emits (issue 11 §3). The JSON schemas (`tests/it/k8s.rs`) say which fields
//! exist and their types; they cannot say that a Service name must start with a letter, that
//! a PVC must request more than zero bytes, that requests may not exceed limits, or that a
//! StatefulSet's pods are named `<name>-<ordinal>`. Those rules live in apimachinery and
//! `pkg/apis/*/validation` of Kubernetes; this module implements the ones that apply to what
//! kumoc writes, independently of kumoc's own checker, so a checker gap shows up as a
//! failure here. The property test (`property.rs`) runs [`api_errors`] over every object of
//! every generated deployment.
//!
//! Where a rule comes from (Kubernetes 1.33):
//! - `staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go`: DNS-1123 labels
//!   and subdomains, DNS-1035 labels, qualified names, label values, IANA service names,
//!   ports, ConfigMap/Secret keys, environment variable names;
//! - `staging/src/k8s.io/apimachinery/pkg/api/resource/quantity.go`: the quantity grammar;
//! - `pkg/apis/core/validation/validation.go`: object names per kind (`ValidateServiceName`
//!   is a DNS-1035 label, namespaces are DNS-1123 labels, most others subdomains), container
//!   ports, volumes and mounts, projected items (`validateLocalNonReservedPath`), probes,
//!   resource requirements (requests ≤ limits), PVC storage (`ValidatePositiveQuantityValue`),
//!   Service ports (unique, named when several), ConfigMap size (1 MiB);
//! - `pkg/apis/apps/validation`: selectors matching the template's labels;
//! - `pkg/controller/history` and `pkg/controller/statefulset`: pods are `<sts>-<ordinal>`
//!   (their hostname, a DNS-1123 label) and carry `controller-revision-hash: <sts>-<hash>`,
//!   a label value of at most 63 characters (the hash is up to 10 characters), so a
//!   StatefulSet name longer than 52 creates no pods;
//! - `pkg/apis/autoscaling/validation`: `minReplicas ≥ 1`, `maxReplicas ≥ minReplicas`,
//!   `averageUtilization > 0`;
//! - `pkg/apis/networking/validation`: `ipBlock.cidr` is a valid CIDR.
//!
//! Beyond the API server, two consumers read numbers as 64-bit integers: the kubelet and the
//! scheduler (`Quantity.Value()`, which saturates), so a quantity above 2^63 − 1 base units
//! (or millicores, for CPU) silently becomes another value; that is an error here too.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// apimachinery's string rules
// ---------------------------------------------------------------------------------------------

fn lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `IsDNS1123Label`: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63.
pub fn dns1123_label(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    if s.is_empty() || s.len() > 63 {
        return Err(format!("{s:?}: a DNS-1123 label has 1 to 63 characters"));
    }
    let ok = b.iter().all(|&c| lower_alnum(c) || c == b'-')
        && lower_alnum(b[0])
        && lower_alnum(b[b.len() - 1]);
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a DNS-1123 label"))
    }
}

/// `IsDNS1123Subdomain`: dot-separated DNS-1123 labels, at most 253.
pub fn dns1123_subdomain(s: &str) -> Result<(), String> {
    if s.is_empty() || s.len() > 253 {
        return Err(format!(
            "{s:?}: a DNS-1123 subdomain has 1 to 253 characters"
        ));
    }
    for part in s.split('.') {
        let b = part.as_bytes();
        let ok = !b.is_empty()
            && b.iter().all(|&c| lower_alnum(c) || c == b'-')
            && lower_alnum(b[0])
            && lower_alnum(b[b.len() - 1]);
        if !ok {
            return Err(format!("{s:?} is not a DNS-1123 subdomain"));
        }
    }
    Ok(())
}

/// `IsDNS1035Label`: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63.
pub fn dns1035_label(s: &str) -> Result<(), String> {
    dns1123_label(s)?;
    if s.as_bytes()[0].is_ascii_lowercase() {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a DNS-1035 label (it must start with a letter)"
        ))
    }
}

/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`, at most 63: label values (empty allowed).
pub fn label_value(s: &str) -> Result<(), String> {
    if s.is_empty() {
        return Ok(());
    }
    let b = s.as_bytes();
    let ok = s.len() <= 63
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid label value"))
    }
}

/// `IsQualifiedName`: `[prefix/]name`, the prefix a DNS-1123 subdomain, the name 1 to 63 of
/// `[-A-Za-z0-9_.]`, starting and ending alphanumeric (label and annotation keys).
pub fn qualified_name(s: &str) -> Result<(), String> {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        dns1123_subdomain(p).map_err(|e| format!("{s:?}: prefix: {e}"))?;
    }
    if name.is_empty() {
        return Err(format!("{s:?}: the name part is empty"));
    }
    label_value(name).map_err(|_| format!("{s:?} is not a qualified name"))
}

/// `IsValidPortName` (IANA_SVC_NAME): 1 to 15 of `[-a-z0-9]`, at least one letter, no `-` at
/// either end, no `--`.
pub fn port_name(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let ok = !s.is_empty()
        && s.len() <= 15
        && b.iter().all(|&c| lower_alnum(c) || c == b'-')
        && b.iter().any(u8::is_ascii_lowercase)
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--");
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not an IANA service name"))
    }
}

/// `IsConfigMapKey`: 1 to 253 of `[-._a-zA-Z0-9]`, not `.`, `..` or starting with `..`.
pub fn config_map_key(s: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && s != "."
        && !s.starts_with("..");
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid ConfigMap/Secret key"))
    }
}

/// `IsEnvVarName`: `[-._a-zA-Z][-._a-zA-Z0-9]*`.
pub fn env_var_name(s: &str) -> Result<(), String> {
    let ok = s
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, b'-' | b'_' | b'.'))
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a valid environment variable name"))
    }
}

/// `validateLocalNonReservedPath`: relative, no `..` element, not starting with `..`.
pub fn local_path(s: &str) -> Result<(), String> {
    if s.is_empty() || s.starts_with('/') || s.starts_with("..") || s.split('/').any(|p| p == "..")
    {
        Err(format!("{s:?} is not a relative path inside the volume"))
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Quantities
// ---------------------------------------------------------------------------------------------

/// A quantity as an exact fraction `num / den` of base units (bytes, cores).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    pub num: u128,
    pub den: u128,
}

impl Quantity {
    pub fn is_zero(&self) -> bool {
        self.num == 0
    }
    /// `self <= other`, or `None` when the products overflow.
    pub fn le(&self, other: &Quantity) -> Option<bool> {
        Some(self.num.checked_mul(other.den)? <= other.num.checked_mul(self.den)?)
    }
    /// The value in base units when it is a whole number.
    pub fn whole(&self) -> Option<u128> {
        self.num
            .is_multiple_of(self.den)
            .then(|| self.num / self.den)
    }
    /// Whether `value × scale` (e.g. millicores: scale 1000) fits a signed 64-bit integer.
    pub fn fits_i64(&self, scale: u128) -> bool {
        self.num
            .checked_mul(scale)
            .is_some_and(|n| n / self.den <= i64::MAX as u128)
    }
}

/// The quantity grammar (`resource.ParseQuantity`): `[+]digits[.digits]` then a binary SI
/// suffix (`Ki`..`Ei`), a decimal SI suffix (`m`, ``, `k`, `M`..`E`) or an exponent
/// (`e3`, `E-2`). Negative quantities are refused (nothing kumoc writes may be negative).
pub fn quantity(s: &str) -> Result<Quantity, String> {
    let bad = || format!("{s:?} is not a Kubernetes quantity");
    let rest = s.strip_prefix('+').unwrap_or(s);
    let digits_end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, suffix) = rest.split_at(digits_end);
    if number.is_empty() || number.matches('.').count() > 1 || number == "." {
        return Err(bad());
    }
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let mut num: u128 = 0;
    for c in int.bytes().chain(frac.bytes()) {
        num = num
            .checked_mul(10)
            .and_then(|n| n.checked_add(u128::from(c - b'0')))
            .ok_or_else(|| format!("{s:?}: too large"))?;
    }
    let mut den: u128 = 10u128
        .checked_pow(u32::try_from(frac.len()).map_err(|_| bad())?)
        .ok_or_else(bad)?;
    let pow = |base: u128, e: u32| {
        base.checked_pow(e)
            .ok_or_else(|| format!("{s:?}: too large"))
    };
    let (mul, div): (u128, u128) = match suffix {
        "" => (1, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (pow(10, 6)?, 1),
        "G" => (pow(10, 9)?, 1),
        "T" => (pow(10, 12)?, 1),
        "P" => (pow(10, 15)?, 1),
        "E" => (pow(10, 18)?, 1),
        _ => {
            let exp = suffix
                .strip_prefix(['e', 'E'])
                .ok_or_else(bad)?
                .parse::<i32>()
                .map_err(|_| bad())?;
            if exp >= 0 {
                (pow(10, exp.unsigned_abs())?, 1)
            } else {
                (1, pow(10, exp.unsigned_abs())?)
            }
        }
    };
    num = num
        .checked_mul(mul)
        .ok_or_else(|| format!("{s:?}: too large"))?;
    den = den
        .checked_mul(div)
        .ok_or_else(|| format!("{s:?}: too large"))?;
    Ok(Quantity { num, den })
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

struct Ck {
    errors: Vec<String>,
    kind: String,
    name: String,
}

impl Ck {
    fn err(&mut self, at: &str, msg: impl std::fmt::Display) {
        self.errors
            .push(format!("{} {:?}: {at}: {msg}", self.kind, self.name));
    }
    fn rule(&mut self, at: &str, r: Result<(), String>) {
        if let Err(e) = r {
            self.err(at, e);
        }
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn arr(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}

fn int(ck: &mut Ck, at: &str, v: &Value, min: i64, max: i64) -> Option<i64> {
    match v.as_i64() {
        Some(n) if (min..=max).contains(&n) => Some(n),
        Some(n) => {
            ck.err(at, format!("{n} is outside {min}..={max}"));
            None
        }
        None if v.is_null() => None,
        None => {
            ck.err(at, format!("{v} is not an integer in {min}..={max}"));
            None
        }
    }
}

const I32: i64 = i32::MAX as i64;

fn labels(ck: &mut Ck, at: &str, v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, val) in v.as_object().into_iter().flatten() {
        ck.rule(&format!("{at}[{k}]"), qualified_name(k));
        ck.rule(&format!("{at}[{k}]"), label_value(s(val)));
        if !val.is_string() {
            ck.err(&format!("{at}[{k}]"), "a label value is a string");
        }
        out.insert(k.clone(), s(val).to_string());
    }
    out
}

fn annotations(ck: &mut Ck, at: &str, v: &Value) {
    let mut total = 0usize;
    for (k, val) in v.as_object().into_iter().flatten() {
        ck.rule(&format!("{at}[{k}]"), qualified_name(k));
        total += k.len() + s(val).len();
    }
    if total > 256 * 1024 {
        ck.err(at, "annotations exceed 256 KiB");
    }
}

/// `metadata`: the name by the kind's rule, the namespace, labels and annotations.
fn metadata(ck: &mut Ck, m: &Value, name_rule: fn(&str) -> Result<(), String>, namespaced: bool) {
    ck.rule("metadata.name", name_rule(s(&m["name"])));
    if namespaced {
        ck.rule("metadata.namespace", dns1123_label(s(&m["namespace"])));
    }
    labels(ck, "metadata.labels", &m["labels"]);
    annotations(ck, "metadata.annotations", &m["annotations"]);
}

fn selector_matches(
    ck: &mut Ck,
    at: &str,
    selector: &Value,
    template_labels: &BTreeMap<String, String>,
) {
    let sel = labels(ck, at, &selector["matchLabels"]);
    if sel.is_empty() {
        ck.err(at, "an empty selector selects everything");
    }
    for (k, v) in &sel {
        if template_labels.get(k) != Some(v) {
            ck.err(at, format!("selects {k}={v}, which the template lacks"));
        }
    }
}

fn resources(ck: &mut Ck, at: &str, r: &Value) {
    let mut parsed: BTreeMap<(&str, String), Quantity> = BTreeMap::new();
    for side in ["requests", "limits"] {
        for (res, q) in r[side].as_object().into_iter().flatten() {
            let where_ = format!("{at}.{side}.{res}");
            ck.rule(&where_, qualified_name(res));
            match quantity(s(q)) {
                Ok(v) => {
                    let scale = if res == "cpu" { 1000 } else { 1 };
                    if !v.fits_i64(scale) {
                        ck.err(&where_, format!("{} does not fit a 64-bit integer", s(q)));
                    }
                    if res == "memory" && v.whole().is_none() {
                        ck.err(&where_, format!("{} is not a whole number of bytes", s(q)));
                    }
                    parsed.insert((side, res.clone()), v);
                }
                Err(e) => ck.err(&where_, e),
            }
        }
    }
    for ((side, res), req) in &parsed {
        if *side != "requests" {
            continue;
        }
        if let Some(lim) = parsed.get(&("limits", res.clone())) {
            if req.le(lim) != Some(true) {
                ck.err(
                    &format!("{at}.requests.{res}"),
                    format!("the request is above the limit ({req:?} > {lim:?})"),
                );
            }
        }
    }
}

fn probe(ck: &mut Ck, at: &str, p: &Value, ports: &BTreeSet<String>) {
    if p.is_null() {
        return;
    }
    int(
        ck,
        &format!("{at}.initialDelaySeconds"),
        &p["initialDelaySeconds"],
        0,
        I32,
    );
    for f in [
        "periodSeconds",
        "timeoutSeconds",
        "failureThreshold",
        "successThreshold",
    ] {
        int(ck, &format!("{at}.{f}"), &p[f], 1, I32);
    }
    int(
        ck,
        &format!("{at}.terminationGracePeriodSeconds"),
        &p["terminationGracePeriodSeconds"],
        1,
        i64::MAX,
    );
    for handler in ["httpGet", "tcpSocket"] {
        let port = &p[handler]["port"];
        if port.is_null() {
            continue;
        }
        let where_ = format!("{at}.{handler}.port");
        if let Some(name) = port.as_str() {
            ck.rule(&where_, port_name(name));
            // Not an API rule: the kubelet resolves the name in the container's ports, and a
            // probe on an undeclared port name fails forever.
            if !ports.contains(name) {
                ck.err(&where_, format!("no container port is named {name:?}"));
            }
        } else {
            int(ck, &where_, port, 1, 65535);
        }
    }
    if let Some(path) = p["httpGet"]["path"].as_str() {
        if !path.starts_with('/') {
            ck.err(&format!("{at}.httpGet.path"), "must start with `/`");
        }
    }
}

fn container(
    ck: &mut Ck,
    at: &str,
    c: &Value,
    volumes: &BTreeSet<String>,
    ports_seen: &mut BTreeSet<String>,
) {
    ck.rule(&format!("{at}.name"), dns1123_label(s(&c["name"])));
    let image = s(&c["image"]);
    if image.is_empty() || image.trim() != image || image.contains(char::is_whitespace) {
        ck.err(&format!("{at}.image"), format!("{image:?} is not an image"));
    }
    let mut names = BTreeSet::new();
    for (i, p) in arr(&c["ports"]).iter().enumerate() {
        let where_ = format!("{at}.ports[{i}]");
        int(
            ck,
            &format!("{where_}.containerPort"),
            &p["containerPort"],
            1,
            65535,
        );
        if let Some(n) = p["name"].as_str() {
            ck.rule(&format!("{where_}.name"), port_name(n));
            if !names.insert(n.to_string()) {
                ck.err(
                    &format!("{where_}.name"),
                    format!("duplicate port name {n:?}"),
                );
            }
            ports_seen.insert(n.to_string());
        }
        if !matches!(s(&p["protocol"]), "TCP" | "UDP" | "SCTP") {
            ck.err(&format!("{where_}.protocol"), "TCP, UDP or SCTP");
        }
    }
    // Two listeners on one port in one container cannot both bind.
    let mut numbers = BTreeSet::new();
    for p in arr(&c["ports"]) {
        if let Some(n) = p["containerPort"].as_i64() {
            if !numbers.insert((n, s(&p["protocol"]).to_string())) {
                ck.err(
                    &format!("{at}.ports"),
                    format!("port {n} is declared twice"),
                );
            }
        }
    }
    for (i, e) in arr(&c["env"]).iter().enumerate() {
        ck.rule(&format!("{at}.env[{i}].name"), env_var_name(s(&e["name"])));
    }
    let mut paths = BTreeSet::new();
    for (i, m) in arr(&c["volumeMounts"]).iter().enumerate() {
        let where_ = format!("{at}.volumeMounts[{i}]");
        let name = s(&m["name"]);
        if !volumes.contains(name) {
            ck.err(&where_, format!("mounts {name:?}, which is no volume"));
        }
        let path = s(&m["mountPath"]);
        if path.is_empty() || path.contains(':') {
            ck.err(&where_, format!("mountPath {path:?}"));
        }
        if !paths.insert(path.to_string()) {
            ck.err(&where_, format!("{path:?} is mounted twice"));
        }
    }
    resources(ck, &format!("{at}.resources"), &c["resources"]);
    for p in ["readinessProbe", "livenessProbe", "startupProbe"] {
        probe(ck, &format!("{at}.{p}"), &c[p], &names);
    }
    if let Some(u) = c["securityContext"]["runAsUser"].as_i64() {
        if !(0..=I32).contains(&u) {
            ck.err(&format!("{at}.securityContext.runAsUser"), u);
        }
    }
}

fn volume(ck: &mut Ck, at: &str, v: &Value) {
    ck.rule(&format!("{at}.name"), dns1123_label(s(&v["name"])));
    let mode = |ck: &mut Ck, at: &str, m: &Value| {
        int(ck, at, m, 0, 0o777);
    };
    if let Some(cm) = v.get("configMap") {
        ck.rule(
            &format!("{at}.configMap.name"),
            dns1123_subdomain(s(&cm["name"])),
        );
    }
    if let Some(sec) = v.get("secret") {
        ck.rule(
            &format!("{at}.secret.secretName"),
            dns1123_subdomain(s(&sec["secretName"])),
        );
        mode(ck, &format!("{at}.secret.defaultMode"), &sec["defaultMode"]);
    }
    if let Some(p) = v.get("projected") {
        mode(
            ck,
            &format!("{at}.projected.defaultMode"),
            &p["defaultMode"],
        );
        let mut all_paths = BTreeSet::new();
        for (i, src) in arr(&p["sources"]).iter().enumerate() {
            if let Some(cm) = src.get("configMap") {
                ck.rule(
                    &format!("{at}.projected.sources[{i}].configMap.name"),
                    dns1123_subdomain(s(&cm["name"])),
                );
                continue;
            }
            let sec = &src["secret"];
            let where_ = format!("{at}.projected.sources[{i}].secret");
            ck.rule(
                &format!("{where_}.name"),
                dns1123_subdomain(s(&sec["name"])),
            );
            for (j, item) in arr(&sec["items"]).iter().enumerate() {
                let iw = format!("{where_}.items[{j}]");
                ck.rule(&format!("{iw}.key"), config_map_key(s(&item["key"])));
                let path = s(&item["path"]);
                ck.rule(&format!("{iw}.path"), local_path(path));
                mode(ck, &format!("{iw}.mode"), &item["mode"]);
                if !all_paths.insert(path.to_string()) {
                    ck.err(&iw, format!("conflicting duplicate path {path:?}"));
                }
            }
        }
    }
}

/// A pod template: labels, containers, volumes. `claims` are the volumeClaimTemplates' names
/// (StatefulSets mount them like volumes).
fn pod_template(ck: &mut Ck, t: &Value, claims: &[String]) -> BTreeMap<String, String> {
    let tl = labels(
        ck,
        "spec.template.metadata.labels",
        &t["metadata"]["labels"],
    );
    annotations(
        ck,
        "spec.template.metadata.annotations",
        &t["metadata"]["annotations"],
    );
    let spec = &t["spec"];
    let mut volumes: BTreeSet<String> = BTreeSet::new();
    for (i, v) in arr(&spec["volumes"]).iter().enumerate() {
        volume(ck, &format!("spec.template.spec.volumes[{i}]"), v);
        if !volumes.insert(s(&v["name"]).to_string()) {
            ck.err(
                "spec.template.spec.volumes",
                format!("duplicate volume {}", v["name"]),
            );
        }
    }
    for c in claims {
        if !volumes.insert(c.clone()) {
            ck.err(
                "spec.volumeClaimTemplates",
                format!("{c:?} is also a volume"),
            );
        }
    }
    let mut names = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for (i, c) in arr(&spec["containers"]).iter().enumerate() {
        container(
            ck,
            &format!("spec.template.spec.containers[{i}]"),
            c,
            &volumes,
            &mut ports,
        );
        if !names.insert(s(&c["name"]).to_string()) {
            ck.err("spec.template.spec.containers", "duplicate container name");
        }
    }
    if arr(&spec["containers"]).is_empty() {
        ck.err("spec.template.spec.containers", "no container");
    }
    int(
        ck,
        "spec.template.spec.terminationGracePeriodSeconds",
        &spec["terminationGracePeriodSeconds"],
        0,
        i64::MAX,
    );
    if let Some(sa) = spec["serviceAccountName"].as_str() {
        ck.rule(
            "spec.template.spec.serviceAccountName",
            dns1123_subdomain(sa),
        );
    }
    for (i, t) in arr(&spec["topologySpreadConstraints"]).iter().enumerate() {
        let at = format!("spec.template.spec.topologySpreadConstraints[{i}]");
        int(ck, &format!("{at}.maxSkew"), &t["maxSkew"], 1, I32);
        ck.rule(
            &format!("{at}.topologyKey"),
            qualified_name(s(&t["topologyKey"])),
        );
        labels(
            ck,
            &format!("{at}.labelSelector.matchLabels"),
            &t["labelSelector"]["matchLabels"],
        );
    }
    for (i, g) in [
        &spec["securityContext"]["runAsUser"],
        &spec["securityContext"]["fsGroup"],
    ]
    .into_iter()
    .enumerate()
    {
        if let Some(n) = g.as_i64() {
            if !(0..=I32).contains(&n) {
                ck.err("spec.template.spec.securityContext", format!("id #{i} {n}"));
            }
        }
    }
    tl
}

/// The largest number of pods a StatefulSet may run: its replicas, or the HPA's maximum.
pub type MaxPods = BTreeMap<String, i64>;

fn stateful_set(ck: &mut Ck, o: &Value, max_pods: &MaxPods) {
    let name = s(&o["metadata"]["name"]).to_string();
    let spec = &o["spec"];
    int(ck, "spec.replicas", &spec["replicas"], 0, I32);
    // controller-revision-hash = <name>-<hash>, hash up to 10 characters, a label value.
    if name.len() + 1 + 10 > 63 {
        ck.err(
            "metadata.name",
            format!(
                "{} characters: the pods' controller-revision-hash label `<name>-<hash>` would exceed 63",
                name.len()
            ),
        );
    }
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let pods = max_pods
        .get(&name)
        .copied()
        .unwrap_or(replicas)
        .max(replicas);
    if pods > 0 {
        // Every pod's hostname, and its statefulset.kubernetes.io/pod-name label.
        ck.rule(
            "pod names",
            dns1123_label(&format!("{name}-{}", pods - 1))
                .and_then(|()| label_value(&format!("{name}-{}", pods - 1))),
        );
    }
    ck.rule("spec.serviceName", dns1123_label(s(&spec["serviceName"])));
    let mut claims = Vec::new();
    for (i, c) in arr(&spec["volumeClaimTemplates"]).iter().enumerate() {
        let at = format!("spec.volumeClaimTemplates[{i}]");
        ck.rule(
            &format!("{at}.metadata.name"),
            dns1123_label(s(&c["metadata"]["name"])),
        );
        labels(
            ck,
            &format!("{at}.metadata.labels"),
            &c["metadata"]["labels"],
        );
        pvc_spec(ck, &at, &c["spec"]);
        claims.push(s(&c["metadata"]["name"]).to_string());
    }
    let tl = pod_template(ck, &spec["template"], &claims);
    selector_matches(ck, "spec.selector", &spec["selector"], &tl);
}

fn pvc_spec(ck: &mut Ck, at: &str, spec: &Value) {
    if arr(&spec["accessModes"]).is_empty() {
        ck.err(
            &format!("{at}.spec.accessModes"),
            "at least one access mode",
        );
    }
    if let Some(sc) = spec["storageClassName"].as_str() {
        ck.rule(
            &format!("{at}.spec.storageClassName"),
            dns1123_subdomain(sc),
        );
    }
    let storage = &spec["resources"]["requests"]["storage"];
    match quantity(s(storage)) {
        Ok(q) if q.is_zero() => ck.err(&format!("{at}.storage"), "must be greater than zero"),
        Ok(q) if !q.fits_i64(1) => ck.err(
            &format!("{at}.storage"),
            format!("{} does not fit a 64-bit integer", s(storage)),
        ),
        Ok(_) => {}
        Err(e) => ck.err(&format!("{at}.storage"), e),
    }
}

fn service(ck: &mut Ck, o: &Value) {
    let spec = &o["spec"];
    labels(ck, "spec.selector", &spec["selector"]);
    let ports = arr(&spec["ports"]);
    if ports.is_empty() {
        ck.err("spec.ports", "a Service needs a port");
    }
    let mut names = BTreeSet::new();
    let mut numbers = BTreeSet::new();
    for (i, p) in ports.iter().enumerate() {
        let at = format!("spec.ports[{i}]");
        int(ck, &format!("{at}.port"), &p["port"], 1, 65535);
        match p["name"].as_str() {
            Some(n) => {
                ck.rule(&format!("{at}.name"), dns1123_label(n));
                if !names.insert(n.to_string()) {
                    ck.err(&at, format!("duplicate name {n:?}"));
                }
            }
            None if ports.len() > 1 => ck.err(&at, "ports must be named when there are several"),
            None => {}
        }
        if !numbers.insert((p["port"].as_i64(), s(&p["protocol"]).to_string())) {
            ck.err(&at, format!("duplicate port {}", p["port"]));
        }
        let target = &p["targetPort"];
        if let Some(n) = target.as_str() {
            ck.rule(&format!("{at}.targetPort"), port_name(n));
        } else if !target.is_null() {
            int(ck, &format!("{at}.targetPort"), target, 1, 65535);
        }
    }
}

/// A CIDR as the API server's `ValidateCIDR` reads it (network address form not required).
fn cidr(s: &str) -> Result<(), String> {
    let ok = s.split_once('/').is_some_and(|(ip, bits)| {
        let max = if ip.contains(':') { 128 } else { 32 };
        ip.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok_and(|b| b <= max)
    });
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a CIDR"))
    }
}

/// `ValidateService`'s rules for what only some Service types may have.
fn service_type(ck: &mut Ck, spec: &Value) {
    let ty = spec["type"].as_str().unwrap_or("ClusterIP");
    if !matches!(
        ty,
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        ck.err("spec.type", format!("{ty:?} is not a Service type"));
    }
    if let Some(p) = spec["externalTrafficPolicy"].as_str() {
        if !matches!(ty, "NodePort" | "LoadBalancer") {
            ck.err(
                "spec.externalTrafficPolicy",
                "only a NodePort or LoadBalancer Service may set it",
            );
        }
        if !matches!(p, "Local" | "Cluster") {
            ck.err(
                "spec.externalTrafficPolicy",
                format!("{p:?} is not Local or Cluster"),
            );
        }
    }
    let ranges = arr(&spec["loadBalancerSourceRanges"]);
    if !ranges.is_empty() && ty != "LoadBalancer" {
        ck.err(
            "spec.loadBalancerSourceRanges",
            "only a LoadBalancer Service may set it",
        );
    }
    for (i, r) in ranges.iter().enumerate() {
        ck.rule(&format!("spec.loadBalancerSourceRanges[{i}]"), cidr(s(r)));
    }
}

/// `ValidateIngress` (networking/v1): hosts, paths and their types, backends, TLS.
fn ingress(ck: &mut Ck, o: &Value) {
    let spec = &o["spec"];
    if let Some(c) = spec["ingressClassName"].as_str() {
        ck.rule("spec.ingressClassName", dns1123_subdomain(c));
    }
    let host = |ck: &mut Ck, at: &str, h: &str| {
        ck.rule(at, dns1123_subdomain(h.strip_prefix("*.").unwrap_or(h)));
        if h.parse::<std::net::IpAddr>().is_ok() {
            ck.err(at, "must be a DNS name, not an IP address");
        }
    };
    for (i, t) in arr(&spec["tls"]).iter().enumerate() {
        for (j, h) in arr(&t["hosts"]).iter().enumerate() {
            host(ck, &format!("spec.tls[{i}].hosts[{j}]"), s(h));
        }
        if let Some(n) = t["secretName"].as_str() {
            ck.rule(&format!("spec.tls[{i}].secretName"), dns1123_subdomain(n));
        }
    }
    let rules = arr(&spec["rules"]);
    if rules.is_empty() && spec["defaultBackend"].is_null() {
        ck.err(
            "spec",
            "either `defaultBackend` or `rules` must be specified",
        );
    }
    for (i, r) in rules.iter().enumerate() {
        if let Some(h) = r["host"].as_str() {
            host(ck, &format!("spec.rules[{i}].host"), h);
        }
        for (j, p) in arr(&r["http"]["paths"]).iter().enumerate() {
            let at = format!("spec.rules[{i}].http.paths[{j}]");
            let path_type = s(&p["pathType"]);
            if !matches!(path_type, "Exact" | "Prefix" | "ImplementationSpecific") {
                ck.err(
                    &format!("{at}.pathType"),
                    format!("{path_type:?} is not a path type"),
                );
            }
            if path_type != "ImplementationSpecific" && !s(&p["path"]).starts_with('/') {
                ck.err(&format!("{at}.path"), "must be an absolute path");
            }
            let svc = &p["backend"]["service"];
            ck.rule(
                &format!("{at}.backend.service.name"),
                dns1035_label(s(&svc["name"])),
            );
            match (svc["port"]["name"].as_str(), svc["port"]["number"].as_i64()) {
                (Some(n), None) => {
                    ck.rule(&format!("{at}.backend.service.port.name"), port_name(n))
                }
                (None, Some(_)) => {
                    int(
                        ck,
                        &format!("{at}.backend.service.port.number"),
                        &svc["port"]["number"],
                        1,
                        65535,
                    );
                }
                _ => ck.err(
                    &format!("{at}.backend.service.port"),
                    "exactly one of `name` and `number`",
                ),
            }
        }
    }
}

fn network_policy(ck: &mut Ck, o: &Value) {
    let spec = &o["spec"];
    labels(
        ck,
        "spec.podSelector.matchLabels",
        &spec["podSelector"]["matchLabels"],
    );
    for (i, rule) in arr(&spec["ingress"]).iter().enumerate() {
        for (j, from) in arr(&rule["from"]).iter().enumerate() {
            let at = format!("spec.ingress[{i}].from[{j}]");
            if let Some(cidr) = from["ipBlock"]["cidr"].as_str() {
                let ok = cidr.split_once('/').is_some_and(|(ip, bits)| {
                    let max = if ip.contains(':') { 128 } else { 32 };
                    ip.parse::<std::net::IpAddr>().is_ok()
                        && bits.parse::<u8>().is_ok_and(|b| b <= max)
                });
                if !ok {
                    ck.err(
                        &format!("{at}.ipBlock.cidr"),
                        format!("{cidr:?} is not a CIDR"),
                    );
                }
            }
            labels(
                ck,
                &format!("{at}.podSelector"),
                &from["podSelector"]["matchLabels"],
            );
        }
        for (j, p) in arr(&rule["ports"]).iter().enumerate() {
            let at = format!("spec.ingress[{i}].ports[{j}].port");
            if let Some(n) = p["port"].as_str() {
                ck.rule(&at, port_name(n));
            } else {
                int(ck, &at, &p["port"], 1, 65535);
            }
        }
    }
}

fn hpa(ck: &mut Ck, o: &Value) {
    let spec = &o["spec"];
    let min = int(ck, "spec.minReplicas", &spec["minReplicas"], 1, I32).unwrap_or(1);
    let max = int(ck, "spec.maxReplicas", &spec["maxReplicas"], 1, I32).unwrap_or(min);
    if max < min {
        ck.err("spec.maxReplicas", "below minReplicas");
    }
    ck.rule(
        "spec.scaleTargetRef.name",
        dns1123_subdomain(s(&spec["scaleTargetRef"]["name"])),
    );
    for (i, m) in arr(&spec["metrics"]).iter().enumerate() {
        let t = &m["resource"]["target"];
        if !t["averageUtilization"].is_null() {
            int(
                ck,
                &format!("spec.metrics[{i}].resource.target.averageUtilization"),
                &t["averageUtilization"],
                1,
                I32,
            );
        }
    }
}

/// A Prometheus duration (`model.ParseDuration`), as the ServiceMonitor CRD's pattern says.
fn prometheus_duration(s: &str) -> Result<(), String> {
    let mut rest = s;
    if rest == "0" {
        return Ok(());
    }
    let mut units = ["y", "w", "d", "h", "m", "s", "ms"].iter().peekable();
    let mut any = false;
    while !rest.is_empty() {
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(format!("{s:?} is not a Prometheus duration"));
        }
        let after = &rest[n..];
        let unit_len = if after.starts_with("ms") {
            2
        } else {
            after.chars().next().map_or(0, char::len_utf8)
        };
        let unit = &after[..unit_len];
        // Units in decreasing order, each at most once.
        loop {
            match units.next() {
                Some(u) if *u == unit => break,
                Some(_) => continue,
                None => return Err(format!("{s:?} is not a Prometheus duration")),
            }
        }
        any = true;
        rest = &after[unit_len..];
    }
    if any {
        Ok(())
    } else {
        Err(format!("{s:?} is not a Prometheus duration"))
    }
}

/// Every API rule that applies to one object. `max_pods` maps StatefulSet names to the most
/// pods they may run (from the HPA), for the pod-name rule.
pub fn api_errors(o: &Value, max_pods: &MaxPods) -> Vec<String> {
    let kind = s(&o["kind"]).to_string();
    let mut ck = Ck {
        errors: Vec::new(),
        name: s(&o["metadata"]["name"]).to_string(),
        kind: kind.clone(),
    };
    let m = &o["metadata"];
    match kind.as_str() {
        "Namespace" => metadata(&mut ck, m, dns1123_label, false),
        "Service" => {
            metadata(&mut ck, m, dns1035_label, true);
            service(&mut ck, o);
            service_type(&mut ck, &o["spec"]);
        }
        "Ingress" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            ingress(&mut ck, o);
        }
        "ConfigMap" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            let mut size = 0usize;
            for (k, v) in o["data"].as_object().into_iter().flatten() {
                ck.rule(&format!("data[{k}]"), config_map_key(k));
                size += k.len() + s(v).len();
            }
            if size > 1024 * 1024 {
                ck.err(
                    "data",
                    format!("{size} bytes: a ConfigMap holds at most 1 MiB"),
                );
            }
        }
        "Secret" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            for (k, _) in o["data"].as_object().into_iter().flatten() {
                ck.rule(&format!("data[{k}]"), config_map_key(k));
            }
        }
        "StatefulSet" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            stateful_set(&mut ck, o, max_pods);
        }
        "Deployment" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            int(&mut ck, "spec.replicas", &o["spec"]["replicas"], 0, I32);
            let tl = pod_template(&mut ck, &o["spec"]["template"], &[]);
            selector_matches(&mut ck, "spec.selector", &o["spec"]["selector"], &tl);
        }
        "HorizontalPodAutoscaler" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            hpa(&mut ck, o);
        }
        "PodDisruptionBudget" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            labels(
                &mut ck,
                "spec.selector",
                &o["spec"]["selector"]["matchLabels"],
            );
            int(
                &mut ck,
                "spec.maxUnavailable",
                &o["spec"]["maxUnavailable"],
                0,
                I32,
            );
        }
        "NetworkPolicy" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            network_policy(&mut ck, o);
        }
        "ServiceAccount" => metadata(&mut ck, m, dns1123_subdomain, true),
        "ServiceMonitor" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            for (i, e) in arr(&o["spec"]["endpoints"]).iter().enumerate() {
                if let Some(iv) = e["interval"].as_str() {
                    ck.rule(
                        &format!("spec.endpoints[{i}].interval"),
                        prometheus_duration(iv),
                    );
                }
                if let Some(p) = e["port"].as_str() {
                    ck.rule(&format!("spec.endpoints[{i}].port"), port_name(p));
                }
            }
            for (i, ns) in arr(&o["spec"]["namespaceSelector"]["matchNames"])
                .iter()
                .enumerate()
            {
                ck.rule(
                    &format!("spec.namespaceSelector.matchNames[{i}]"),
                    dns1123_label(s(ns)),
                );
            }
        }
        "PrometheusRule" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            // groups is a list-map keyed by name: names are unique.
            let mut names = std::collections::BTreeSet::new();
            for (i, g) in arr(&o["spec"]["groups"]).iter().enumerate() {
                if !names.insert(s(&g["name"]).to_string()) {
                    ck.err(&format!("spec.groups[{i}].name"), "duplicate group name");
                }
                for (j, r) in arr(&g["rules"]).iter().enumerate() {
                    if let Some(f) = r["for"].as_str() {
                        ck.rule(
                            &format!("spec.groups[{i}].rules[{j}].for"),
                            prometheus_duration(f),
                        );
                    }
                    if r["alert"].is_string() == r["record"].is_string() {
                        ck.err(
                            &format!("spec.groups[{i}].rules[{j}]"),
                            "exactly one of `alert` and `record`",
                        );
                    }
                }
            }
        }
        "ScaledObject" => {
            metadata(&mut ck, m, dns1123_subdomain, true);
            let spec = &o["spec"];
            int(
                &mut ck,
                "spec.minReplicaCount",
                &spec["minReplicaCount"],
                0,
                I32,
            );
            int(
                &mut ck,
                "spec.maxReplicaCount",
                &spec["maxReplicaCount"],
                1,
                I32,
            );
            int(
                &mut ck,
                "spec.pollingInterval",
                &spec["pollingInterval"],
                1,
                I32,
            );
            if spec["minReplicaCount"].as_i64() > spec["maxReplicaCount"].as_i64() {
                ck.err("spec.maxReplicaCount", "below minReplicaCount");
            }
            ck.rule(
                "spec.scaleTargetRef.name",
                dns1123_subdomain(s(&spec["scaleTargetRef"]["name"])),
            );
        }
        other => ck.err("kind", format!("no API rules for {other}")),
    }
    ck.errors
}

/// The most pods each StatefulSet may run, from the HPAs among `objects`.
pub fn max_pods<'a>(objects: impl IntoIterator<Item = &'a Value>) -> MaxPods {
    let mut out = MaxPods::new();
    for o in objects {
        if o["kind"] == "HorizontalPodAutoscaler"
            && o["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
        {
            if let Some(max) = o["spec"]["maxReplicas"].as_i64() {
                out.insert(s(&o["spec"]["scaleTargetRef"]["name"]).to_string(), max);
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Self-tests: each rule accepts the example's objects and rejects what the API rejects.
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use kumoc_compiler::Environment;

    #[test]
    fn string_rules_follow_apimachinery() {
        assert!(dns1123_label("a-1").is_ok() && dns1123_label("1a").is_ok());
        for bad in ["", "-a", "a-", "A", "a.b", &"a".repeat(64)] {
            assert!(dns1123_label(bad).is_err(), "{bad:?}");
        }
        assert!(dns1035_label("a1").is_ok() && dns1035_label("1a").is_err());
        assert!(dns1123_subdomain("a.b-c.d").is_ok());
        for bad in [
            "a..b",
            ".a",
            "a.",
            "a_b",
            &format!("{}.{}", "a".repeat(63), "b".repeat(190)),
        ] {
            assert!(dns1123_subdomain(bad).is_err(), "{bad:?}");
        }
        assert!(label_value("").is_ok() && label_value("2025.03.19-1d3f1f67").is_ok());
        for bad in ["-a", "a_", "a b", &"a".repeat(64)] {
            assert!(label_value(bad).is_err(), "{bad:?}");
        }
        assert!(qualified_name("app.kubernetes.io/name").is_ok());
        assert!(qualified_name("kumoc.dev/policy-checksum").is_ok());
        for bad in ["a/", "/a", "A_B.c/x", "a/b/c"] {
            assert!(qualified_name(bad).is_err(), "{bad:?}");
        }
        assert!(port_name("http").is_ok() && port_name("metrics").is_ok());
        for bad in ["8080", "a--b", "-a", "abcdefghijklmnop", "HTTP"] {
            assert!(port_name(bad).is_err(), "{bad:?}");
        }
        assert!(config_map_key("example.com.default.key").is_ok());
        for bad in [".", "..", "..a", "a/b", ""] {
            assert!(config_map_key(bad).is_err(), "{bad:?}");
        }
        assert!(local_path("a/b.key").is_ok() && local_path("*.example.com/s.key").is_ok());
        for bad in ["/a", "../a", "a/../b", "..a"] {
            assert!(local_path(bad).is_err(), "{bad:?}");
        }
        assert!(prometheus_duration("30s").is_ok() && prometheus_duration("1h30m").is_ok());
        for bad in ["30", "1.5s", "30s1h", ""] {
            assert!(prometheus_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quantities_parse_exactly() {
        let q = |s: &str| quantity(s).unwrap();
        assert_eq!(q("25Gi").whole(), Some(25 << 30));
        assert_eq!(
            q("1500m"),
            Quantity {
                num: 1500,
                den: 1000
            }
        );
        assert_eq!(q("0.5").le(&q("500m")), Some(true));
        assert_eq!(q("1e3").whole(), Some(1000));
        assert!(q("0").is_zero());
        assert!(!q("8Ei").fits_i64(1) && q("7Ei").fits_i64(1));
        for bad in ["", "1x", "-1", "1.2.3", "Gi", "1 Gi"] {
            assert!(quantity(bad).is_err(), "{bad:?}");
        }
    }

    /// The example's objects pass; each mutation the API refuses is caught.
    #[test]
    fn api_rules_accept_the_example_and_catch_mutations() {
        for env in [None, Some(Environment::Production)] {
            let (objects, _) = crate::k8s::manifests(env);
            let max = max_pods(objects.values());
            for (file, o) in &objects {
                let errors = api_errors(o, &max);
                assert!(errors.is_empty(), "{file}: {errors:?}");
            }
        }
        let (objects, _) = crate::k8s::manifests(None);
        let max = max_pods(objects.values());
        type Mutation = (&'static str, fn(&mut Value));
        let mutations: &[Mutation] = &[
            ("service-mta.yaml", |o| {
                o["metadata"]["name"] = "1mta".into()
            }),
            ("service-mta.yaml", |o| {
                o["spec"]["ports"][1]["port"] = 8000.into()
            }),
            ("statefulset-mta.yaml", |o| {
                o["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] =
                    "0".into();
            }),
            ("statefulset-mta.yaml", |o| {
                o["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] =
                    "3".into();
            }),
            ("statefulset-mta.yaml", |o| {
                o["metadata"]["name"] = "a".repeat(53).into()
            }),
            ("statefulset-mta.yaml", |o| {
                o["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["periodSeconds"] =
                    (i64::from(i32::MAX) + 1).into();
            }),
            ("statefulset-mta.yaml", |o| {
                o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"] =
                    "-x".into();
            }),
            ("statefulset-mta.yaml", |o| {
                o["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["tcpSocket"]["port"] =
                    "smtpx".into();
            }),
            ("statefulset-mta.yaml", |o| {
                let vols = o["spec"]["template"]["spec"]["volumes"]
                    .as_array_mut()
                    .unwrap();
                let dkim = vols
                    .iter_mut()
                    .find(|v| v["name"] == "dkim-keys-0")
                    .unwrap();
                dkim["secret"]["secretName"] = "dkim_keys".into();
            }),
            ("hpa-mta.yaml", |o| {
                o["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 0.into()
            }),
            ("hpa-mta.yaml", |o| o["spec"]["maxReplicas"] = 1.into()),
            ("configmap-policy.yaml", |o| {
                o["data"]["x"] = "y".repeat(1024 * 1024).into()
            }),
            ("networkpolicy-mta.yaml", |o| {
                o["spec"]["ingress"][0]["from"][0]["ipBlock"]["cidr"] = "10.0.0.0/33".into()
            }),
            ("servicemonitor-mta.yaml", |o| {
                o["spec"]["endpoints"][0]["interval"] = "1.5m".into()
            }),
            ("deployment-sink.yaml", |o| {
                o["spec"]["selector"]["matchLabels"]["x"] = "y".into()
            }),
        ];
        for (file, mutate) in mutations {
            let mut o = objects[&format!("k8s/{file}")].clone();
            mutate(&mut o);
            assert!(
                !api_errors(&o, &max).is_empty(),
                "{file}: a mutation the API rejects passed: {}",
                serde_json::to_string(&o)
                    .unwrap()
                    .chars()
                    .take(300)
                    .collect::<String>()
            );
        }
    }
}
