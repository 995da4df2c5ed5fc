//! The lint catalog: registry hygiene, one fixture per rule that triggers it exactly once
//! (snapshotted with its fix), a clean fixture that triggers none, and fresh rule docs.

use std::collections::BTreeSet;

use kumoc_compiler::lints::{Kind, RULES};
use kumoc_compiler::{Options, Severity};

use crate::support::*;

fn fixture(code: &str) -> std::path::PathBuf {
    root().join(format!("tests/fixtures/lints/{code}.kumo"))
}

#[test]
fn registry_is_sorted_unique_and_documented() {
    let mut codes = BTreeSet::new();
    let mut names = BTreeSet::new();
    let mut prev = "";
    for r in RULES {
        assert!(r.code > prev, "{} is out of order", r.code);
        prev = r.code;
        assert!(codes.insert(r.code), "duplicate code {}", r.code);
        assert!(names.insert(r.name), "duplicate name {}", r.name);
        assert!(
            kumoc_compiler::codes::lookup(r.code).is_none(),
            "{} clashes with a checker code",
            r.code
        );
        if r.doc.contains("PLACEHOLDER") {
            continue;
        }
        for heading in [
            "## What it does",
            "## Why is this bad?",
            "## Fix safety",
            "## References",
        ] {
            assert!(r.doc.contains(heading), "{}: doc lacks {heading:?}", r.code);
        }
        if let Kind::Check(_) = r.kind {
            assert!(
                r.doc.contains("## Example") && r.doc.contains("## Use instead"),
                "{}: a lint shows an example",
                r.code
            );
        }
    }
}

/// A rule's `since` is a kumoc release, `MAJOR.MINOR.PATCH`, and not a later one than this
/// build: a new rule says the release being prepared, the workspace version.
#[test]
fn rule_since_is_a_kumoc_release_up_to_this_one() {
    fn parse(v: &str) -> Option<(u32, u32, u32)> {
        let mut parts = v.split('.').map(|p| {
            (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .then(|| p.parse::<u32>().ok())
                .flatten()
        });
        let version = (parts.next()??, parts.next()??, parts.next()??);
        parts.next().is_none().then_some(version)
    }
    let this = parse(env!("CARGO_PKG_VERSION")).expect("the workspace version");
    for r in RULES {
        let since = parse(r.since);
        assert!(
            since.is_some_and(|s| s <= this),
            "{}: since {:?} is not a kumoc release up to {}",
            r.code,
            r.since,
            env!("CARGO_PKG_VERSION")
        );
    }
}

#[test]
fn no_placeholder_rules() {
    let left: Vec<&str> = RULES
        .iter()
        .filter(|r| r.doc.contains("PLACEHOLDER"))
        .map(|r| r.code)
        .collect();
    assert!(left.is_empty(), "rules still to write: {left:?}");
}

#[test]
fn every_rule_has_a_fixture_that_triggers_it_once() {
    for r in RULES {
        if r.doc.contains("PLACEHOLDER") {
            continue;
        }
        // DNS rules have their fixtures (a deployment and a snapshot) in `tests/it/dns.rs`.
        if matches!(r.kind, Kind::Guaranteed | Kind::Unsupported | Kind::Dns(_)) {
            continue;
        }
        let path = fixture(r.code);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{}: no fixture {}", r.code, path.display()));
        check_fixture(
            r,
            &format!("{}.kumo", r.code),
            &text,
            &format!("lint__{}", r.code),
        );
    }
}

/// More fixtures for the cases of a rule: `tests/fixtures/lints/cases/<CODE>-<case>.kumo`,
/// each a complete deployment that triggers `<CODE>` exactly once, checked and snapshotted
/// like the rule's own fixture (and its fix re-checked).
#[test]
fn every_case_fixture_triggers_its_rule_once() {
    let dir = root().join("tests/fixtures/lints/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "kumo"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let rule = RULES
            .iter()
            .copied()
            .filter(|r| stem.starts_with(&format!("{}-", r.code)))
            .max_by_key(|r| r.code.len())
            .unwrap_or_else(|| panic!("{stem}: names no rule (`<CODE>-<case>.kumo`)"));
        let text = std::fs::read_to_string(&path).unwrap();
        check_fixture(
            rule,
            &format!("{stem}.kumo"),
            &text,
            &format!("lint_case__{stem}"),
        );
    }
}

/// `text` (named `name`) triggers `r` exactly once and has no checker error; the finding and
/// its fix are snapshotted, and the fixed text no longer triggers the rule.
fn check_fixture(r: &kumoc_compiler::lints::Rule, name: &str, text: &str, snapshot: &str) {
    let wanted: Vec<&str> = match r.kind {
        Kind::Check(_) => vec![r.code],
        Kind::Checker(codes) => codes.iter().map(|c| c.as_str()).collect(),
        Kind::Guaranteed | Kind::Unsupported | Kind::Dns(_) => return,
    };
    let a = kumoc_compiler::analyze(
        &[(name.to_string(), text.as_bytes().to_vec())],
        &Options::default(),
    );
    assert!(
        text.starts_with(&format!("// expect: {}", r.code)),
        "{name}: the fixture's first line is `// expect: {}`",
        r.code
    );
    let hits: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| wanted.contains(&d.code))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{name}: expected exactly one of {wanted:?}, got:\n{}",
        human(&a)
    );
    if let Kind::Check(_) = r.kind {
        let others: Vec<&str> = a
            .diagnostics
            .iter()
            .filter(|d| {
                d.severity == Severity::Error && d.code != r.code && !d.code.starts_with("KUMO-")
            })
            .map(|d| d.code)
            .collect();
        assert!(
            others.is_empty(),
            "{name}: the fixture has checker errors {others:?}:\n{}",
            human(&a)
        );
    }
    let hit = hits[0].clone();
    let mut shown = kumoc_compiler::render::human(std::slice::from_ref(&hit), &a.sources, false);
    if let Some(fix) = &hit.fix {
        let fixed = kumoc_compiler::fix::apply(std::slice::from_ref(&hit), &a.sources, true);
        let new_text = fixed
            .values()
            .next()
            .map(|(t, _)| t.clone())
            .unwrap_or_default();
        let formatted = kumoc_lang::format::format(&new_text).unwrap_or(new_text);
        shown.push_str(&format!(
            "----- FIX ({:?}): {}\n{formatted}",
            fix.applicability, fix.title
        ));
        // The fix really removes the diagnostic.
        let again = kumoc_compiler::analyze(
            &[(name.to_string(), formatted.as_bytes().to_vec())],
            &Options::default(),
        );
        assert!(
            !again.diagnostics.iter().any(|d| d.code == r.code),
            "{name}: the fix leaves the diagnostic:\n{}",
            human(&again)
        );
    }
    insta::assert_snapshot!(snapshot.to_string(), shown);
}

