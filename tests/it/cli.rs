//! The `kumoc` binary: exit codes, output formats, explain, init, fmt, completions.

use std::process::Command;

use insta_cmd::{assert_cmd_snapshot, get_cargo_bin};

use crate::support::root;

fn kumoc() -> Command {
    let mut c = Command::new(get_cargo_bin("kumoc"));
    c.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    c
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kumoc-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_example_staging_and_production() {
    assert_cmd_snapshot!(
        "check_example_staging",
        kumoc().args(["check", "examples/example-com"])
    );
    assert_cmd_snapshot!(
        "check_example_production",
        kumoc().args(["check", "examples/example-com", "--env", "production"])
    );
}

#[test]
fn three_mistakes_human_and_json() {
    let path = "tests/fixtures/cli/three_mistakes.kumo";
    assert_cmd_snapshot!("check_three_mistakes", kumoc().args(["check", path]));
    let out = kumoc()
        .args(["check", path, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // The three compile errors; the lints that ran on what checked are warnings.
    let items: Vec<&serde_json::Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(items.len(), 3);
    for (item, (code, line, column)) in
        items
            .iter()
            .zip([("K1005", 12, 17), ("K2003", 17, 27), ("K0001", 18, 3)])
    {
        assert_eq!(item["code"], code);
        assert_eq!(item["line"], line, "{item}");
        assert_eq!(item["column"], column, "{item}");
        assert_eq!(item["file"], path);
        assert!(item["help"].is_string());
        assert!(item["end"].as_u64() > item["start"].as_u64());
    }
    assert_cmd_snapshot!(
        "check_three_mistakes_json",
        kumoc().args(["check", path, "--format", "json"])
    );
}

#[test]
fn usage_and_io_failures_exit_2() {
    let out = kumoc()
        .args(["check", "does/not/exist.kumo"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));
    let out = kumoc().args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = kumoc().args(["explain", "K9999"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn explain_every_code() {
    for c in kumoc_compiler::codes::CODES {
        let out = kumoc().args(["explain", c.code]).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", c.code);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("# {}: {}", c.code, c.name)),
            "{text}"
        );
    }
    assert_cmd_snapshot!("explain_k2003", kumoc().args(["explain", "K2003"]));
    assert_cmd_snapshot!(
        "explain_by_name",
        kumoc().args(["explain", "unknown-reference"])
    );
    assert_cmd_snapshot!("explain_list", kumoc().args(["explain"]));
}

#[test]
fn init_writes_a_deployment_that_checks_clean() {
    let dir = scratch("init");
    let out = kumoc()
        .args(["init", dir.to_str().unwrap(), "--name", "acme-mail"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for env in ["staging", "production"] {
        let out = kumoc()
            .args(["check", dir.to_str().unwrap(), "--env", env])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{env}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let out = kumoc()
        .args(["fmt", "--check", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the template is formatted: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    // It refuses to overwrite.
    let out = kumoc()
        .args(["init", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn fmt_check_and_write() {
    let dir = scratch("fmt");
    let file = dir.join("d.kumo");
    std::fs::write(&file, "pool p {source s {weight=2}} // keep me\n").unwrap();
    let out = kumoc()
        .args(["fmt", "--check", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("would reformat"));
    let out = kumoc()
        .args(["fmt", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "pool p {\n  source s {\n    weight = 2\n  }\n} // keep me\n"
    );
    // A file with syntax errors is left alone and reported.
    std::fs::write(&file, "pool p {\n  weight 2\n").unwrap();
    let out = kumoc()
        .args(["fmt", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "pool p {\n  weight 2\n"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("K0001"));
    let out = kumoc()
        .args(["fmt", "--check", "examples/example-com"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn version_help_and_completions() {
    let out = kumoc().arg("--version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("kumoc {}", env!("CARGO_PKG_VERSION"))
    );
    assert_cmd_snapshot!("help", kumoc().arg("--help"));
    for shell in ["bash", "zsh", "fish"] {
        let out = kumoc().args(["completions", shell]).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&out.stdout).contains("kumoc"));
    }
}

#[test]
fn color_only_when_asked() {
    let out = kumoc()
        .args(["check", "tests/fixtures/cli/three_mistakes.kumo"])
        .output()
        .unwrap();
    assert!(
        !out.stdout.contains(&0x1b),
        "no escape codes when not a terminal"
    );
    let out = kumoc()
        .args([
            "--color",
            "always",
            "check",
            "tests/fixtures/cli/three_mistakes.kumo",
        ])
        .output()
        .unwrap();
    assert!(out.stdout.contains(&0x1b), "--color always colours");
}
