//! `kumoc dns`: the DNS records a deployment needs, and how the live ones compare. No IO:
//! the CLI reads key files and snapshots and hands their contents in.
//!
//! What a KumoMTA sender needs (research notes for issue 16, §3):
//!
//! - **DKIM**: `<selector>._domainkey.<domain>` TXT `v=DKIM1; k=rsa|ed25519; p=<key>`, one
//!   per `domain` block with `dkim`. The DKIM helper signs with `d=` the From header's
//!   domain (`assets/policy-extras/dkim_sign.lua`), so the record goes on that domain. RSA's
//!   `p=` is the SubjectPublicKeyInfo DER in base64 (`openssl rsa -pubout` without armour);
//!   Ed25519's is the raw 32-byte key (RFC 8463), not SPKI.
//! - **SPF** (RFC 7208) on each sending domain: `v=spf1 ip4:... ip6:... ~all` over the
//!   addresses receivers see: each source's `source_address`, or its proxy's source address
//!   (a proxy is used only with both of its fields, `crates/kumod/src/egress_source.rs`).
//!   SPF is evaluated on the envelope sender (MAIL FROM) domain, which the injector sets:
//!   kumoc assumes it is the From domain (needed for SPF alignment under DMARC anyway).
//! - **DMARC** (RFC 7489): `_dmarc.<domain>` TXT `v=DMARC1; p=...`.
//! - **Forward-confirmed reverse DNS** for each egress address with an EHLO name: the
//!   address's PTR names the EHLO name, and the EHLO name's A/AAAA holds the address (Gmail
//!   and Yahoo require it; the PTR lives in the address owner's reverse zone).
//!
//! There is no bounce (return-path) domain in `.kumo` yet: kumoc emits no
//! `listener_domains`, so KumoMTA would refuse mail for such a domain, and an MX pointing at
//! it would be wrong. When listener domains exist, their MX records belong here.

pub mod snapshot;

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Deployment, Source};
use crate::source::Loc;
pub use snapshot::{Answer, Snapshot, Type};

/// A DKIM public key as it goes into the `p=` tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicKey {
    /// `rsa` or `ed25519` (the `k=` tag).
    pub k: &'static str,
    /// Base64 of the SubjectPublicKeyInfo DER (RSA) or of the raw key (Ed25519).
    pub p: String,
    /// RSA modulus size; 256 for Ed25519.
    pub bits: u32,
}

/// The DKIM key a `domain` block signs with: where its private key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKey {
    pub domain: String,
    pub selector: String,
    /// `rsa_sha256` or `ed25519` (the `.kumo` spelling).
    pub algorithm: &'static str,
    /// The declared RSA size (`bits`), if any.
    pub bits: Option<u32>,
    /// The Secret and its key holding the private key (the Secret is empty for a key in Vault).
    pub secret: String,
    pub key: String,
    /// Where the key is in Vault, when DKIM keys are read from Vault.
    pub vault_path: Option<String>,
    /// The file the `secret` block builds this key from (`files`), as written, and the
    /// `.kumo` file it is relative to.
    pub file: Option<(String, crate::source::FileId)>,
    pub loc: Loc,
}

/// Every DKIM key of the deployment, in domain order.
pub fn dkim_keys(d: &Deployment) -> Vec<DkimKey> {
    let mut out = Vec::new();
    for dom in &d.domains {
        let Some(k) = &dom.dkim else { continue };
        let selector = str_setting(&k.settings, "selector")
            .or_else(|| str_setting(&d.dkim_defaults, "selector"))
            .unwrap_or_default();
        // As set, else the signing helper's default (the schema's).
        let algorithm = k
            .settings
            .value_or_default(&crate::schema::DKIM, "algorithm")
            .and_then(|v| v.as_enum())
            .map_or("", |v| v.name);
        let bits = k
            .settings
            .get("bits")
            .and_then(|s| s.value.as_int())
            .and_then(|n| u32::try_from(n).ok());
        // Keys in Vault: no Secret; `--keys DIR` finds them by `<domain>.<selector>.key`.
        let vault_path = crate::emit::names::dkim_vault_path(d, k, &dom.name, &selector);
        let (secret, key) = match &k.key {
            Some(r) => (r.secret.clone(), r.key.clone()),
            None => (String::new(), format!("{}.{selector}.key", dom.name)),
        };
        let file = d
            .secret(&secret)
            .and_then(|s| s.files.get(&key))
            .map(|p| (p.value.clone(), p.loc.file));
        out.push(DkimKey {
            domain: dom.name.clone(),
            selector,
            algorithm,
            bits,
            secret,
            key,
            vault_path,
            file,
            loc: k.loc,
        });
    }
    out
}