#[test]
fn clean_fixture_triggers_no_lint() {
    let path = root().join("tests/fixtures/lints/clean.kumo");
    for env in [None, Some(kumoc_compiler::Environment::Production)] {
        let a = analyze_fixture(
            &path,
            &Options {
                env,
                ..Default::default()
            },
        );
        assert!(a.diagnostics.is_empty(), "{env:?}:\n{}", human(&a));
    }
}

/// `docs/rules/<CODE>.md` for every rule and an index, generated from the registry.
/// `KUMOC_UPDATE_DOCS=1 cargo test` rewrites them; otherwise a stale page fails the test.
#[test]
fn rule_docs_are_fresh() {
    let dir = root().join("docs/rules");
    let mut expected: Vec<(String, String)> = RULES
        .iter()
        .filter(|r| !r.doc.contains("PLACEHOLDER"))
        .map(|r| {
            (
                format!("{}.md", r.code),
                kumoc_compiler::lints::rules_doc_text(r),
            )
        })
        .collect();
    let mut index = String::from(
        "# kumoc rules\n\nGenerated from the rule registry (`compiler/src/lints/rules/`); `kumoc explain CODE` prints the same pages.\n\n| code | name | severity | priority | status | since | summary |\n|---|---|---|---|---|---|---|\n",
    );
    for r in RULES.iter().filter(|r| !r.doc.contains("PLACEHOLDER")) {
        let status = match r.kind {
            Kind::Check(_) => "lint".to_string(),
            Kind::Checker(c) => format!(
                "checker ({})",
                c.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")
            ),
            Kind::Guaranteed => "guaranteed".to_string(),
            Kind::Dns(_) => "DNS snapshot (`kumoc dns --check`)".to_string(),
            Kind::Unsupported => "not checked yet".to_string(),
        };
        index.push_str(&format!(
            "| [{0}]({0}.md) | {1} | {2} | {3} | {4} | {5} | {6} |\n",
            r.code,
            r.name,
            r.severity.describe(),
            r.priority,
            status,
            r.since,
            r.summary
        ));
    }
    index.push_str("\nCompile errors and warnings of the checker (`K0xxx` syntax, `K1xxx` resolution, `K2xxx` types, `K3xxx` suppressions) are listed by `kumoc explain`.\n");
    expected.push(("README.md".to_string(), index));
    if std::env::var_os("KUMOC_UPDATE_DOCS").is_some() {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in &expected {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }
    let mut stale = Vec::new();
    for (name, text) in &expected {
        if std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str()) {
            stale.push(name.clone());
        }
    }
    let on_disk = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
    assert!(
        stale.is_empty() && on_disk == expected.len(),
        "docs/rules is stale ({stale:?}): run `KUMOC_UPDATE_DOCS=1 cargo test --test it rule_docs`"
    );
}

