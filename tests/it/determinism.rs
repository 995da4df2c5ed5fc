//! The same deployment gives the same bytes, whoever builds it, wherever (issue 11 §2).
//!
//! - Where: the CLI builds the example and a generated deployment from other working
//!   directories, by absolute and relative paths, as file arguments in another order, and
//!   from a copy elsewhere; the trees are byte-identical.
//! - Edits that change no meaning: comments and blank lines inserted at every statement
//!   boundary (found from the syntax tree, not picked by hand), `kumoc fmt`, the files in
//!   another order, the files named from other directories; the output is byte-identical,
//!   for every deployment in the repository that builds.
//! - One value: changing one number changes only the lines that name its place, and the
//!   checksum annotations.
//! - Comments roll no pod: the canonical form (the policy files without comments, what the
//!   checksums cover) is read by Lua 5.4 and the TOML parser exactly as the commented
//!   files; a change of provenance only (a block moved to another file, a file of comments)
//!   leaves the canonical output and every checksum annotation as they were.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kumoc_compiler::{Environment, Options, analyze, emit};
use kumoc_lang::Span;
use kumoc_lang::ast::{Stmt, ValueKind};

use crate::lua_harness::Policy;
use crate::support::*;

type Files = Vec<(String, Vec<u8>)>;

fn build(files: &[(String, Vec<u8>)], env: Option<Environment>) -> Option<emit::Output> {
    let a = analyze(
        files,
        &Options {
            env,
            ..Default::default()
        },
    );
    a.emit()
}

fn build_canonical(files: &[(String, Vec<u8>)], env: Option<Environment>) -> emit::Output {
    let a = analyze(
        files,
        &Options {
            env,
            ..Default::default()
        },
    );
    emit::emit_canonical(a.checked_model().expect("builds"), &a.places())
}

/// A deployment of `n` domains in the shape of `bench/gen.py` (a source, DKIM, a queue and a
/// shaping block per domain), split over three files, plus a production overlay.
fn generated(n: usize) -> Files {
    let mut head = String::from(
        "deployment \"bench\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\nsecret \"dkim-keys\" {}\n\npool main {\n",
    );
    for i in 0..n {
        head.push_str(&format!(
            "  source src-{i} {{\n    ehlo_domain    = \"mta{i}.example.com\"\n    source_address = 10.{}.{}.{}\n  }}\n",
            i / 62_500,
            i / 250 % 250,
            i % 250
        ));
    }
    head.push_str("}\n");
    let mut halves = [String::new(), String::new()];
    for i in 0..n {
        halves[i % 2].push_str(&format!(
            "\ndomain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    headers  = [\"From\", \"To\", \"Subject\"]\n    key      = secret(\"dkim-keys\")\n  }}\n}}\n\nqueue \"d{i}.example.com\" {{\n  egress_pool = main\n  max_age     = 2d\n}}\n\nshaping \"d{i}.example.com\" {{\n  mx_rollup        = false\n  max_message_rate = {}/s\n}}\n",
            10 + i % 90
        ));
    }
    let [even, odd] = halves;
    vec![
        ("gen/bench.kumo".to_string(), head.into_bytes()),
        ("gen/domains-even.kumo".to_string(), even.into_bytes()),
        ("gen/domains-odd.kumo".to_string(), odd.into_bytes()),
        (
            "gen/production.kumo".to_string(),
            b"env production {\n  shaping default { enable_tls = required }\n  queue default { max_age = 3d }\n}\n".to_vec(),
        ),
    ]
}

/// Every deployment of the repository that builds (the example, the lint and check
/// fixtures, a generated one), in each environment it builds for.
pub(crate) fn buildable() -> Vec<(String, Files, Option<Environment>)> {
    let mut all: Vec<(String, Files)> = vec![
        (
            "example-com".into(),
            fixture_files(&root().join("examples/example-com")),
        ),
        ("generated".into(), generated(12)),
    ];
    for dir in ["tests/fixtures/lints", "tests/fixtures/check"] {
        for f in fixtures(dir) {
            all.push((name(&f), fixture_files(&f)));
        }
    }
    let mut out = Vec::new();
    for (label, files) in all {
        for env in [None, Some(Environment::Production)] {
            if build(&files, env).is_some() {
                out.push((format!("{label} ({env:?})"), files.clone(), env));
            }
        }
    }
    assert!(
        out.len() >= 40,
        "most fixtures build ({} cases): the tests below cover them",
        out.len()
    );
    out
}

