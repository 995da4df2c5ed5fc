//! Replays the committed corpus (`corpus/<target>/`) and the regression inputs
//! (`regressions/<target>-*.kumo`) through the fuzz targets' checks, on stable Rust and
//! without libFuzzer: `cargo test --manifest-path fuzz/Cargo.toml --no-default-features`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(root.join("corpus").join(target)) {
        out.extend(dir.filter_map(|e| e.ok().map(|e| e.path())));
    }
    if let Ok(dir) = std::fs::read_dir(root.join("regressions")) {
        let prefix = format!("{target}-");
        out.extend(dir.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".kumo"))
        }));
    }
    out.retain(|p| p.is_file());
    out.sort();
    out
}

fn replay(target: &str, check: fn(&[u8])) {
    let files = inputs(target);
    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs fail (the panic messages are above):\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
    eprintln!("{target}: {} inputs replayed", files.len());
}

#[test]
fn parse() {
    replay("parse", kumoc_fuzz::parse);
}

#[test]
fn format() {
    replay("format", kumoc_fuzz::format);
}

#[test]
fn check_emit() {
    replay("check_emit", kumoc_fuzz::check_emit);
}