#[test]
fn explain_prints_every_rule() {
    for r in RULES {
        let out = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"))
            .args(["explain", r.code])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", r.code);
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(&format!("# {}: {}", r.code, r.name))
        );
    }
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/schemas/sarif-schema-2.1.0.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn sarif_output_validates_against_the_sarif_schema() {
    let v = sarif_validator();
    let mut runs = 0;
    for path in [
        "tests/fixtures/lints/KUMO-SEC001.kumo",
        "tests/fixtures/lints/KUMO-QUE001.kumo",
        "tests/fixtures/cli/three_mistakes.kumo",
        "tests/fixtures/check/K1004_duplicate_definition",
        "examples/example-com",
    ] {
        let out = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"))
            .current_dir(root())
            .args(["check", path, "--format", "sarif"])
            .output()
            .unwrap();
        let log: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{path}: {e}"));
        let errors: Vec<String> = v
            .iter_errors(&log)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{path}:\n{}", errors.join("\n"));
        let results = log["runs"][0]["results"].as_array().unwrap();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        for r in results {
            let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
            assert_eq!(rule["id"], r["ruleId"]);
            assert!(
                rule["help"]["text"].as_str().unwrap().len() > 20,
                "rules carry their help text"
            );
            assert!(
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap()
                    >= 1
            );
        }
        runs += results.len();
    }
    assert!(runs >= 6);
    // A broken log fails the schema, so the test can fail.
    let mut bad: serde_json::Value =
        serde_json::json!({ "version": "2.1.0", "runs": [{ "tool": { "driver": {} } }] });
    assert!(!v.is_valid(&bad));
    bad["runs"][0]["tool"]["driver"]["name"] = serde_json::json!("kumoc");
    assert!(v.is_valid(&bad));
}

