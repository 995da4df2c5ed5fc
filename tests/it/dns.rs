//! `kumoc dns` and `kumoc dkim keygen`: the records of the example and of
//! `tests/fixtures/dns` (a deployment with RSA and Ed25519 keys, two egress addresses and
//! MX-dependent shaping blocks), read back by real consumers: the zone fragment by the
//! snapshot parser (as a resolver would see it), the DNSEndpoint by external-dns's CRD
//! schema, the DKIM `p=` by the `rsa` crate's SubjectPublicKeyInfo decoder, and the DNS
//! rules against recorded snapshots.

use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};
use kumoc_compiler::dns::{self, Answer, Inputs, Snapshot, Type};
use kumoc_compiler::emit::{Places, Provenance};
use kumoc_compiler::{Options, Severity};
use serde_json::Value;

use crate::support::{analyze_fixture, root};

fn kumoc() -> Command {
    let mut c = Command::new(get_cargo_bin("kumoc"));
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    c
}

const FIXTURE: &str = "tests/fixtures/dns";

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kumoc-dns-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn dns_records_of_the_fixture_and_the_example() {
    assert_cmd_snapshot!("dns_fixture_zone", kumoc().args(["dns", FIXTURE]));
    assert_cmd_snapshot!(
        "dns_fixture_endpoint",
        kumoc().args([
            "dns",
            FIXTURE,
            "--format",
            "dns-endpoint",
            "--dmarc-policy",
            "reject",
            "--dmarc-rua",
            "mailto:dmarc@example.com",
        ])
    );
    // No keys and no egress address: the records kumoc cannot fill in say what is missing.
    assert_cmd_snapshot!(
        "dns_example_zone",
        kumoc().args(["dns", "examples/example-com"])
    );
    assert_cmd_snapshot!(
        "dns_example_zone_with_egress_ip",
        kumoc().args([
            "dns",
            "examples/example-com",
            "--egress-ip",
            "203.0.113.10",
            "--ttl",
            "300"
        ])
    );
    assert_cmd_snapshot!(
        "dns_fixture_queries",
        kumoc().args(["dns", FIXTURE, "--queries"])
    );
}

fn needed(path: &str, inputs: &Inputs) -> (kumoc_compiler::Analysis, dns::Needed) {
    let a = analyze_fixture(&root().join(path), &Options::default());
    assert!(!a.has_errors(), "{}", crate::support::human(&a));
    let places = Places::new(&a.sources, &a.parses);
    let prov = Provenance::new(&places, true);
    let n = dns::needed(a.model.as_ref().unwrap(), inputs, &|l| prov.at(l));
    (a, n)
}