fn str_setting(s: &crate::model::Settings, name: &str) -> Option<String> {
    s.get(name).and_then(|x| x.value.text()).map(str::to_string)
}

/// What `kumoc dns` is told beyond the `.kumo` files.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Public keys by (domain, selector), read from the private key files.
    pub keys: BTreeMap<(String, String), PublicKey>,
    /// Addresses mail leaves from that `.kumo` does not say (a NAT gateway): `--egress-ip`.
    pub egress_ips: Vec<IpAddr>,
    /// DMARC policy (`none`, `quarantine`, `reject`) and report addresses.
    pub dmarc_policy: Option<String>,
    pub dmarc_rua: Vec<String>,
    /// TTL of every record; 3600 when 0.
    pub ttl: u32,
}

/// Why a record is needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Purpose {
    Dkim {
        domain: String,
        selector: String,
    },
    Spf {
        domain: String,
    },
    Dmarc {
        domain: String,
    },
    /// The reverse record of an egress address.
    Ptr {
        address: String,
        ehlo: String,
    },
    /// The EHLO name's address record (the forward half of FCrDNS).
    Forward {
        ehlo: String,
        address: String,
    },
}

/// One record the deployment needs.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// Without the trailing dot.
    pub name: String,
    #[serde(rename = "type")]
    pub ty: Type,
    /// The data: TXT text (one string, before splitting), an address, a host name. `None`
    /// when kumoc cannot know it (a DKIM key not given, an SPF record with no address).
    pub value: Option<String>,
    pub ttl: u32,
    pub purpose: Purpose,
    /// Where in the deployment it comes from: `mail.kumo: domain "example.com" > dkim`.
    pub place: String,
    /// Whose zone it lives in: the domain's, or the address owner's reverse zone.
    pub reverse: bool,
    /// What is missing when `value` is `None`.
    pub missing: Option<String>,
    #[serde(skip)]
    pub loc: Loc,
}

/// The records a deployment needs, and what kumoc could not say.
#[derive(Debug, Clone, Serialize)]
pub struct Needed {
    pub deployment: String,
    pub namespace: String,
    pub records: Vec<Record>,
    pub notes: Vec<String>,
}

/// The address receivers see for a source: `source_address`, or a proxy's source address
/// when both proxy fields are set; `None` when mail leaves from the node's address.
pub fn egress_address(s: &Source) -> Option<(IpAddr, Loc)> {
    let ip = |name: &str| {
        let x = s.settings.get(name)?;
        Some((x.value.as_ip()?, x.loc))
    };
    ip("source_address")
        .or_else(|| {
            s.settings
                .get("ha_proxy_server")
                .and(ip("ha_proxy_source_address"))
        })
        .or_else(|| {
            s.settings
                .get("socks5_proxy_server")
                .and(ip("socks5_proxy_source_address"))
        })
}

fn ehlo_of(d: &Deployment, s: &Source) -> Option<String> {
    let own = |st: &crate::model::Settings| {
        st.get("ehlo_domain")
            .and_then(|x| x.value.text())
            .map(str::to_string)
    };
    own(&s.settings).or_else(|| {
        d.shaping
            .iter()
            .filter(|b| b.key == crate::model::ShapingKey::Default)
            .find_map(|b| {
                b.shaping
                    .sources
                    .iter()
                    .find(|x| x.name == s.name)
                    .and_then(|x| own(&x.settings))
                    .or_else(|| own(&b.shaping.settings))
            })
    })
}