/// Where a comment may go without changing meaning: the start of each line that begins
/// between statements (inside no attribute, block header or comment), and the end of each
/// statement. Found from the syntax tree.
fn boundaries(text: &str) -> (Vec<usize>, Vec<usize>) {
    fn between(items: &[Stmt], at: u32) -> bool {
        for s in items {
            let sp = s.span();
            if sp.start < at && at < sp.end {
                return match s {
                    Stmt::Block(b) => {
                        b.body_span.start < at && at < b.body_span.end && between(&b.body, at)
                    }
                    _ => false,
                };
            }
        }
        true
    }
    fn ends(items: &[Stmt], out: &mut Vec<usize>) {
        for s in items {
            out.push(s.span().end as usize);
            if let Stmt::Block(b) = s {
                ends(&b.body, out);
            }
        }
    }
    let p = kumoc_lang::parse(text);
    let in_comment = |at: u32| {
        p.file
            .comments
            .iter()
            .any(|c| c.span.start < at && at < c.span.end)
    };
    let mut lines = vec![0];
    for (i, b) in text.bytes().enumerate() {
        let at = u32::try_from(i + 1).unwrap();
        if b == b'\n' && i + 1 < text.len() && between(&p.file.items, at) && !in_comment(at) {
            lines.push(i + 1);
        }
    }
    let mut stmt_ends = Vec::new();
    ends(&p.file.items, &mut stmt_ends);
    stmt_ends.retain(|&e| !in_comment(u32::try_from(e).unwrap()));
    (lines, stmt_ends)
}

/// `text` with comments and blank lines at every boundary.
fn with_comments(text: &str) -> String {
    const LINES: &[&str] = &[
        "// inserted\n",
        "\n",
        "# inserted\n",
        "/* inserted */\n",
        "\n  \n\n",
        "/* inserted\n   over two lines */\n",
    ];
    let (lines, ends) = boundaries(text);
    let mut edits: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .map(|(i, &at)| (at, LINES[i % LINES.len()]))
        .chain(ends.iter().map(|&at| (at, " /* inserted */")))
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (at, s) in edits {
        out.insert_str(at, s);
    }
    out
}

fn map_texts(files: &Files, mut f: impl FnMut(&str) -> String) -> Files {
    files
        .iter()
        .map(|(n, b)| (n.clone(), f(std::str::from_utf8(b).unwrap()).into_bytes()))
        .collect()
}

/// The first line where two outputs differ, for failure messages.
fn first_difference(a: &emit::Output, b: &emit::Output) -> String {
    for (path, x) in &a.files {
        let Some(y) = b.files.get(path) else {
            return format!("{path} missing");
        };
        for (i, (l, r)) in x.lines().zip(y.lines()).enumerate() {
            if l != r {
                return format!("{path}:{}:\n  - {l}\n  + {r}", i + 1);
            }
        }
        if x != y {
            return format!("{path}: lengths differ");
        }
    }
    format!(
        "files differ: {:?} vs {:?}",
        a.files.keys().collect::<Vec<_>>(),
        b.files.keys().collect::<Vec<_>>()
    )
}

#[test]
fn meaning_preserving_edits_change_no_emitted_byte() {
    let mut inserted = 0;
    for (label, files, env) in buildable() {
        let want = build(&files, env).unwrap();
        let commented = map_texts(&files, |t| {
            let c = with_comments(t);
            inserted += c.len() - t.len();
            c
        });
        let formatted = map_texts(&files, |t| kumoc_lang::format::format(t).unwrap());
        let both = map_texts(&commented, |t| kumoc_lang::format::format(t).unwrap());
        let mut reversed = files.clone();
        reversed.reverse();
        let elsewhere: Files = files
            .iter()
            .map(|(n, b)| (format!("/somewhere/else/checkout/{n}"), b.clone()))
            .collect();
        let nested: Files = files
            .iter()
            .map(|(n, b)| (format!("./a/../b/{n}"), b.clone()))
            .collect();
        for (what, variant) in [
            ("comments and blank lines at every boundary", &commented),
            ("kumoc fmt", &formatted),
            ("comments, then kumoc fmt", &both),
            ("the files in reverse order", &reversed),
            ("absolute names elsewhere", &elsewhere),
            ("names through other directories", &nested),
        ] {
            let got = build(variant, env).unwrap_or_else(|| {
                panic!("{label}: {what}: no longer builds");
            });
            assert!(
                got == want,
                "{label}: {what} changed the output: {}",
                first_difference(&want, &got)
            );
        }
    }
    assert!(
        inserted > 10_000,
        "comments were inserted ({inserted} bytes)"
    );
}