/// The fixture's keys, as `kumoc dns` reads them (through the binary's JSON output).
fn fixture_json() -> Value {
    let out = kumoc()
        .args(["dns", FIXTURE, "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What a resolver would answer from the zone fragment is exactly each needed record; and
/// the zone, taken as the live DNS, passes every DNS rule but the reverse-DNS one (the PTR
/// records are comments: they live in another zone).
#[test]
fn dns_zone_fragment_reads_back_and_passes_its_own_check() {
    for (path, egress) in [
        (FIXTURE, vec![]),
        (
            "examples/example-com",
            vec!["203.0.113.10".parse().unwrap()],
        ),
        ("tests/fixtures/lints/clean.kumo", vec![]),
    ] {
        let mut inputs = Inputs {
            egress_ips: egress.clone(),
            ..Default::default()
        };
        if path == FIXTURE {
            for r in fixture_json()["records"].as_array().unwrap() {
                if r["purpose"]["kind"] == "dkim" {
                    let v = r["value"].as_str().unwrap();
                    let t = dns::tags(v);
                    let k = if t["k"] == "rsa" { "rsa" } else { "ed25519" };
                    inputs.keys.insert(
                        (
                            r["purpose"]["domain"].as_str().unwrap().to_string(),
                            r["purpose"]["selector"].as_str().unwrap().to_string(),
                        ),
                        dns::PublicKey {
                            k,
                            p: t["p"].clone(),
                            bits: 0,
                        },
                    );
                }
            }
        }
        // Keys kumoc was not given: any key will do, the check compares what is published
        // with what is needed.
        for r in &needed(path, &inputs).1.records {
            if let dns::Purpose::Dkim { domain, selector } = &r.purpose {
                inputs
                    .keys
                    .entry((domain.clone(), selector.clone()))
                    .or_insert(dns::PublicKey {
                        k: "rsa",
                        p: "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".into(),
                        bits: 2048,
                    });
            }
        }
        let (a, n) = needed(path, &inputs);
        let zone = dns::render_zone(&n);
        let snap = Snapshot::parse(&zone).unwrap_or_else(|e| panic!("{path}: {e:?}\n{zone}"));
        for r in &n.records {
            let want = match (&r.value, r.reverse) {
                (Some(v), false) => v,
                _ => continue,
            };
            let got = snap.lookup(&r.name, r.ty);
            let want = match r.ty {
                Type::A | Type::Aaaa | Type::Ptr => want.to_ascii_lowercase(),
                _ => want.clone(),
            };
            assert_eq!(got, Answer::Records(vec![want]), "{path}: {}", r.name);
        }
        for line in zone.lines() {
            // Every quoted string is at most 255 bytes (RFC 1035).
            for part in line.split('"').skip(1).step_by(2) {
                assert!(part.len() <= 255, "{path}: {line}");
            }
        }
        let live = dns::Live {
            needed: &n,
            snapshot: &snap,
            egress_ips: &egress,
        };
        let found =
            kumoc_compiler::lints::run_dns(a.model.as_ref().unwrap(), &a.sources, &a.parses, &live);
        let codes: Vec<&str> = found
            .iter()
            .map(|d| d.code)
            .filter(|c| *c != "KUMO-DNS005")
            .collect();
        assert!(codes.is_empty(), "{path}: {codes:?}");
    }
}

/// The DKIM `p=` of the fixture's RSA key is its SubjectPublicKeyInfo: decoded by the `rsa`
/// crate, it is the private key's public half. The Ed25519 one is the raw 32-byte key.
#[test]
fn dns_dkim_public_keys_are_the_private_keys_public_halves() {
    use rsa::pkcs1::DecodeRsaPrivateKey as _;
    use rsa::pkcs8::DecodePublicKey as _;
    let v = fixture_json();
    let rec = |sel: &str| -> String {
        let r = v["records"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["purpose"]["selector"] == sel)
            .unwrap();
        dns::tags(r["value"].as_str().unwrap())["p"].clone()
    };
    let der = base64_decode(&rec("s2048"));
    let public = rsa::PublicKey::from_public_key_der(&der).unwrap();
    let pem =
        std::fs::read_to_string(root().join(FIXTURE).join("keys/example.com.s2048.key")).unwrap();
    let private = rsa::PrivateKey::from_pkcs1_pem(&pem).unwrap();
    assert_eq!(public, private.to_public_key());
    assert_eq!(base64_decode(&rec("ed1")).len(), 32);
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::new();
    for chunk in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        for i in 0..chunk.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

/// The DNSEndpoint validates against external-dns's CRD schema (strict), and its CEL rules
/// hold (PTR names under in-addr.arpa without a trailing dot, dnsName length).
#[test]
fn dns_endpoint_is_a_valid_dnsendpoint() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            root().join("tests/schemas/external-dns/dnsendpoint-externaldns-v1alpha1.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    // The schema can fail: an unknown field and a bad record type are refused.
    assert!(!validator.is_valid(&serde_json::json!({
        "apiVersion": "externaldns.k8s.io/v1alpha1", "kind": "DNSEndpoint",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {"endpoints": [{"dnsName": "a.example.com", "recordType": "SPF", "ttl": 1}]}
    })));
    for (path, args) in [
        (FIXTURE, vec![]),
        ("examples/example-com", vec!["--egress-ip", "203.0.113.10"]),
    ] {
        let out = kumoc()
            .args(["dns", path, "--format", "dns-endpoint"])
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
        let obj: Value = serde_norway::from_slice(&out.stdout).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&obj)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{path}:\n{}", errors.join("\n"));
        for e in obj["spec"]["endpoints"].as_array().unwrap() {
            let name = e["dnsName"].as_str().unwrap();
            assert!(name.len() <= 253, "{name}");
            if e["recordType"] == "PTR" {
                assert!(name.ends_with(".in-addr.arpa") || name.ends_with(".ip6.arpa"));
            }
        }
    }
}

/// The DNS rules against recorded snapshots: everything live finds nothing; a snapshot
/// with one problem per rule finds each (snapshotted), and exits 1 for the errors.
#[test]
fn dns_check_snapshots() {
    let out = kumoc()
        .args([
            "dns",
            FIXTURE,
            "--check",
            "tests/fixtures/dns/live-good.zone",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_cmd_snapshot!(
        "dns_check_bad",
        kumoc().args([
            "dns",
            FIXTURE,
            "--check",
            "tests/fixtures/dns/live-bad.zone"
        ])
    );
    let out = kumoc()
        .args([
            "dns",
            FIXTURE,
            "--check",
            "tests/fixtures/dns/live-bad.zone",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    codes.sort();
    codes.dedup();
    // Every DNS rule of the catalog fires on the bad snapshot.
    let mut dns_rules: Vec<&str> = kumoc_compiler::lints::RULES
        .iter()
        .filter(|r| matches!(r.kind, kumoc_compiler::lints::Kind::Dns(_)))
        .map(|r| r.code)
        .collect();
    dns_rules.sort();
    assert_eq!(codes, dns_rules);
    // A malformed snapshot is refused with its line.
    let dir = scratch("bad-snapshot");
    std::fs::write(
        dir.join("s.zone"),
        "example.com. IN MX ten mx.example.com.\n",
    )
    .unwrap();
    let out = kumoc()
        .args(["dns", FIXTURE, "--check"])
        .arg(dir.join("s.zone"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s.zone:1: MX data"));
}

/// A DNS finding can be suppressed where it is reported, with a reason; `kumoc check` does
/// not call such a suppression unused (it cannot run DNS rules).
#[test]
fn dns_findings_are_suppressible() {
    let dir = scratch("suppress");
    let text = std::fs::read_to_string(root().join(FIXTURE).join("mail.kumo"))
        .unwrap()
        .replace(
            "shaping \"nullmx.example.com\" {",
            "// kumoc-allow(KUMO-SHP003): kept for when the domain gets mail again\nshaping \"nullmx.example.com\" {",
        );
    std::fs::write(dir.join("mail.kumo"), text).unwrap();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    for k in ["example.com.s2048.key", "example.net.ed1.key"] {
        std::fs::copy(
            root().join(FIXTURE).join("keys").join(k),
            dir.join("keys").join(k),
        )
        .unwrap();
    }
    let out = kumoc()
        .arg("dns")
        .arg(&dir)
        .args([
            "--check",
            "tests/fixtures/dns/live-bad.zone",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !v.as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "KUMO-SHP003")
    );
    let a = analyze_fixture(&dir, &Options::default());
    assert!(
        !a.diagnostics.iter().any(|d| d.code == "K3001"),
        "{}",
        crate::support::human(&a)
    );
    assert!(!a.diagnostics.iter().any(|d| d.severity == Severity::Error));
}

/// `kumoc dkim keygen` writes each key where its Secret is built from, mode 0600, keeps an
/// existing key without `--force`, never prints key material, and `kumoc dns` and
/// `kumoc build --secrets` then use the new keys.
#[test]
fn dkim_keygen_writes_keys_where_the_secret_expects_them() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("keygen");
    std::fs::copy(
        root().join(FIXTURE).join("mail.kumo"),
        dir.join("mail.kumo"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        kumoc()
            .args(["dkim", "keygen"])
            .arg(&dir)
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let mut firsts = Vec::new();
    for k in ["example.com.s2048.key", "example.net.ed1.key"] {
        let path = dir.join("keys").join(k);
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{k}");
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{k}");
        // No line of the private key appears in the output.
        for line in pem.lines().filter(|l| !l.starts_with("-----")) {
            assert!(
                !stdout.contains(line) && !stderr.contains(line),
                "{k} leaked"
            );
        }
        firsts.push(pem);
    }
    assert!(stdout.contains("s2048._domainkey.example.com. 3600 IN TXT ("));
    assert!(stdout.contains("ed1._domainkey.example.net. 3600 IN TXT \"v=DKIM1; k=ed25519; p="));
    // The printed records are the keys' records.
    let dns_out = kumoc().arg("dns").arg(&dir).output().unwrap();
    let zone = String::from_utf8_lossy(&dns_out.stdout);
    for line in stdout
        .lines()
        .filter(|l| l.contains("v=DKIM1") || l.trim_start().starts_with('"'))
    {
        assert!(zone.contains(line), "{line}");
    }
    // Again: kept.
    let out = run(&[]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("kept"));
    for (k, first) in ["example.com.s2048.key", "example.net.ed1.key"]
        .iter()
        .zip(&firsts)
    {
        assert_eq!(
            &std::fs::read_to_string(dir.join("keys").join(k)).unwrap(),
            first
        );
    }
    // --force: new keys.
    let out = run(&["--force"]);
    assert!(out.status.success());
    for (k, first) in ["example.com.s2048.key", "example.net.ed1.key"]
        .iter()
        .zip(&firsts)
    {
        assert_ne!(
            &std::fs::read_to_string(dir.join("keys").join(k)).unwrap(),
            first
        );
    }
    // `kumoc build --secrets` builds the Secret from them.
    let out_dir = dir.join("out");
    let out = kumoc()
        .arg("build")
        .arg(&dir)
        .arg("-o")
        .arg(&out_dir)
        .arg("--secrets")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_dir(out_dir.join("secrets")).unwrap().count() > 0);
}

/// A secret without `files` and no `--dir`: keygen refuses, naming the fix, and writes
/// nothing.
#[test]
fn dkim_keygen_needs_a_place_for_the_key() {
    let out = kumoc()
        .args(["dkim", "keygen", "examples/example-com"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("add `files {"));
}

/// The `--help` of the day-two commands, for review.
#[test]
fn dns_route_graph_help() {
    for (name, args) in [
        ("help_dns", vec!["dns", "--help"]),
        ("help_dkim_keygen", vec!["dkim", "keygen", "--help"]),
        ("help_route", vec!["route", "--help"]),
        ("help_graph", vec!["graph", "--help"]),
    ] {
        assert_cmd_snapshot!(name, kumoc().args(&args).env("COLUMNS", "100"));
    }
}