/// The SPF mechanisms covering exactly `addresses`: runs of consecutive IPv4 addresses as
/// the fewest `ip4:` CIDR blocks (so a pool of a thousand addresses stays one short record),
/// IPv6 addresses one by one.
pub fn spf_networks(addresses: &std::collections::BTreeSet<IpAddr>) -> Vec<String> {
    let mut out = Vec::new();
    let v4: Vec<u32> = addresses
        .iter()
        .filter_map(|a| match a {
            IpAddr::V4(v) => Some(u32::from(*v)),
            IpAddr::V6(_) => None,
        })
        .collect();
    let mut i = 0;
    while i < v4.len() {
        // The run of consecutive addresses starting at v4[i].
        let start = v4[i];
        let mut end = start;
        while i + 1 < v4.len() && v4[i + 1] == end.wrapping_add(1) && v4[i + 1] > end {
            i += 1;
            end = v4[i];
        }
        i += 1;
        // Cover [start, end] with aligned blocks, largest first.
        let mut cur = u64::from(start);
        let last = u64::from(end);
        while cur <= last {
            let align = if cur == 0 {
                32
            } else {
                cur.trailing_zeros().min(32)
            };
            let mut size = align;
            while size > 0 && cur + (1u64 << size) - 1 > last {
                size -= 1;
            }
            let ip = std::net::Ipv4Addr::from(u32::try_from(cur).unwrap_or(u32::MAX));
            if size == 0 {
                out.push(format!("ip4:{ip}"));
            } else {
                out.push(format!("ip4:{ip}/{}", 32 - size));
            }
            cur += 1u64 << size;
        }
    }
    for a in addresses {
        if let IpAddr::V6(v6) = a {
            out.push(format!("ip6:{v6}"));
        }
    }
    out
}

/// The reverse name of an address: `10.113.0.203.in-addr.arpa`, nibbles under `ip6.arpa`.
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut parts = Vec::with_capacity(32);
            for b in v6.octets().iter().rev() {
                parts.push(format!("{:x}", b & 0xf));
                parts.push(format!("{:x}", b >> 4));
            }
            format!("{}.ip6.arpa", parts.join("."))
        }
    }
}

