//! KumoMTA releases: every release kumoc names exists, every claim about one is true, value
//! grammars follow the declared release, and `kumomta` / `image` name images that exist.
//!
//! The release table is `kumoc_lang::units::RELEASES` (KumoMTA's published tags and the
//! humantime each ships) with `Feature` (what each release introduced). Four classes are held
//! to it:
//!
//! * every release written anywhere a user reads (docs, explanations, rule docs, schema
//!   docs, the `since` of every field, value and block) is a published release;
//! * every version gate in the code reads the table: no code compares a version with a date
//!   of its own, and every feature of the table is read by some gate;
//! * every diagnostic that names a release says something true: "needs X or later" and
//!   "raise `kumomta` to X" point to a release newer than the one the deployment runs,
//!   "this deployment runs V" is the declared release; checked on every fixture and on
//!   gated descriptions built for every release of the table;
//! * a duration string is accepted exactly when the declared release's humantime reads it.

use std::collections::BTreeSet;
use std::path::Path;

use kumoc_compiler::{Analysis, Options, analyze};
use kumoc_lang::units::{self, HumantimeFlavor, KumoVersion, RELEASES};

use crate::support::*;

/// `YYYY.MM.DD`, and the 8-hex commit after it when there is one, for every release-like
/// mention in `text`.
fn mentions(text: &str) -> Vec<(String, Option<String>)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 10 <= b.len() {
        let d = |k: usize| b[i + k].is_ascii_digit();
        let shape = d(0)
            && d(1)
            && d(2)
            && d(3)
            && b[i + 4] == b'.'
            && d(5)
            && d(6)
            && b[i + 7] == b'.'
            && d(8)
            && d(9);
        let boundary = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.');
        if shape && boundary && text[i..].starts_with("20") {
            let date = text[i..i + 10].to_string();
            let rest = &text[i + 10..];
            let commit = rest.strip_prefix('-').and_then(|r| {
                let hex: String = r
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                    .collect();
                let next = r[hex.len()..].chars().next();
                (hex.len() == 8 && !next.is_some_and(|c| c.is_ascii_alphanumeric())).then_some(hex)
            });
            out.push((date, commit));
            i += 10;
        } else {
            i += 1;
        }
    }
    out
}

/// Mentions that are not published releases, with where they were found. A mention of what
/// the user wrote (`quoted`: their source) is a quote, not a claim.
fn unpublished(where_: &str, text: &str, quoted: &str, bad: &mut Vec<String>) {
    for (date, commit) in mentions(text) {
        let written = match &commit {
            Some(c) => format!("{date}-{c}"),
            None => date.clone(),
        };
        if !quoted.is_empty() && quoted.contains(&written) {
            continue;
        }
        let Some(r) = RELEASES.iter().find(|r| r.date() == date) else {
            bad.push(format!(
                "{where_}: {date} is not the date of a KumoMTA release"
            ));
            continue;
        };
        if let Some(c) = commit {
            if r.tag != format!("{date}-{c}") {
                bad.push(format!(
                    "{where_}: {date}-{c} is not a published tag (that release is {})",
                    r.tag
                ));
            }
        }
    }
}

fn walk_schema(
    b: &'static kumoc_compiler::schema::BlockSchema,
    seen: &mut BTreeSet<&'static str>,
    out: &mut Vec<(String, String)>,
) {
    if !seen.insert(b.keyword) && b.keyword != "source" {
        return;
    }
    out.push((format!("block `{}`", b.keyword), b.doc.to_string()));
    if let Some(s) = b.since {
        out.push((
            format!("since of block `{}`", b.keyword),
            s.introduced_in().to_string(),
        ));
    }
    for f in b.all_fields() {
        out.push((
            format!("field `{}.{}`", b.keyword, f.name),
            f.doc.to_string(),
        ));
        if let Some(s) = f.since {
            out.push((
                format!("since of `{}.{}`", b.keyword, f.name),
                s.introduced_in().to_string(),
            ));
        }
        if let kumoc_compiler::schema::Ty::Enum(vs) = &f.ty {
            for v in vs.iter() {
                out.push((format!("value `{}`", v.name), v.doc.to_string()));
                if let Some(s) = v.since {
                    out.push((
                        format!("since of `{}`", v.name),
                        s.introduced_in().to_string(),
                    ));
                }
            }
        }
    }
    for c in b.children {
        walk_schema(c, seen, out);
    }
}