#[test]
fn github_annotations() {
    let out = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"))
        .current_dir(root())
        .args([
            "check",
            "tests/fixtures/cli/three_mistakes.kumo",
            "--format",
            "github",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    // The three compile errors (the lints that ran on what checked are warnings).
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("::error")).collect();
    assert_eq!(
        lines.len(),
        3,
        "one line per diagnostic (newlines escaped): {text}"
    );
    assert_eq!(text.lines().count(), 7, "{text}");
    assert!(lines[0].starts_with("::error file=tests/fixtures/cli/three_mistakes.kumo,line=12,col=17,endLine=12,endColumn=23,title=K1005::"), "{}", lines[0]);
    assert!(lines.iter().all(|l| l.contains("%0Ahelp: ")));
}

#[test]
fn fix_applies_safe_fixes_and_unsafe_ones_only_when_asked() {
    let dir = std::env::temp_dir().join(format!("kumoc-fix-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("d.kumo");
    let src = "deployment \"t\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\npool main {\n  source main-00 { ehlo_domain = \"mta.example.com\" }\n}\nqueue default {\n  egress_pool = main\n  retry_interval = 4h\n  max_retry_interval = 20m\n}\nshaping default {\n  enable_tls = Required\n}\n";
    std::fs::write(&file, src).unwrap();
    let kumoc = || {
        let mut c = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"));
        c.env("NO_COLOR", "1");
        c
    };
    // Safe only: `Required` → `required` (K2006) is fixed, the swapped retry values
    // (KUMO-QUE001, unsafe) are not.
    let out = kumoc()
        .args(["check", "--fix", file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("enable_tls = required"), "{text}");
    assert!(
        text.contains("retry_interval     = 4h"),
        "unsafe fix not applied; the file is formatted: {text}"
    );
    assert_eq!(out.status.code(), Some(1), "the QUE001 error remains");
    assert!(String::from_utf8_lossy(&out.stderr).contains("fixed 1 problem in 1 file"));
    // With --unsafe-fixes.
    let out = kumoc()
        .args(["check", "--fix", "--unsafe-fixes", file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("retry_interval     = 20m") && text.contains("max_retry_interval = 4h"),
        "{text}"
    );
    assert_eq!(
        kumoc_lang::format::format(&text).unwrap(),
        text,
        "left formatted"
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn deny_warnings_and_severity_overrides() {
    let kumoc = |args: &[&str]| {
        std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"))
            .current_dir(root())
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap()
    };
    // The clean fixture plus one stale suppression: a single warning (K3001).
    let dir = std::env::temp_dir().join(format!("kumoc-deny-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let clean = std::fs::read_to_string(root().join("tests/fixtures/lints/clean.kumo")).unwrap();
    let one_warning = clean.replace(
        "shaping default {",
        "// kumoc-allow(KUMO-TLS001): nothing to suppress\nshaping default {",
    );
    let file = dir.join("warn.kumo");
    std::fs::write(&file, one_warning).unwrap();
    let path = file.to_str().unwrap();
    let o = kumoc(&["check", path]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "warnings alone pass: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("K3001"));
    assert_eq!(
        kumoc(&["check", path, "--deny", "warnings"]).status.code(),
        Some(1)
    );
    let off = kumoc(&[
        "check",
        path,
        "--severity",
        "K3001=off",
        "--deny",
        "warnings",
    ]);
    assert_eq!(
        off.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&off.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
    let sec = "tests/fixtures/lints/KUMO-SEC001.kumo";
    assert_eq!(kumoc(&["check", sec]).status.code(), Some(1));
    assert_eq!(
        kumoc(&["check", sec, "--severity", "KUMO-SEC001=warning"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        kumoc(&["check", sec, "--severity", "K2003=off"])
            .status
            .code(),
        Some(2),
        "compile errors cannot be turned off"
    );
    assert_eq!(
        kumoc(&["check", sec, "--severity", "KUMO-NOPE=off"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn seed_defect_table_names_real_rules() {
    let text = std::fs::read_to_string(root().join("docs/seed-defects.md")).unwrap();
    let mut rows = 0;
    for line in text
        .lines()
        .filter(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
    {
        rows += 1;
        for code in line.split("KUMO-").skip(1).map(|rest| {
            format!(
                "KUMO-{}",
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
            )
        }) {
            assert!(
                kumoc_compiler::lints::lookup(&code).is_some(),
                "{code} in docs/seed-defects.md is not a rule"
            );
        }
    }
    assert_eq!(rows, 26, "one row per defect of §12.2");
}

/// KUMO-QUE007's claim, against the queue helper as the stub implements it
/// (`assets/policy-extras/queue.lua`): with `require_authz`, a message injected over HTTP by
/// the very user it names is rejected, because HTTP injection sets `http_auth`, not
/// `authz_id`, and kumoc's SMTP listener has no AUTH. Without it, the message is accepted.
#[test]
fn require_authz_rejects_mail_injected_by_the_user_it_names() {
    let fixture = std::fs::read_to_string(fixture("KUMO-QUE007")).unwrap();
    for (text, rejected) in [
        (
            fixture.replace(
                "  require_authz = [\"acme-api\"]",
                "  // kumoc-allow(KUMO-QUE007): this test shows the rejection\n  require_authz = [\"acme-api\"]",
            ),
            true,
        ),
        (fixture.replace("  require_authz = [\"acme-api\"]\n", ""), false),
    ] {
        let a = kumoc_compiler::analyze(
            &[("t.kumo".to_string(), text.into_bytes())],
            &Options::default(),
        );
        assert!(!a.has_errors(), "{}", human(&a));
        let out = a.emit().unwrap();
        let pod = crate::pods::Pod::new(&out, &format!("authz{rejected}"));
        let p = pod.load(
            kumoc_compiler::names::Workload::Mta,
            "2025.03.19-1d3f1f67",
        );
        let msg = crate::lua_harness::MessageSpec {
            from_header: "news@example.com".into(),
            sender: "bounces@example.com".into(),
            recipient: "someone@example.net".into(),
            headers: vec![("X-Tenant".into(), "acme".into())],
            meta: vec![("http_auth".into(), serde_json::json!("acme-api"))],
        };
        let r = p.fire(
            "http_message_generated",
            vec![
                crate::lua_harness::Arg::Message(msg),
                crate::lua_harness::Arg::Json(serde_json::json!({})),
            ],
        );
        match (rejected, r) {
            (true, Err(e)) => assert!(e.contains("requires SMTP AUTH"), "{e}"),
            (false, Ok(_)) => {}
            (want, got) => panic!("rejected: want {want}, got {got:?}"),
        }
    }
}