/// The records the deployment needs. `place` names a location (`Provenance::at`).
pub fn needed(d: &Deployment, inputs: &Inputs, place: &dyn Fn(Loc) -> String) -> Needed {
    let ttl = if inputs.ttl == 0 { 3600 } else { inputs.ttl };
    let mut records = Vec::new();
    let mut notes = Vec::new();

    // DKIM
    for k in dkim_keys(d) {
        let key = inputs.keys.get(&(k.domain.clone(), k.selector.clone()));
        let want_k = if k.algorithm == "ed25519" {
            "ed25519"
        } else {
            "rsa"
        };
        let (value, missing) = match key {
            Some(pk) if pk.k == want_k => (Some(format!("v=DKIM1; k={}; p={}", pk.k, pk.p)), None),
            Some(pk) => (
                None,
                Some(format!(
                    "the key of secret {:?} key {:?} is {}, but the domain signs with {}",
                    k.secret, k.key, pk.k, k.algorithm
                )),
            ),
            None => (
                None,
                Some(match &k.vault_path {
                    Some(path) => format!(
                        "no public key: the private key is in Vault at {path:?}; give a copy with `--keys DIR` (as {:?})",
                        k.key
                    ),
                    None => format!(
                        "no public key: give the private key of secret {:?} key {:?} (`--keys DIR`, or `files` in the secret block), or run `kumoc dkim keygen`",
                        k.secret, k.key
                    ),
                }),
            ),
        };
        records.push(Record {
            name: format!("{}._domainkey.{}", k.selector, k.domain),
            ty: Type::Txt,
            value,
            ttl,
            purpose: Purpose::Dkim {
                domain: k.domain.clone(),
                selector: k.selector.clone(),
            },
            place: place(k.loc),
            reverse: false,
            missing,
            loc: k.loc,
        });
    }

    // Egress addresses, for SPF and FCrDNS.
    let mut addresses: std::collections::BTreeSet<IpAddr> = std::collections::BTreeSet::new();
    let mut forward: std::collections::BTreeSet<(String, IpAddr)> =
        std::collections::BTreeSet::new();
    let mut unknown: Vec<&str> = Vec::new();
    for s in &d.sources {
        match egress_address(s) {
            Some((ip, loc)) => {
                addresses.insert(ip);
                if let Some(ehlo) = ehlo_of(d, s) {
                    records.push(Record {
                        name: reverse_name(ip),
                        ty: Type::Ptr,
                        value: Some(ehlo.clone()),
                        ttl,
                        purpose: Purpose::Ptr {
                            address: ip.to_string(),
                            ehlo: ehlo.clone(),
                        },
                        place: place(loc),
                        reverse: true,
                        missing: None,
                        loc,
                    });
                    let ty = if ip.is_ipv4() { Type::A } else { Type::Aaaa };
                    if forward.insert((ehlo.clone(), ip)) {
                        records.push(Record {
                            name: ehlo.clone(),
                            ty,
                            value: Some(ip.to_string()),
                            ttl,
                            purpose: Purpose::Forward {
                                ehlo: ehlo.clone(),
                                address: ip.to_string(),
                            },
                            place: place(loc),
                            reverse: false,
                            missing: None,
                            loc,
                        });
                    }
                }
            }
            None => unknown.push(&s.name),
        }
    }
    addresses.extend(inputs.egress_ips.iter().copied());
    if !unknown.is_empty() {
        notes.push(format!(
            "source(s) {} have no egress address of their own: mail leaves from the node's (NAT) address, which .kumo does not say; {}",
            unknown.join(", "),
            if inputs.egress_ips.is_empty() {
                "pass it with `--egress-ip` so SPF covers it"
            } else {
                "SPF covers the `--egress-ip` addresses given"
            }
        ));
    }
    let spf = if addresses.is_empty() {
        None
    } else {
        let mut s = String::from("v=spf1");
        for net in spf_networks(&addresses) {
            s.push(' ');
            s.push_str(&net);
        }
        s.push_str(" ~all");
        Some(s)
    };
    let dmarc = {
        let mut s = format!(
            "v=DMARC1; p={}",
            inputs.dmarc_policy.as_deref().unwrap_or("none")
        );
        if !inputs.dmarc_rua.is_empty() {
            s.push_str("; rua=");
            s.push_str(&inputs.dmarc_rua.join(","));
        }
        s
    };
    for dom in &d.domains {
        records.push(Record {
            name: dom.name.clone(),
            ty: Type::Txt,
            value: spf.clone(),
            ttl,
            purpose: Purpose::Spf {
                domain: dom.name.clone(),
            },
            place: place(dom.loc),
            reverse: false,
            missing: spf.is_none().then(|| {
                "no egress address is known: set `source_address` (or a proxy and its source address) on the sources, or pass `--egress-ip`".to_string()
            }),
            loc: dom.loc,
        });
        records.push(Record {
            name: format!("_dmarc.{}", dom.name),
            ty: Type::Txt,
            value: Some(dmarc.clone()),
            ttl,
            purpose: Purpose::Dmarc {
                domain: dom.name.clone(),
            },
            place: place(dom.loc),
            reverse: false,
            missing: None,
            loc: dom.loc,
        });
    }
    if let Some(v) = spf.as_ref().filter(|v| v.len() > 450) {
        notes.push(format!(
            "the SPF record is {} bytes: answers over 512 bytes need TCP or EDNS, and some receivers give up; split it with `include:` records",
            v.len()
        ));
    }
    if spf.is_some() {
        notes.push("SPF lists only the addresses of this deployment: if other services send for these domains, merge their mechanisms (`include:...`) into the same record; `kumoc dns --check` checks coverage, not equality".into());
    }
    if inputs.dmarc_policy.is_none() {
        notes.push("DMARC is `p=none` (monitoring): choose `--dmarc-policy quarantine` or `reject` once reports show aligned mail".into());
    }
    if d.domains.is_empty() {
        notes.push("no `domain` blocks: there is no sending domain to publish records for".into());
    }
    records.sort_by(|a, b| (a.reverse, &a.name, a.ty).cmp(&(b.reverse, &b.name, b.ty)));
    Needed {
        deployment: d.name.value.clone(),
        namespace: d.namespace.value.clone(),
        records,
        notes,
    }
}