#[test]
fn the_comment_insertion_can_fail_the_test() {
    // With line numbers as provenance, the inserted lines move every value: the mutation
    // above changes the positions of nearly all statements.
    let files = fixture_files(&root().join("examples/example-com"));
    let commented = map_texts(&files, with_comments);
    let lines = |f: &Files| -> usize {
        f.iter()
            .map(|(_, b)| b.iter().filter(|&&c| c == b'\n').count())
            .sum()
    };
    assert!(lines(&commented) > 2 * lines(&files));
    let a = analyze(&files, &Options::default());
    let b = analyze(&commented, &Options::default());
    let line_of = |an: &kumoc_compiler::Analysis| -> Vec<String> {
        an.model.as_ref().unwrap().queues[0]
            .settings
            .values()
            .map(|s| an.sources.position(s.loc))
            .collect()
    };
    assert_ne!(line_of(&a), line_of(&b));
}

/// The place of the attribute at `target`, derived from the tree the way
/// `emit/provenance.rs` specifies it: blocks as `keyword label` (the label bare when it is a
/// plain name, quoted otherwise), a repeated sibling with its ordinal, joined with ` > `.
fn place(file: &str, items: &[Stmt], target: Span) -> Option<String> {
    fn name(t: &str) -> String {
        if !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            t.to_string()
        } else {
            format!("{t:?}")
        }
    }
    fn walk(items: &[Stmt], target: Span, path: &mut Vec<String>) -> bool {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for s in items {
            let base = match s {
                Stmt::Block(b) => match &b.label {
                    Some(l) => format!("{} {}", b.keyword.name, name(&l.text)),
                    None => b.keyword.name.as_str().to_owned(),
                },
                Stmt::Attr(a) => name(&a.key.name),
                Stmt::Error(_) => continue,
            };
            let n = seen.entry(base.clone()).or_insert(0);
            *n += 1;
            let seg = if *n > 1 { format!("{base}[{n}]") } else { base };
            match s {
                Stmt::Attr(a) if a.span == target => {
                    path.push(seg);
                    return true;
                }
                Stmt::Block(b) => {
                    path.push(seg);
                    if walk(&b.body, target, path) {
                        return true;
                    }
                    path.pop();
                }
                _ => {}
            }
        }
        false
    }
    let mut path = Vec::new();
    walk(items, target, &mut path).then(|| format!("{file}: {}", path.join(" > ")))
}

/// Every attribute with a number in its value (numbers with units, rates), with the value's
/// span: `(attribute span, value span)`.
fn numeric_attrs(items: &[Stmt], out: &mut Vec<(Span, Span)>) {
    for s in items {
        match s {
            Stmt::Attr(a) => {
                if let ValueKind::Number(raw) | ValueKind::Rate(raw) = &a.value.kind
                    && raw.bytes().any(|b| b.is_ascii_digit())
                {
                    out.push((a.span, a.value.span));
                }
            }
            Stmt::Block(b) => numeric_attrs(&b.body, out),
            Stmt::Error(_) => {}
        }
    }
}

/// `text` with the first number in `value` incremented (`24h` → `25h`, `100/s` → `101/s`).
fn bump(text: &str, value: Span) -> Option<String> {
    let v = &text[value.range()];
    let start = v.find(|c: char| c.is_ascii_digit())?;
    let len = v[start..]
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(v.len() - start);
    let n: u64 = v[start..start + len].parse().ok()?;
    let at = value.start as usize + start;
    Some(format!("{}{}{}", &text[..at], n + 1, &text[at + len..]))
}

