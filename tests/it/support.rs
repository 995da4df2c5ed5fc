//! Shared helpers: fixture discovery and analysis of a fixture (file or directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kumoc_compiler::{Analysis, Environment, Options, analyze, emit, render};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every entry (file or directory) directly in a fixture directory, sorted.
pub fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "kumo"))
        .collect();
    out.sort();
    out
}

/// The `.kumo` files of a fixture, as `(display name relative to its directory, bytes)`.
pub fn fixture_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let base = path.parent().unwrap();
    let mut files: Vec<PathBuf> = if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "kumo"))
            .collect()
    } else {
        vec![path.to_path_buf()]
    };
    files.sort();
    files
        .iter()
        .map(|f| {
            (
                f.strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
                std::fs::read(f).unwrap(),
            )
        })
        .collect()
}

pub fn name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

pub fn analyze_fixture(path: &Path, options: &Options) -> Analysis {
    analyze(&fixture_files(path), options)
}

pub fn human(a: &Analysis) -> String {
    render::human(&a.diagnostics, &a.sources, false)
}

/// The codes named in a fixture's first line: `// expect: K1005, K2003` or `// expect: clean`.
pub fn expected_codes(files: &[(String, Vec<u8>)]) -> Vec<String> {
    let first = String::from_utf8_lossy(&files[0].1)
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    let spec = first
        .strip_prefix("// expect:")
        .unwrap_or_else(|| panic!("{}: first line must be `// expect: ...`", files[0].0))
        .trim()
        .to_string();
    if spec == "clean" {
        return Vec::new();
    }
    let mut codes: Vec<String> = spec.split(',').map(|s| s.trim().to_string()).collect();
    codes.sort();
    codes
}

/// The output of one file `name` holding `text`, built for production; panics (showing the
/// diagnostics) when it has an error.
pub fn build_production(name: &str, text: &str) -> emit::Output {
    let a = analyze(
        &[(name.to_string(), text.as_bytes().to_vec())],
        &Options {
            env: Some(Environment::Production),
            ..Default::default()
        },
    );
    assert!(!a.has_errors(), "{}", human(&a));
    a.emit().expect("an error-free analysis emits")
}

/// Every file under `dir`, relative path → bytes.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