/// What a snapshot must answer for `kumoc dns --check` to judge everything: each needed
/// record's name and type, and the MX of every `mx_rollup` shaping block's domain (stdlib
/// blocks included: KumoMTA resolves them all at load time), sorted.
pub fn queries(d: &Deployment, n: &Needed) -> Vec<(String, Type)> {
    let mut q: Vec<(String, Type)> = n.records.iter().map(|r| (r.name.clone(), r.ty)).collect();
    for b in &d.shaping {
        if let crate::model::ShapingKey::Domain(dom) = &b.key {
            let rollup = b
                .shaping
                .settings
                .value_or_default(&crate::schema::SHAPING, "mx_rollup")
                .and_then(|v| v.as_bool())
                != Some(false);
            if rollup {
                q.push((dom.clone(), Type::Mx));
            }
        }
    }
    q.sort();
    q.dedup();
    q
}

/// TXT data as zone-file character strings of at most 255 bytes each (RFC 1035 §3.3.14),
/// split anywhere (verifiers concatenate them, RFC 6376 §3.6.2.2), `"` and `\` escaped.
pub fn txt_strings(value: &str) -> Vec<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    while start < bytes.len() || out.is_empty() {
        let mut end = (start + 255).min(bytes.len());
        while end > start && !value.is_char_boundary(end) {
            end -= 1;
        }
        let chunk = value.get(start..end).unwrap_or("");
        let mut q = String::with_capacity(chunk.len() + 2);
        q.push('"');
        for c in chunk.chars() {
            match c {
                '"' | '\\' => {
                    q.push('\\');
                    q.push(c);
                }
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    q.push_str(&format!("\\{:03}", c as u32));
                }
                c => q.push(c),
            }
        }
        q.push('"');
        out.push(q);
        if end == start {
            break;
        }
        start = end;
    }
    out
}

/// The records as a zone-file fragment: the domain's records, then (commented out: they
/// live in the address owner's reverse zone) the PTR records; records kumoc cannot fill in
/// are comments saying what is missing.
pub fn render_zone(n: &Needed) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "; DNS records for deployment {:?}, generated by kumoc dns. Names are absolute.",
        n.deployment
    );
    let mut reverse_header = false;
    for r in &n.records {
        if r.reverse && !reverse_header {
            reverse_header = true;
            let _ = writeln!(
                s,
                "\n; Reverse DNS: these live in the reverse zone of the addresses' owner (your IP\n; provider); ask them to set the PTR to the EHLO name."
            );
        }
        let _ = writeln!(s, "\n; {} ({})", purpose_text(&r.purpose), r.place);
        let prefix = if r.reverse { "; " } else { "" };
        match &r.value {
            None => {
                let _ = writeln!(
                    s,
                    "; {}. {} IN {} ; missing: {}",
                    r.name,
                    r.ttl,
                    r.ty.as_str(),
                    r.missing.as_deref().unwrap_or("unknown")
                );
            }
            Some(v) => {
                let data = match r.ty {
                    Type::Txt => {
                        let parts = txt_strings(v);
                        if parts.len() == 1 {
                            parts.join("")
                        } else {
                            let indent = format!("\n{prefix}    ");
                            format!("({indent}{}\n{prefix})", parts.join(&indent))
                        }
                    }
                    Type::Ptr | Type::Cname => format!("{v}."),
                    Type::Mx => v
                        .split_once(' ')
                        .map_or(v.clone(), |(p, h)| format!("{p} {h}.")),
                    Type::A | Type::Aaaa => v.clone(),
                };
                let _ = writeln!(
                    s,
                    "{prefix}{}. {} IN {} {data}",
                    r.name,
                    r.ttl,
                    r.ty.as_str()
                );
            }
        }
    }
    if !n.notes.is_empty() {
        let _ = writeln!(s);
        for note in &n.notes {
            let _ = writeln!(s, "; note: {note}");
        }
    }
    s
}