#[test]
fn one_value_changes_only_the_lines_that_name_its_place() {
    let mut checked = 0;
    for (label, files, env) in buildable() {
        let before = build(&files, env).unwrap();
        let toml: String = before
            .files
            .iter()
            .filter(|(k, _)| k.starts_with("policy/") && k.ends_with(".toml"))
            .map(|(_, v)| v.as_str())
            .collect();
        let analysis = analyze(&files, &Options::default());
        for (fi, (file_name, bytes)) in files.iter().enumerate() {
            let rel = analysis
                .user_files()
                .find(|(_, f)| &f.name == file_name)
                .map(|(_, f)| f.rel.clone())
                .unwrap();
            let text = std::str::from_utf8(bytes).unwrap();
            let tree = kumoc_lang::parse(text);
            let mut attrs = Vec::new();
            numeric_attrs(&tree.file.items, &mut attrs);
            for (attr, value) in attrs {
                let Some(place) = place(&rel, &tree.file.items, attr) else {
                    panic!("{label}: no place for {attr:?}");
                };
                // Values the helper files carry (KumoMTA settings) name their place there.
                if !toml.contains(&format!(" # {place}\n")) {
                    continue;
                }
                let Some(changed) = bump(text, value) else {
                    continue;
                };
                let mut mutated = files.clone();
                mutated[fi].1 = changed.into_bytes();
                let Some(after) = build(&mutated, env) else {
                    continue; // out of range: refused, nothing emitted
                };
                assert_eq!(
                    before.files.keys().collect::<Vec<_>>(),
                    after.files.keys().collect::<Vec<_>>(),
                    "{label}: changing {place} changed the set of files"
                );
                let mut differing = 0;
                for (path, old) in &before.files {
                    let new = &after.files[path];
                    assert_eq!(
                        old.lines().count(),
                        new.lines().count(),
                        "{label}: changing {place} moved lines of {path}"
                    );
                    for (l, r) in old.lines().zip(new.lines()) {
                        if l == r {
                            continue;
                        }
                        differing += 1;
                        let names_it = |line: &str| {
                            line.ends_with(&place)
                                || line.contains(&format!("{place})"))
                                || line.contains(&format!("{place},"))
                        };
                        assert!(
                            (names_it(l) && names_it(r))
                                || (l.contains("kumoc.dev/policy-checksum:")
                                    && r.contains("kumoc.dev/policy-checksum:")),
                            "{label}: changing {place} changed a line that does not derive from it, in {path}:\n  - {l}\n  + {r}"
                        );
                    }
                }
                assert!(differing > 0, "{label}: changing {place} changed nothing");
                checked += 1;
            }
        }
    }
    assert!(checked >= 60, "values changed: {checked}");
}

/// Each policy file of `full` is its canonical form plus comments: the canonical lines in
/// order, each equal to a line of the full file or to its start before a ` # ` comment,
/// and every other line of the full file a comment line or blank.
fn is_canonical_plus_comments(path: &str, full: &str, canonical: &str) {
    let comment = if path.ends_with(".lua") { "--" } else { "#" };
    let mut canon = canonical.lines().peekable();
    for line in full.lines() {
        match canon.peek() {
            Some(c)
                if line == *c
                    || (comment == "#"
                        && line
                            .strip_prefix(*c)
                            .is_some_and(|rest| rest.starts_with(" # "))) =>
            {
                canon.next();
            }
            _ => assert!(
                line.trim().is_empty() || line.trim_start().starts_with(comment),
                "{path}: `{line}` is in the commented file but not in the canonical form"
            ),
        }
    }
    assert!(
        canon.next().is_none(),
        "{path}: the canonical form has lines the commented file lacks"
    );
    assert!(
        canonical
            .lines()
            .all(|l| !l.trim_start().starts_with(comment)),
        "{path}: comment lines in the canonical form"
    );
}