/// Every text a user reads outside diagnostics: the schema (docs and `since`), the
/// explanations of the codes, the rule docs, the docs directory, README, stdlib, examples.
fn user_facing_texts() -> Vec<(String, String)> {
    let mut out = Vec::new();
    walk_schema(
        &kumoc_compiler::schema::ROOT,
        &mut BTreeSet::new(),
        &mut out,
    );
    for a in kumoc_compiler::schema::ACTIONS {
        out.push((format!("action `{}`", a.name), a.doc.to_string()));
        if let Some(s) = a.since {
            out.push((
                format!("since of action `{}`", a.name),
                s.introduced_in().to_string(),
            ));
        }
    }
    for c in kumoc_compiler::codes::CODES {
        out.push((
            format!("explain {}", c.code),
            format!("{}\n{}", c.summary, c.explanation),
        ));
    }
    for r in kumoc_compiler::lints::RULES {
        out.push((
            format!("rule {}", r.code),
            format!("{}\n{}", r.summary, r.doc),
        ));
    }
    fn files(dir: &Path, out: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                files(&p, out);
            } else if let Ok(text) = std::fs::read_to_string(&p) {
                out.push((p.display().to_string(), text));
            }
        }
    }
    for entry in ["docs", "stdlib", "examples", "editors"] {
        files(&root().join(entry), &mut out);
    }
    for f in [
        "README.md",
        "ARCHITECTURE.md",
        "CONTRIBUTING.md",
        "src/init.rs",
    ] {
        let p = root().join(f);
        out.push((f.to_string(), std::fs::read_to_string(p).unwrap()));
    }
    out
}