fn purpose_text(p: &Purpose) -> String {
    match p {
        Purpose::Dkim { domain, selector } => format!("DKIM key of {domain}, selector {selector}"),
        Purpose::Spf { domain } => format!("SPF of {domain}: the addresses mail leaves from"),
        Purpose::Dmarc { domain } => format!("DMARC policy of {domain}"),
        Purpose::Ptr { address, ehlo } => format!("PTR of {address}: its EHLO name {ehlo}"),
        Purpose::Forward { ehlo, address } => {
            format!("address of the EHLO name {ehlo} (forward-confirmed reverse DNS of {address})")
        }
    }
}

/// The records as JSON (`--format json`).
pub fn render_json(n: &Needed) -> String {
    let mut s = serde_json::to_string_pretty(n).unwrap_or_default();
    s.push('\n');
    s
}

/// The records as one external-dns `DNSEndpoint` (`externaldns.k8s.io/v1alpha1`), YAML. Only
/// records with a value; PTR records too (external-dns manages them with providers that
/// support reverse zones). TXT targets are the whole value: whether a provider splits
/// values over 255 bytes is the provider's business.
pub fn dns_endpoint(n: &Needed) -> serde_json::Value {
    let mut by: BTreeMap<(String, Type), (u32, Vec<String>)> = BTreeMap::new();
    for r in &n.records {
        let Some(v) = &r.value else { continue };
        let e = by
            .entry((r.name.clone(), r.ty))
            .or_insert((r.ttl, Vec::new()));
        if !e.1.contains(v) {
            e.1.push(v.clone());
        }
    }
    let endpoints: Vec<serde_json::Value> = by
        .into_iter()
        .map(|((name, ty), (ttl, targets))| {
            serde_json::json!({
                "dnsName": name,
                "recordType": ty.as_str(),
                "recordTTL": ttl,
                "targets": targets,
            })
        })
        .collect();
    serde_json::json!({
        "apiVersion": "externaldns.k8s.io/v1alpha1",
        "kind": "DNSEndpoint",
        "metadata": {
            "name": format!("{}-dns", n.deployment),
            "namespace": n.namespace,
            "labels": {
                "app.kubernetes.io/name": n.deployment,
                "app.kubernetes.io/managed-by": "kumoc",
            },
        },
        "spec": { "endpoints": endpoints },
    })
}

pub fn render_dns_endpoint(n: &Needed) -> String {
    let v = dns_endpoint(n);
    let mut s = String::from("# DNS records for external-dns, generated by kumoc dns.\n");
    s.push_str(&serde_norway::to_string(&v).unwrap_or_default());
    s
}

/// Base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---- checking what is live ---------------------------------------------------------------

/// What the DNS rules (`Kind::Dns`) check against: the needed records and a snapshot.
pub struct Live<'a> {
    pub needed: &'a Needed,
    pub snapshot: &'a Snapshot,
    /// Whether the `--egress-ip` addresses were given (SPF coverage then includes them).
    pub egress_ips: &'a [IpAddr],
}

/// The tags of a `tag=value; ...` record (DKIM, DMARC), keys lowercased, whitespace removed
/// from values (RFC 6376 §3.2 allows folding whitespace inside `p=`).
pub fn tags(record: &str) -> BTreeMap<String, String> {
    record
        .split(';')
        .filter_map(|t| {
            let (k, v) = t.split_once('=')?;
            Some((
                k.trim().to_ascii_lowercase(),
                v.chars().filter(|c| !c.is_whitespace()).collect(),
            ))
        })
        .collect()
}

/// The TXT records of `name` that start with `prefix` (case-insensitively), or `None` when
/// the snapshot never looked `name` up.
pub fn txt_with(s: &Snapshot, name: &str, prefix: &str) -> Option<Vec<String>> {
    match s.lookup(name, Type::Txt) {
        Answer::NotQueried => None,
        Answer::Records(v) => Some(
            v.into_iter()
                .filter(|r| {
                    r.trim_start()
                        .get(..prefix.len())
                        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
                })
                .collect(),
        ),
    }
}

