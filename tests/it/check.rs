//! Checker fixtures: each `tests/fixtures/check/*` (a file, or a directory of files forming
//! one deployment) declares the codes it must produce on its first line; the rendered
//! diagnostics are snapshotted. Together the fixtures cover every registered code.

use std::collections::BTreeSet;

use kumoc_compiler::{Options, codes};

use crate::support::*;

#[test]
fn check_fixtures() {
    let mut seen: BTreeSet<String> = BTreeSet::new();
    for path in fixtures("tests/fixtures/check") {
        let name = name(&path);
        let files = fixture_files(&path);
        let mut analysis = analyze_fixture(&path, &Options::default());
        // Checker fixtures pin the checker's codes; lints are pinned by tests/fixtures/lints
        // (a lint counts here only when the fixture names it).
        let expected = expected_codes(&files);
        let mut got: Vec<String> = analysis
            .diagnostics
            .iter()
            .map(|d| d.code.to_string())
            .filter(|c| !c.starts_with("KUMO-") || expected.contains(c))
            .collect();
        got.sort();
        got.dedup();
        assert_eq!(
            got,
            expected_codes(&files),
            "{name}: codes differ\n{}",
            human(&analysis)
        );
        for d in &analysis.diagnostics {
            assert!(d.help.is_some(), "{name}: {} has no help line", d.code);
            assert!(
                d.labels.iter().any(|l| l.primary),
                "{name}: {} has no primary label",
                d.code
            );
        }
        seen.extend(got);
        let mut source = String::new();
        for (file, bytes) in &files {
            source.push_str(&format!("--- {file}\n{}", String::from_utf8_lossy(bytes)));
        }
        // With compile errors, lints run on what checked: the snapshot, like the codes
        // above, pins the checker's diagnostics and the lints the fixture names.
        let compiles = !analysis
            .diagnostics
            .iter()
            .any(|d| d.severity == kumoc_compiler::Severity::Error && !d.code.starts_with("KUMO-"));
        if !compiles {
            analysis
                .diagnostics
                .retain(|d| !d.code.starts_with("KUMO-") || expected.iter().any(|c| c == d.code));
        }
        insta::assert_snapshot!(
            format!("check__{name}"),
            format!("{source}\n----- DIAGNOSTICS\n{}", human(&analysis))
        );
    }
    // `kumoc import`'s codes come from policies it reads, not from `.kumo` (tests/it/import.rs).
    let missing: Vec<&str> = codes::CODES
        .iter()
        .filter(|c| c.phase != codes::Phase::Import)
        .map(|c| c.code)
        .filter(|c| !seen.contains(*c))
        .collect();
    assert!(missing.is_empty(), "no fixture produces {missing:?}");
}

#[test]
fn examples_check_clean() {
    let path = root().join("examples/example-com");
    for env in [None, Some(kumoc_compiler::Environment::Production)] {
        let analysis = analyze_fixture(
            &path,
            &Options {
                env,
                ..Default::default()
            },
        );
        // Clean in both environments (the metrics and egress warnings are suppressed, with reasons).
        assert!(
            analysis.diagnostics.is_empty(),
            "{env:?}:\n{}",
            human(&analysis)
        );
        let model = analysis.model.expect("a model");
        assert_eq!(model.name.value, "example-com");
        let sink = model.cluster.sink.enabled.value;
        assert_eq!(sink, env.is_none(), "the sink is on in staging only");
        let tls = model
            .shaping
            .iter()
            .find(|s| s.key == kumoc_compiler::model::ShapingKey::Default)
            .unwrap()
            .shaping
            .settings
            .get("enable_tls")
            .map(|s| s.value.clone());
        let want = if env.is_some() {
            "required"
        } else {
            "opportunistic"
        };
        assert!(
            matches!(tls, Some(kumoc_compiler::value::Typed::Enum(v)) if v.name == want),
            "{env:?}: enable_tls {tls:?}"
        );
    }
}

#[test]
fn stdlib_is_clean_and_formatted() {
    for (name, text) in kumoc_compiler::stdlib::FILES {
        let formatted =
            kumoc_lang::format::format(text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(&formatted, text, "{name} is not formatted");
    }
    // A deployment with nothing but the required block uses every preset without error.
    let path = root().join("tests/fixtures/check/clean_minimal.kumo");
    let analysis = analyze_fixture(&path, &Options::default());
    assert!(!analysis.has_errors(), "{}", human(&analysis));
    let model = analysis.model.unwrap();
    let names: Vec<&str> = model.providers.iter().map(|p| p.name.as_str()).collect();
    assert!(
        names.contains(&"google") && names.contains(&"yahoo"),
        "{names:?}"
    );
    assert!(model.providers.iter().all(|p| p.preset));
}

#[test]
fn user_blocks_merge_over_presets() {
    let src = "deployment \"t\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nprovider \"google\" {\n  max_message_rate = 50/s\n}\nshaping default {\n  connection_limit = 3\n}\n";
    let a = kumoc_compiler::analyze(
        &[("t.kumo".into(), src.as_bytes().to_vec())],
        &Options::default(),
    );
    assert!(!a.has_errors(), "{}", human(&a));
    let m = a.model.unwrap();
    let g = m.providers.iter().find(|p| p.name == "google").unwrap();
    assert!(g.preset && !g.overridden_at.is_empty());
    assert!(
        !g.matches.is_empty(),
        "the preset's match rules survive the user's block"
    );
    let rate = g.shaping.settings.get("max_message_rate").unwrap();
    assert!(
        !a.sources.get(rate.loc.file).unwrap().is_stdlib,
        "the user's value wins"
    );
    assert!(
        g.shaping
            .settings
            .contains_key("max_deliveries_per_connection"),
        "the preset's other fields stay"
    );
    let d = m
        .shaping
        .iter()
        .find(|s| s.key == kumoc_compiler::model::ShapingKey::Default)
        .unwrap();
    assert!(
        matches!(d.shaping.settings.get("connection_limit").unwrap().value, kumoc_compiler::value::Typed::Limit(l) if l.limit == 3)
    );
    assert!(
        !d.shaping.automation.is_empty(),
        "preset automation rules are kept"
    );
}

#[test]
fn readme_tour_checks_clean() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let tour = readme
        .split("```kumo\n")
        .nth(1)
        .expect("a kumo block in the README")
        .split("```")
        .next()
        .unwrap();
    for env in [None, Some(kumoc_compiler::Environment::Production)] {
        let a = kumoc_compiler::analyze(
            &[("README.md".into(), tour.as_bytes().to_vec())],
            &Options {
                env,
                ..Default::default()
            },
        );
        assert!(!a.has_errors(), "{env:?}:\n{}", human(&a));
    }
}