#[test]
fn the_canonical_form_is_what_the_consumers_read() {
    for (label, files, env) in buildable() {
        let full = build(&files, env).unwrap();
        let canonical = build_canonical(&files, env);
        assert_eq!(
            full.files.keys().collect::<Vec<_>>(),
            canonical.files.keys().collect::<Vec<_>>()
        );
        for (path, text) in &full.files {
            let canon = &canonical.files[path];
            if let Some(name) = path.strip_prefix("policy/") {
                is_canonical_plus_comments(path, text, canon);
                if name.ends_with(".toml") {
                    let a: toml::Value = toml::from_str(text).unwrap();
                    let b: toml::Value = toml::from_str(canon).unwrap();
                    assert_eq!(a, b, "{label}: {path} reads differently without comments");
                }
            } else if !path.starts_with("k8s/configmap-") {
                // Manifests other than the ConfigMaps (which hold the files) are the same,
                // checksum annotations included: comments are not covered. A value a
                // manifest derives from a KumoMTA setting names the setting's place in a
                // trailing comment (`for: 12h # ...: mail.kumo: queue default > max_age`),
                // which the canonical form leaves out: line for line, nothing else differs.
                assert_eq!(
                    text.lines().count(),
                    canon.lines().count(),
                    "{label}: {path}"
                );
                for (l, c) in text.lines().zip(canon.lines()) {
                    assert!(
                        l == c
                            || l.strip_prefix(c)
                                .is_some_and(|rest| rest.starts_with(" # ")),
                        "{label}: {path}: {l:?} is not {c:?} with a comment"
                    );
                }
                let a: serde_json::Value = serde_norway::from_str(text).unwrap();
                let b: serde_json::Value = serde_norway::from_str(canon).unwrap();
                assert_eq!(a, b, "{label}: {path} reads differently without comments");
            }
        }
    }
}