/// Whether an SPF record authorizes `ip`, following `include:` and `redirect=` through the
/// snapshot (at most 10 lookups, RFC 7208 §4.6.4). `ip4`/`ip6` with prefixes, `a`/`mx`
/// through the snapshot's A/AAAA/MX, `all` qualifiers: `+` passes, anything else does not.
/// `Some(false)` when the record does not pass it; `None` when an include was not looked up.
pub fn spf_passes(s: &Snapshot, domain: &str, record: &str, ip: IpAddr) -> Option<bool> {
    let mut lookups = 0;
    spf_eval(s, domain, record, ip, &mut lookups)
}

fn spf_eval(
    s: &Snapshot,
    domain: &str,
    record: &str,
    ip: IpAddr,
    lookups: &mut u32,
) -> Option<bool> {
    let mut redirect = None;
    for term in record.split_whitespace().skip(1) {
        let (qual, mech) = match term.chars().next() {
            Some(c @ ('+' | '-' | '~' | '?')) => (c, term.get(1..).unwrap_or("")),
            _ => ('+', term),
        };
        let lower = mech.to_ascii_lowercase();
        let hit = if let Some(r) = lower.strip_prefix("redirect=") {
            redirect = Some(r.to_string());
            continue;
        } else if lower == "all" {
            true
        } else if let Some(net) = lower
            .strip_prefix("ip4:")
            .or_else(|| lower.strip_prefix("ip6:"))
        {
            in_net(net, ip)
        } else if let Some(target) = lower.strip_prefix("include:") {
            *lookups += 1;
            if *lookups > 10 {
                return Some(false);
            }
            let recs = txt_with(s, target, "v=spf1")?;
            match recs.first() {
                Some(r) => spf_eval(s, target, r, ip, lookups)?,
                None => false,
            }
        } else if lower == "a" || lower.starts_with("a:") || lower.starts_with("a/") {
            *lookups += 1;
            let name = lower.strip_prefix("a:").unwrap_or(domain);
            host_has(s, name.split('/').next().unwrap_or(name), ip)?
        } else if lower == "mx" || lower.starts_with("mx:") || lower.starts_with("mx/") {
            *lookups += 1;
            let name = lower.strip_prefix("mx:").unwrap_or(domain);
            let hosts = s.mx_hosts(name.split('/').next().unwrap_or(name))?;
            let mut any = false;
            for h in hosts {
                if host_has(s, &h, ip)? {
                    any = true;
                }
            }
            any
        } else {
            // exists:, ptr and unknown mechanisms never match here.
            false
        };
        if hit {
            return Some(qual == '+');
        }
    }
    if let Some(r) = redirect {
        *lookups += 1;
        let recs = txt_with(s, &r, "v=spf1")?;
        return match recs.first() {
            Some(rec) => spf_eval(s, &r, rec, ip, lookups),
            None => Some(false),
        };
    }
    Some(false)
}

fn host_has(s: &Snapshot, host: &str, ip: IpAddr) -> Option<bool> {
    let ty = if ip.is_ipv4() { Type::A } else { Type::Aaaa };
    match s.lookup(host, ty) {
        Answer::NotQueried => None,
        Answer::Records(v) => Some(v.iter().any(|a| a.parse::<IpAddr>().ok() == Some(ip))),
    }
}

