//! `kumoc build`: the emitted files of both example variants (snapshots), determinism, and
//! the CLI's atomic output handling.

use std::process::Command;

use kumoc_compiler::{Environment, Options, emit};

use crate::support::*;

fn analyze_example(env: Option<Environment>) -> kumoc_compiler::Analysis {
    // Named as the CLI names them when run from the repository root.
    let files: Vec<(String, Vec<u8>)> = fixture_files(&root().join("examples/example-com"))
        .into_iter()
        .map(|(name, bytes)| (format!("examples/{name}"), bytes))
        .collect();
    let analysis = kumoc_compiler::analyze(
        &files,
        &Options {
            env,
            ..Default::default()
        },
    );
    assert!(!analysis.has_errors(), "{}", human(&analysis));
    analysis
}

pub fn build_example(env: Option<Environment>) -> emit::Output {
    analyze_example(env)
        .emit()
        .expect("an error-free analysis emits")
}

/// The example's output in canonical form (no comments in the policy files).
pub fn build_example_canonical(env: Option<Environment>) -> emit::Output {
    let a = analyze_example(env);
    let model = a.checked_model().expect("an error-free analysis emits");
    emit::emit_canonical(model, &a.places())
}

#[test]
fn example_policy_snapshots() {
    for (env, name) in [
        (None, "staging"),
        (Some(Environment::Production), "production"),
    ] {
        let out = build_example(env);
        for (path, content) in &out.files {
            let snap = format!("build__{name}__{}", path.replace('/', "__"));
            insta::assert_snapshot!(snap, content);
        }
        let again = build_example(env);
        assert_eq!(out, again, "building twice gives byte-identical output");
    }
}

#[test]
fn production_has_no_sink_and_requires_tls() {
    let out = build_example(Some(Environment::Production));
    assert!(out.get("policy/sink.lua").is_none());
    let init = out.get("policy/init.lua").unwrap();
    assert!(
        !init.contains("routing_domain"),
        "no sink routing in production"
    );
    let shaping = out.get("policy/shaping.toml").unwrap();
    assert!(!shaping.contains("-sink."));
    let staging = build_example(None);
    assert!(
        staging
            .get("policy/init.lua")
            .unwrap()
            .contains("msg:set_meta('routing_domain'")
    );
}

fn kumoc() -> Command {
    let mut c = Command::new(insta_cmd::get_cargo_bin("kumoc"));
    c.current_dir(root()).env("NO_COLOR", "1");
    c
}

#[test]
fn build_writes_atomically_and_check_detects_staleness() {
    let dir = std::env::temp_dir().join(format!("kumoc-build-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = dir.join("out");
    let o = kumoc()
        .args(["build", "examples/example-com", "-o", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let init = std::fs::read_to_string(out.join("policy/init.lua")).unwrap();
    assert_eq!(init, build_example(None).get("policy/init.lua").unwrap());

    // Up to date.
    let o = kumoc()
        .args([
            "build",
            "examples/example-com",
            "-o",
            out.to_str().unwrap(),
            "--check",
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    // Stale: one file changed, one extra.
    std::fs::write(out.join("policy/queues.toml"), "# edited by hand\n").unwrap();
    std::fs::write(out.join("policy/stray.lua"), "").unwrap();
    let o = kumoc()
        .args([
            "build",
            "examples/example-com",
            "-o",
            out.to_str().unwrap(),
            "--check",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("changed: policy/queues.toml") && text.contains("extra:   policy/stray.lua"),
        "{text}"
    );

    // A failed build leaves the old output untouched.
    let broken = dir.join("broken.kumo");
    std::fs::write(&broken, "deployment \"x\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nqueue default { egress_pool = nowhere }\n").unwrap();
    let o = kumoc()
        .args([
            "build",
            broken.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("K1005"));
    assert_eq!(
        std::fs::read_to_string(out.join("policy/queues.toml")).unwrap(),
        "# edited by hand\n"
    );

    // A successful build replaces the whole tree (the stray file goes).
    let o = kumoc()
        .args([
            "build",
            "examples/example-com",
            "-o",
            out.to_str().unwrap(),
            "--env",
            "production",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(!out.join("policy/stray.lua").exists());
    assert!(!out.join("policy/sink.lua").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        2,
        "no temporary directories left behind: {leftovers:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// With two threads the lints run beside the emit: what they find is what one thread shows
/// (the same stderr and exit code), and an error among it (here an inline private key,
/// KUMO-SEC005) withdraws what the emit wrote: the previous output stays as it was, and no
/// temporary directory is left.
#[test]
fn a_lint_error_found_beside_the_emit_withdraws_the_output() {
    let dir = std::env::temp_dir().join(format!("kumoc-lints-beside-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let src = dir.join("example");
    std::fs::create_dir_all(&src).unwrap();
    for e in std::fs::read_dir(root().join("examples/example-com")).unwrap() {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "kumo") {
            std::fs::copy(e.path(), src.join(e.file_name())).unwrap();
        }
    }
    let out = dir.join("out");
    let build = |jobs: &str| {
        let o = kumoc()
            .args(["build", src.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .args(["-j", jobs, "--env", "staging"])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let tree = || read_tree(&out);
    // Warnings only: written, and shown as one thread shows them.
    let (one, two) = (build("1"), build("2"));
    assert_eq!(one.0, Some(0), "{}", one.1);
    assert_eq!(one, two);
    let before = tree();
    std::fs::write(
        src.join("leak.kumo"),
        "secret \"leaky\" {\n  files {\n    \"example.com.default.key\" = \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\"\n  }\n}\n",
    )
    .unwrap();
    let (one, two) = (build("1"), build("2"));
    assert_eq!(two.0, Some(1), "{}", two.1);
    assert!(
        two.1.contains("KUMO-SEC005") && two.1.contains("nothing written"),
        "{}",
        two.1
    );
    assert_eq!(one, two);
    assert!(tree() == before, "the previous output is unchanged");
    let entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries.len(), 2, "no temporary directory left: {entries:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

type Checker = fn(&str, &kumoc_lang::units::KumoVersion) -> Vec<String>;

#[test]
fn emitted_toml_matches_the_helper_schemas() {
    use crate::helper_schemas::*;
    for env in [None, Some(Environment::Production)] {
        let out = build_example(env);
        let version = kumoc_lang::units::parse_version("2025.03.19-1d3f1f67").unwrap();
        let checks: [(&str, Checker); 4] = [
            ("policy/sources.toml", check_sources),
            ("policy/dkim_data.toml", check_dkim),
            ("policy/queues.toml", check_queues),
            ("policy/shaping.toml", check_shaping),
        ];
        for (file, check) in checks {
            let text = out.get(file).unwrap();
            let problems = check(text, &version);
            assert!(
                problems.is_empty(),
                "{env:?} {file}:\n{}",
                problems.join("\n")
            );
            // Every rate and duration re-parses with KumoMTA's grammars for this release.
            for (path, value) in rate_and_duration_strings(text) {
                let as_rate = kumoc_lang::units::parse_rate(&value).is_ok();
                let as_duration =
                    kumoc_lang::units::parse_humantime(&value, version.humantime()).is_ok();
                let as_limit = kumoc_lang::units::parse_limit(&value).is_ok();
                assert!(
                    as_rate || as_duration || as_limit,
                    "{file} {path} = {value:?} does not parse"
                );
            }
        }
        // And the checkers do catch a broken file.
        let broken = out
            .get("policy/shaping.toml")
            .unwrap()
            .replace("enable_tls = \"Required\"", "enable_tls = \"Requird\"");
        assert!(!check_shaping(&broken, &version).is_empty());
    }
}