/// Write the policy files and the Secret files the example's pods mount.
fn deploy(out: &emit::Output, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            write(&dir.join("policy").join(name), content);
        }
    }
    let files = dir.join("files");
    write(
        &files.join("opt/kumomta/etc/dkim/dkim-keys/example.com.default.key"),
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    );
    write(
        &files.join("opt/kumomta/etc/secrets/redis-auth/password"),
        "pass\n",
    );
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn lua_runs_the_canonical_form_as_the_commented_policy() {
    let dir = std::env::temp_dir().join(format!("kumoc-canonical-{}", std::process::id()));
    for env in [None, Some(Environment::Production)] {
        let files = fixture_files(&root().join("examples/example-com"));
        let mut runs = Vec::new();
        for (tag, out) in [
            ("full", build(&files, env).unwrap()),
            ("canonical", build_canonical(&files, env)),
        ] {
            let d = dir.join(tag);
            deploy(&out, &d);
            let mut seen = Vec::new();
            for file in ["init.lua", "tsa_init.lua", "sink.lua"] {
                if !out.files.contains_key(&format!("policy/{file}")) {
                    continue;
                }
                let p = Policy::load(
                    &d.join("policy"),
                    &d.join("files"),
                    file,
                    "2025.03.19-1d3f1f67",
                )
                .unwrap_or_else(|e| panic!("{tag} {file}: {e}"));
                let events = p.registered_events();
                for event in ["init", "tsa_init"] {
                    if events.iter().any(|e| e == event) {
                        p.fire(event, vec![]).unwrap();
                    }
                }
                seen.push((file, events, p.calls()));
            }
            runs.push(seen);
        }
        assert!(runs[0].iter().all(|(_, _, calls)| !calls.is_empty()));
        assert_eq!(runs[0], runs[1], "{env:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn checksums(out: &emit::Output) -> Vec<String> {
    out.files
        .values()
        .flat_map(|t| t.lines())
        .filter(|l| l.contains("kumoc.dev/policy-checksum:"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_change_of_provenance_only_rolls_no_pod() {
    let files = fixture_files(&root().join("examples/example-com"));
    let mut moved_blocks = 0;
    for env in [None, Some(Environment::Production)] {
        let full = build(&files, env).unwrap();
        let canonical = build_canonical(&files, env);
        assert_eq!(checksums(&full).len(), if env.is_none() { 3 } else { 2 });
        let mut variants: Vec<(String, Files)> = Vec::new();
        // A file holding only a comment: every header lists it.
        let mut extra = files.clone();
        extra.push(("notes.kumo".into(), b"// notes\n".to_vec()));
        variants.push(("a file of comments".into(), extra));
        // Each top-level block moved to a file of its own.
        for (fi, (_, bytes)) in files.iter().enumerate() {
            let text = std::str::from_utf8(bytes).unwrap();
            for s in kumoc_lang::parse(text).file.items {
                let Stmt::Block(b) = s else { continue };
                let mut v = files.clone();
                v[fi].1 = format!(
                    "{}{}",
                    &text[..b.span.start as usize],
                    &text[b.span.end as usize..]
                )
                .into_bytes();
                v.push((
                    "moved.kumo".into(),
                    text[b.span.range()].as_bytes().to_vec(),
                ));
                variants.push((
                    format!(
                        "`{} {}` moved",
                        b.keyword.name,
                        b.label_text().unwrap_or("")
                    ),
                    v,
                ));
            }
        }
        for (what, v) in variants {
            let Some(got) = build(&v, env) else {
                panic!("{what}: no longer builds");
            };
            assert_ne!(got, full, "{what}: the provenance changed");
            assert_eq!(checksums(&got), checksums(&full), "{what}: pods would roll");
            let canon = build_canonical(&v, env);
            assert!(
                canon == canonical,
                "{what}: {}",
                first_difference(&canonical, &canon)
            );
            moved_blocks += 1;
        }
    }
    assert!(moved_blocks > 10);
}

// ---- The CLI, from anywhere ----

fn kumoc(cwd: &Path) -> Command {
    let mut c = Command::new(insta_cmd::get_cargo_bin("kumoc"));
    c.current_dir(cwd).env("NO_COLOR", "1");
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

fn s(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn the_cli_builds_the_same_bytes_from_anywhere() {
    let tmp = std::env::temp_dir().join(format!("kumoc-anywhere-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let example = root().join("examples/example-com");
    let copy = tmp.join("another/checkout/deep/example-com");
    copy_dir(&example, &copy);
    let gen_dir = tmp.join("gen/dep");
    for (name, bytes) in generated(30) {
        write(
            &gen_dir.join(name.trim_start_matches("gen/")),
            std::str::from_utf8(&bytes).unwrap(),
        );
    }
    let names = |dir: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let mut n = 0;
    let mut run = |cwd: &Path, args: Vec<String>, env: Option<&str>| -> BTreeMap<String, Vec<u8>> {
        n += 1;
        let out = tmp.join(format!("out-{n}"));
        let mut c = kumoc(cwd);
        c.arg("build").args(&args).arg("-o").arg(&out);
        if let Some(e) = env {
            c.args(["--env", e]);
        }
        let o = c.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "kumoc build {args:?} in {}: {}",
            cwd.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        read_tree(&out)
    };
    for env in [None, Some("production")] {
        let want = run(&root(), vec!["examples/example-com".into()], env);
        let mut files_reversed = names(&example);
        files_reversed.reverse();
        let mixed: Vec<String> = names(&example)
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if i % 2 == 0 {
                    format!("examples/example-com/{f}")
                } else {
                    s(&example.join(f))
                }
            })
            .collect();
        let ways: Vec<(&str, PathBuf, Vec<String>)> = vec![
            ("an absolute path", root(), vec![s(&example)]),
            (
                "from examples/",
                root().join("examples"),
                vec!["example-com".into()],
            ),
            ("from inside, `.`", example.clone(), vec![".".into()]),
            (
                "file arguments in reverse order",
                example.clone(),
                files_reversed,
            ),
            ("relative and absolute file arguments", root(), mixed),
            ("a copy elsewhere, absolute", tmp.clone(), vec![s(&copy)]),
            (
                "a copy elsewhere, through ..",
                copy.parent().unwrap().to_path_buf(),
                vec!["./example-com/../example-com".into()],
            ),
        ];
        for (what, cwd, args) in ways {
            let got = run(&cwd, args, env);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                want.keys().collect::<Vec<_>>(),
                "{what} ({env:?})"
            );
            for (path, bytes) in &want {
                assert!(
                    &got[path] == bytes,
                    "{what} ({env:?}): {path} differs:\n{}",
                    String::from_utf8_lossy(&got[path])
                );
            }
        }
        // The generated deployment: by directory, by absolute path, by its files from above.
        let want = run(&tmp.join("gen"), vec!["dep".into()], env);
        let files_from_root: Vec<String> = names(&gen_dir)
            .iter()
            .map(|f| s(&gen_dir.join(f)))
            .collect();
        for (what, cwd, args) in [
            ("generated, absolute", root(), vec![s(&gen_dir)]),
            ("generated, absolute files", tmp.clone(), files_from_root),
            ("generated, from inside", gen_dir.clone(), vec![".".into()]),
        ] {
            assert!(run(&cwd, args, env) == want, "{what} ({env:?})");
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}