#[test]
fn every_release_named_to_users_is_published() {
    let mut bad = Vec::new();
    let texts = user_facing_texts();
    assert!(texts.len() > 100);
    for (where_, text) in &texts {
        unpublished(where_, text, "", &mut bad);
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// Every version gate reads the release table (`kumoc_lang::units::Feature`, asked through
/// `KumoVersion::supports`): no code of the compiler, the language server or the CLI
/// compares a version with a date of its own (`KumoVersion::date(2025, 1, 23)`,
/// `.since(2025, 1, 23)`, `(2025, 1, 23)`), so which release introduced what is written once;
/// and every feature of the table is read by some gate (a row nobody reads is a fact nobody
/// checks).
#[test]
fn every_gate_reads_the_release_table() {
    fn rs_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rs_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    /// `(YYYY, M, D)`, spaces allowed, at the start of `s`.
    fn date_tuple(s: &str) -> Option<&str> {
        let inner = s.strip_prefix('(')?;
        let end = inner.find(')')?;
        let parts: Vec<&str> = inner[..end].split(',').map(str::trim).collect();
        let digits = |p: &str, n: std::ops::RangeInclusive<usize>| {
            n.contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit())
        };
        match parts[..] {
            [y, m, d]
                if digits(y, 4..=4)
                    && y.starts_with("20")
                    && digits(m, 1..=2)
                    && digits(d, 1..=2) =>
            {
                Some(&s[..end + 2])
            }
            _ => None,
        }
    }
    let mut files = Vec::new();
    for dir in ["compiler/src", "lsp/src", "src"] {
        rs_files(&root().join(dir), &mut files);
    }
    let mut bad = Vec::new();
    let mut text = String::new();
    for f in &files {
        let source = std::fs::read_to_string(f).unwrap();
        for (at, _) in source.match_indices('(') {
            if let Some(date) = date_tuple(&source[at..]) {
                let line = source[..at].lines().count();
                bad.push(format!(
                    "{}:{line}: `{date}` is a release date in code: name a `Feature` (lang/src/units/release.rs) instead",
                    f.display()
                ));
            }
        }
        text.push_str(&source);
    }
    let mut uses = 0;
    for feature in units::Feature::ALL {
        let name = format!("Feature::{feature:?}");
        let n = text
            .match_indices(&name)
            .filter(|(at, _)| {
                !text[at + name.len()..].starts_with(|c: char| c.is_ascii_alphanumeric())
            })
            .count();
        if n == 0 {
            bad.push(format!(
                "{name} ({}) is read by no gate",
                feature.introduced_in()
            ));
        }
        uses += n;
    }
    assert!(
        uses > 30,
        "only {uses} gates found: the scan lost its inputs"
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A deployment's files, as `analyze` takes them.
type Files = Vec<(String, Vec<u8>)>;

/// The release a case declares, read from its `kumomta = "..."`.
fn declared(files: &[(String, Vec<u8>)]) -> Option<KumoVersion> {
    for (_, bytes) in files {
        let text = String::from_utf8_lossy(bytes);
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("kumomta") {
                let v = rest.trim_start().strip_prefix('=')?.trim();
                let v = v.strip_prefix('"')?;
                let v = &v[..v.find('"')?];
                return units::parse_version(v).ok();
            }
        }
    }
    None
}

/// Claims a diagnostic makes about releases that are false for the deployment `ver`.
fn false_claims(name: &str, a: &Analysis, ver: Option<&KumoVersion>, bad: &mut Vec<String>) {
    let source: String = a
        .user_files()
        .map(|(_, f)| f.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for d in &a.diagnostics {
        let mut texts = vec![d.message.clone()];
        texts.extend(d.help.clone());
        texts.extend(d.notes.clone());
        texts.extend(d.labels.iter().map(|l| l.message.clone()));
        if let Some(f) = &d.fix {
            texts.push(f.title.clone());
        }
        for t in &texts {
            let where_ = format!("{name}: {} `{}`", d.code, t);
            unpublished(&where_, t, &source, bad);
            let Some(ver) = ver else { continue };
            // "needs KumoMTA X or later", "raise `kumomta` ... to X or later", "upgrade to a
            // release from X or later": X must be ahead of the deployment's release.
            for cue in ["needs KumoMTA ", " to ", "release from "] {
                for (at, _) in t.match_indices(cue) {
                    let after = &t[at + cue.len()..];
                    let Some((date, _)) = mentions(after).into_iter().next() else {
                        continue;
                    };
                    if !after.starts_with(&date) || !after[10..].contains("or later") {
                        continue;
                    }
                    let p: Vec<u16> = date.split('.').map(|x| x.parse().unwrap()).collect();
                    let x = KumoVersion::date(p[0], p[1] as u8, p[2] as u8);
                    if (x.year, x.month, x.day) <= (ver.year, ver.month, ver.day) {
                        bad.push(format!(
                            "{where_}: asks for {date} or later, but the deployment already runs {ver}"
                        ));
                    }
                }
            }
            if let Some(at) = t.find("this deployment runs ") {
                let said = &t[at + "this deployment runs ".len()..];
                if !said.starts_with(&ver.to_string()) {
                    bad.push(format!("{where_}: the deployment runs {ver}"));
                }
            }
        }
    }
}

/// `files` with the `kumomta` value replaced.
fn on_release(files: &[(String, Vec<u8>)], tag: &str) -> Vec<(String, Vec<u8>)> {
    files
        .iter()
        .map(|(n, b)| {
            let text = String::from_utf8_lossy(b);
            let out: Vec<String> = text
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("kumomta") && l.contains('=') {
                        let indent = &l[..l.len() - l.trim_start().len()];
                        format!("{indent}kumomta = \"{tag}\"")
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            (n.clone(), format!("{}\n", out.join("\n")).into_bytes())
        })
        .collect()
}

/// Gated things, written into the example: each needs some release.
const GATED: &str = r#"
queue "gated.example" {
  max_age        = "1.5h"
  retry_interval = "0"
}
shaping "gated.example" {
  connection_limit       = local:5
  max_message_rate       = 100/s,max_burst=10
  system_shutdown_timeout = "2 wks"
  ip_lookup_strategy     = ipv4_only
  additional_source_selection_rates {
    "warmup" = 10/h
  }
}
"#;

#[test]
fn every_release_claim_in_a_diagnostic_is_true() {
    let mut bad = Vec::new();
    let mut cases: Vec<(String, Files)> = Vec::new();
    for dir in [
        "tests/fixtures/check",
        "tests/fixtures/lints",
        "tests/fixtures/lints/cases",
    ] {
        // `lints/cases/` holds one deployment per file, like `lints/`.
        for path in fixtures(dir).into_iter().filter(|p| !p.ends_with("cases")) {
            cases.push((path.display().to_string(), fixture_files(&path)));
        }
    }
    // The example and the K2008 fixture on every release, with gated things added.
    let example = fixture_files(&root().join("examples/example-com"));
    let k2008 =
        fixture_files(&root().join("tests/fixtures/check/K2008_requires_newer_kumomta.kumo"));
    for r in RELEASES
        .iter()
        .filter(|r| !r.version().predates(units::OLDEST_SUPPORTED))
    {
        let mut ex = on_release(&example, r.tag);
        ex.push(("gated.kumo".to_string(), GATED.as_bytes().to_vec()));
        cases.push((format!("example + gated on {}", r.tag), ex));
        cases.push((format!("K2008 on {}", r.tag), on_release(&k2008, r.tag)));
    }
    let mut claims = 0;
    for (name, files) in &cases {
        let a = analyze(files, &Options::default());
        claims += a
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("needs KumoMTA"))
            .count();
        false_claims(name, &a, declared(files).as_ref(), &mut bad);
    }
    assert!(claims > 20, "only {claims} release claims seen");
    bad.sort();
    bad.dedup();
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// A duration string is accepted exactly when the declared release's humantime reads it:
/// on every release of the table, for strings that differ between humantime 2.2 and 2.3.
#[test]
fn duration_strings_follow_the_declared_release() {
    let example = fixture_files(&root().join("examples/example-com"));
    for r in RELEASES
        .iter()
        .filter(|r| !r.version().predates(units::OLDEST_SUPPORTED))
    {
        for s in [
            "1.5h",
            "0",
            "2 wks",
            "10yr",
            "90 minutes",
            "1h 30m",
            "2.5 days",
            "1.25s",
        ] {
            let mut files = on_release(&example, r.tag);
            files.push((
                "d.kumo".to_string(),
                format!("queue \"d.example\" {{\n  max_age = \"{s}\"\n}}\n").into_bytes(),
            ));
            let a = analyze(&files, &Options::default());
            let refused: Vec<&str> = a
                .diagnostics
                .iter()
                .filter(|d| d.severity == kumoc_compiler::Severity::Error)
                .map(|d| d.code)
                .collect();
            let reads = units::parse_humantime(s, r.humantime).is_ok();
            assert_eq!(
                refused.is_empty(),
                reads,
                "{} ({:?}) and {s:?}: {refused:?}\n{}",
                r.tag,
                r.humantime,
                human(&a)
            );
            if !reads {
                assert_eq!(refused, ["K2008"], "{}: {s:?}", r.tag);
            }
        }
    }
    // The flavours really differ on these, and the newer reads more.
    assert!(units::parse_humantime("1.5h", HumantimeFlavor::V2_2).is_err());
    assert!(units::parse_humantime("1.5h", HumantimeFlavor::V2_3).is_ok());
}

fn example_with(dep_line: (&str, &str)) -> Vec<(String, Vec<u8>)> {
    fixture_files(&root().join("examples/example-com"))
        .into_iter()
        .map(|(n, b)| {
            let text = String::from_utf8(b).unwrap();
            (n, text.replacen(dep_line.0, dep_line.1, 1).into_bytes())
        })
        .collect()
}

const DIGEST: &str = "sha256:0f3c0c1a2b3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7";

/// `image` may pin a digest, the strongest pin: accepted, and kept in every pod's image.
#[test]
fn an_image_digest_is_kept() {
    let release = "kumomta     = \"2025.03.19-1d3f1f67\"";
    for image in [
        format!("ghcr.io/kumocorp/kumomta@{DIGEST}"),
        format!("registry.example.com:5000/mirror/kumomta@{DIGEST}"),
    ] {
        let files = example_with((release, &format!("{release}\n  image = \"{image}\"")));
        let a = analyze(&files, &Options::default());
        assert!(a.diagnostics.is_empty(), "{image}:\n{}", human(&a));
        let out = a.emit().expect("output");
        let repo = image.split('@').next().unwrap();
        let want = format!("image: {repo}:2025.03.19-1d3f1f67@{DIGEST}");
        let pods: Vec<&String> = out
            .files
            .iter()
            .filter(|(p, _)| p.starts_with("k8s/"))
            .map(|(_, c)| c)
            .filter(|c| c.contains("image:"))
            .collect();
        assert!(!pods.is_empty());
        for c in pods {
            for line in c.lines().filter(|l| l.trim_start().starts_with("image:")) {
                assert_eq!(line.trim(), want, "{image}");
            }
        }
    }
    // A tag next to the digest is reported (the tag comes from `kumomta`); the fix keeps
    // the digest.
    let files = example_with((
        release,
        &format!("{release}\n  image = \"ghcr.io/kumocorp/kumomta:latest@{DIGEST}\""),
    ));
    let a = analyze(&files, &Options::default());
    let d = a
        .diagnostics
        .iter()
        .find(|d| d.code == "KUMO-K8S006")
        .expect("K8S006");
    let fix = d.fix.as_ref().expect("a fix");
    assert_eq!(
        fix.edits[0].replacement,
        format!("\"ghcr.io/kumocorp/kumomta@{DIGEST}\"")
    );
    // A digest that is not one.
    for bad in [
        "@sha256:abc",
        "@md5:0f3c",
        "@sha256:0F3C0C1A2B3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7",
    ] {
        let files = example_with((
            release,
            &format!("{release}\n  image = \"ghcr.io/kumocorp/kumomta{bad}\""),
        ));
        let a = analyze(&files, &Options::default());
        assert!(
            a.diagnostics.iter().any(|d| d.code == "K2010"),
            "{bad}:\n{}",
            human(&a)
        );
    }
}

/// `kumomta` names an image that exists: a published tag, or (in another repository, or
/// newer than every release kumoc knows) a tag of the published shape.
#[test]
fn kumomta_names_an_image_that_exists() {
    let release = "kumomta     = \"2025.03.19-1d3f1f67\"";
    let check = |kumomta: &str, image: Option<&str>| {
        let mut line = format!("kumomta     = \"{kumomta}\"");
        if let Some(i) = image {
            line.push_str(&format!("\n  image = \"{i}\""));
        }
        analyze(&example_with((release, &line)), &Options::default())
    };
    let codes =
        |a: &Analysis| -> Vec<&'static str> { a.diagnostics.iter().map(|d| d.code).collect() };
    // Every published tag.
    for r in RELEASES
        .iter()
        .filter(|r| r.version() >= KumoVersion::date(2025, 3, 19))
    {
        let a = check(r.tag, None);
        assert!(!codes(&a).contains(&"K2009"), "{}:\n{}", r.tag, human(&a));
    }
    // A bare date of a release: the fix is that release's tag, and it is safe.
    let a = check("2025.03.19", None);
    let d = a
        .diagnostics
        .iter()
        .find(|d| d.code == "K2009")
        .expect("K2009");
    let fix = d.fix.as_ref().expect("fix");
    assert_eq!(
        fix.applicability,
        kumoc_compiler::diagnostic::Applicability::Safe
    );
    assert_eq!(fix.edits[0].replacement, "\"2025.03.19-1d3f1f67\"");
    // A day without a release, or a commit that is not the release's: refused; only the
    // real tag of that day may be offered, never a made-up one.
    for (tag, fixed) in [
        ("2025.03.20", None),
        ("2025.03.20-1d3f1f67", None),
        ("2025.03.19-deadbeef", Some("\"2025.03.19-1d3f1f67\"")),
    ] {
        let a = check(tag, None);
        let d = a
            .diagnostics
            .iter()
            .find(|d| d.code == "K2009")
            .unwrap_or_else(|| panic!("{tag}:\n{}", human(&a)));
        assert_eq!(
            d.fix.as_ref().map(|f| f.edits[0].replacement.as_str()),
            fixed,
            "{tag}"
        );
    }
    // Another repository may hold builds of its own; a tag newer than every known release
    // may exist.
    for (tag, image) in [
        ("2025.03.19-deadbeef", Some("registry.example.com/kumomta")),
        ("2025.03.20-0123abcd", Some("registry.example.com/kumomta")),
        ("2030.01.01-0123abcd", None),
    ] {
        let a = check(tag, image);
        assert!(
            !codes(&a).contains(&"K2009"),
            "{tag} {image:?}:\n{}",
            human(&a)
        );
    }
}