fn in_net(net: &str, ip: IpAddr) -> bool {
    let (addr, len) = match net.split_once('/') {
        Some((a, l)) => (a, l.parse::<u8>().ok()),
        None => (net, None),
    };
    match (addr.parse::<IpAddr>(), ip) {
        (Ok(IpAddr::V4(n)), IpAddr::V4(i)) => {
            let len = u32::from(len.unwrap_or(32).min(32));
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            (u32::from(n) & mask) == (u32::from(i) & mask)
        }
        (Ok(IpAddr::V6(n)), IpAddr::V6(i)) => {
            let len = u32::from(len.unwrap_or(128).min(128));
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            (u128::from(n) & mask) == (u128::from(i) & mask)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn txt_strings_are_at_most_255_bytes_and_concatenate_back() {
        for len in [0, 1, 254, 255, 256, 392, 510, 511, 1000] {
            let v: String = (0..len)
                .map(|i| if i % 7 == 0 { '"' } else { 'a' })
                .collect();
            let parts = txt_strings(&v);
            let snap = Snapshot::parse(&format!("x. IN TXT ( {} )", parts.join(" "))).unwrap();
            assert_eq!(
                snap.lookup("x", Type::Txt),
                Answer::Records(vec![v.clone()])
            );
            for p in &parts {
                let unescaped = p.len() - 2 - p.matches("\\\"").count();
                assert!(unescaped <= 255, "{len}: {unescaped}");
            }
        }
    }

    #[test]
    fn spf_follows_includes_and_prefixes() {
        let snap = Snapshot::parse(
            "example.com. IN TXT \"v=spf1 include:_spf.example.net -all\"\n\
             _spf.example.net. IN TXT \"v=spf1 ip4:203.0.113.0/28 ip6:2001:db8::/32 ~all\"\n\
             other.com. IN TXT \"v=spf1 a:mail.other.com -all\"\n\
             mail.other.com. IN A 198.51.100.7\n",
        )
        .unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let rec = "v=spf1 include:_spf.example.net -all";
        assert_eq!(
            spf_passes(&snap, "example.com", rec, ip("203.0.113.10")),
            Some(true)
        );
        assert_eq!(
            spf_passes(&snap, "example.com", rec, ip("203.0.113.16")),
            Some(false)
        );
        assert_eq!(
            spf_passes(&snap, "example.com", rec, ip("2001:db8::1")),
            Some(true)
        );
        assert_eq!(
            spf_passes(&snap, "example.com", rec, ip("2001:db9::1")),
            Some(false),
            "~all inside an include is not a pass"
        );
        assert_eq!(
            spf_passes(
                &snap,
                "other.com",
                "v=spf1 a:mail.other.com -all",
                ip("198.51.100.7")
            ),
            Some(true)
        );
        assert_eq!(
            spf_passes(
                &snap,
                "x.com",
                "v=spf1 ip6:2001:db8::/32 -all",
                ip("2001:db8::1")
            ),
            Some(true)
        );
    }

    /// The networks cover exactly the addresses, over every subset of a window of 12
    /// addresses placed across a /24 boundary (4,096 sets).
    #[test]
    fn spf_networks_cover_exactly_the_addresses() {
        let base = u32::from(std::net::Ipv4Addr::new(10, 0, 0, 250));
        for mask in 0u32..4096 {
            let set: std::collections::BTreeSet<IpAddr> = (0..12)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| IpAddr::V4(std::net::Ipv4Addr::from(base + i)))
                .collect();
            let nets = spf_networks(&set);
            for i in 0..12u32 {
                let ip = IpAddr::V4(std::net::Ipv4Addr::from(base + i - 4 + 4));
                let covered = nets
                    .iter()
                    .any(|n| in_net(n.strip_prefix("ip4:").unwrap_or(n), ip));
                assert_eq!(covered, set.contains(&ip), "{mask:b}: {nets:?}");
            }
            // Just outside the window: never covered.
            for ip in [base - 1, base + 12] {
                let ip = IpAddr::V4(std::net::Ipv4Addr::from(ip));
                assert!(
                    !nets
                        .iter()
                        .any(|n| in_net(n.strip_prefix("ip4:").unwrap_or(n), ip))
                );
            }
        }
        let all: std::collections::BTreeSet<IpAddr> = (0..1024u32)
            .map(|i| {
                IpAddr::V4(std::net::Ipv4Addr::from(
                    u32::from(std::net::Ipv4Addr::new(10, 0, 4, 0)) + i,
                ))
            })
            .collect();
        assert_eq!(spf_networks(&all), vec!["ip4:10.0.4.0/22".to_string()]);
    }

    #[test]
    fn reverse_names() {
        assert_eq!(
            reverse_name("203.0.113.10".parse().unwrap()),
            "10.113.0.203.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }
}
