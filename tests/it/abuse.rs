//! The CLI stays responsive on abusive input: bounded human output, bounded input, fixes
//! to a fixpoint in one run, and a lint gate that a compile error elsewhere does not
//! silence.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use kumoc_compiler::{Options, analyze};

use crate::support::root;

fn kumoc(cwd: &Path) -> Command {
    let mut c = Command::new(insta_cmd::get_cargo_bin("kumoc"));
    c.current_dir(cwd).env("NO_COLOR", "1");
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kumoc-abuse-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run to completion; a run that does not end within a minute is a hang (it is killed and
/// the test fails). Passing runs take well under a second: this bounds a failure, it does
/// not time anything.
fn run(mut cmd: Command) -> Output {
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid]).status();
            panic!("kumoc did not finish within a minute: {cmd:?}");
        }
    }
}

const DEPLOYMENT: &str = "deployment \"t\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\npool main {\n  source main-00 { ehlo_domain = \"mta.example.com\" }\n}\nqueue default {\n  egress_pool = main\n}\n";

/// 2,000 findings on one line of about 1 MB: the human output shows a window of the line
/// around each label (never the whole line), at most `--max-diagnostics` of them and a
/// count of the rest; JSON and SARIF list every one. Every location shown is the real one.
#[test]
fn long_lines_and_many_findings_stay_bounded() {
    let dir = scratch("long");
    std::fs::write(dir.join("d.kumo"), DEPLOYMENT).unwrap();
    let pad = "x".repeat(480);
    let keys: Vec<String> = (0..2000).map(|i| format!("\"{pad}{i}\"")).collect();
    let line = format!("secret \"s\" {{ keys = [{}] }}\n", keys.join(", "));
    assert!(line.len() > 950_000);
    std::fs::write(dir.join("long.kumo"), format!("// one long line\n{line}")).unwrap();

    let json = run({
        let mut c = kumoc(&dir);
        c.args(["check", ".", "--format", "json"]);
        c
    });
    let all: Vec<serde_json::Value> = serde_json::from_slice(&json.stdout).unwrap();
    let on_the_line: Vec<&serde_json::Value> =
        all.iter().filter(|d| d["file"] == "./long.kumo").collect();
    assert!(on_the_line.len() >= 2000, "{}", on_the_line.len());
    let sarif = run({
        let mut c = kumoc(&dir);
        c.args(["check", ".", "--format", "sarif"]);
        c
    });
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    assert_eq!(
        sarif["runs"][0]["results"].as_array().unwrap().len(),
        all.len()
    );

    // Default: a bounded number, the rest counted.
    let o = run({
        let mut c = kumoc(&dir);
        c.args(["check", "."]);
        c
    });
    assert_eq!(o.status.code(), Some(1));
    let human = String::from_utf8_lossy(&o.stdout);
    let more = format!("... and {} more not shown", all.len() - 100);
    assert!(
        human.contains(&more),
        "{more}\n{}",
        &human[human.len() - 600..]
    );
    assert!(human.len() < 100 * 2_000, "{} bytes", human.len());

    // All of them: every line short, every header at the real line and column.
    let o = run({
        let mut c = kumoc(&dir);
        c.args(["check", ".", "--max-diagnostics", "0"]);
        c
    });
    let human = String::from_utf8_lossy(&o.stdout);
    assert!(!human.contains("more not shown"));
    let longest = human.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(longest < 700, "a line of {longest} characters");
    assert!(human.len() < all.len() * 2_000, "{} bytes", human.len());
    let headers: Vec<String> = human
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("┌─ "))
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = all
        .iter()
        .map(|d| {
            format!(
                "{}:{}:{}",
                d["file"].as_str().unwrap(),
                d["line"],
                d["column"]
            )
        })
        .collect();
    assert_eq!(headers, expected);
    // The window shows the label's own text: the end of the 1000th key.
    assert!(human.contains(&format!("x{}\"", 999)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn inputs_are_bounded() {
    let dir = scratch("inputs");
    let mkfifo = |p: &Path| {
        assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
    };
    mkfifo(&dir.join("fifo.kumo"));
    std::fs::create_dir_all(dir.join("with-fifo")).unwrap();
    std::fs::write(dir.join("with-fifo/d.kumo"), DEPLOYMENT).unwrap();
    mkfifo(&dir.join("with-fifo/z.kumo"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.kumo")).unwrap();
    // Sparse files: big on paper, no disk used.
    let big = std::fs::File::create(dir.join("big.kumo")).unwrap();
    big.set_len(65 << 20).unwrap();
    std::fs::create_dir_all(dir.join("two-halves")).unwrap();
    for name in ["a.kumo", "b.kumo"] {
        let f = std::fs::File::create(dir.join("two-halves").join(name)).unwrap();
        f.set_len(40 << 20).unwrap();
    }
    std::fs::create_dir_all(dir.join("secret")).unwrap();
    std::fs::write(
        dir.join("secret/d.kumo"),
        format!(
            "{DEPLOYMENT}secret \"dkim-keys\" {{\n  files {{\n    \"example.com.s1.key\" = \"huge.pem\"\n  }}\n}}\n"
        ),
    )
    .unwrap();
    let f = std::fs::File::create(dir.join("secret/huge.pem")).unwrap();
    f.set_len(2 << 20).unwrap();

    for (args, says) in [
        (
            vec!["check", "fifo.kumo"],
            "fifo.kumo: not a regular file (a FIFO)",
        ),
        (
            vec!["check", "with-fifo"],
            "z.kumo: not a regular file (a FIFO)",
        ),
        (vec!["fmt", "fifo.kumo"], "not a regular file (a FIFO)"),
        (
            vec!["build", "fifo.kumo", "-o", "out"],
            "not a regular file (a FIFO)",
        ),
        (vec!["check", "/dev/zero"], "not a regular file (a device)"),
        (vec!["check", "zero.kumo"], "not a regular file (a device)"),
        (vec!["check", "big.kumo"], "big.kumo: over 64 MiB"),
        (vec!["check", "two-halves"], "b.kumo: over 64 MiB"),
        (
            vec!["build", "secret", "--secrets", "-o", "out"],
            "huge.pem: over 1 MiB",
        ),
    ] {
        let o = run({
            let mut c = kumoc(&dir);
            c.args(&args);
            c
        });
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
    assert!(!dir.join("out").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A deployment where fixes come in rounds: the field's name is fixed first, then its
/// value can be checked and fixed.
const CHAINED: &str = "deployment \"t\" {\n  namespace = \"mail\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\npool main {\n  source main-00 { ehlo_domain = \"mta.example.com\" }\n}\nqueue default {\n  egress_pool = main\n  max_agee = 90\n}\n";

#[test]
fn one_fix_run_reaches_the_fixpoint() {
    let dir = scratch("fix");
    let file = dir.join("d.kumo");
    std::fs::write(&file, CHAINED).unwrap();
    let o = kumoc(&dir)
        .args(["check", "d.kumo", "--fix", "--unsafe-fixes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The rename first, then the fixes of the value it reveals: several rounds, one run.
    assert!(
        stderr.contains(" rounds)") && !stderr.contains("did not settle"),
        "{}",
        text(&o)
    );
    let once = std::fs::read_to_string(&file).unwrap();
    assert!(
        once.contains("max_age ") && !once.contains("max_agee"),
        "{once}"
    );
    assert!(
        once.contains("= 90s\n"),
        "the bare number is fixed too: {once}"
    );
    // An unsafe fix is a guess: the problem it makes (90 s leaves room for one attempt,
    // KUMO-QUE002, whose fix raises `max_age`) is reported, not fixed by a second guess.
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("KUMO-QUE002"),
        "{}",
        text(&o)
    );
    // A second run finds nothing left to fix safely.
    let o = kumoc(&dir)
        .args(["check", "d.kumo", "--fix"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("fixed"),
        "{}",
        text(&o)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), once);
    let _ = std::fs::remove_dir_all(&dir);
}

fn fixture_sets() -> Vec<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for dir in [
        "tests/fixtures/lints",
        "tests/fixtures/check",
        "tests/fixtures/cli",
    ] {
        for path in crate::support::fixtures(dir) {
            out.push(crate::support::fixture_files(&path));
        }
    }
    out.push(vec![(
        "chained.kumo".to_string(),
        CHAINED.as_bytes().to_vec(),
    )]);
    out
}

/// For every fixture: fixing to the fixpoint settles, and fixing the result again changes
/// nothing (one run leaves the files as fixed as they can be). With unsafe fixes, a second
/// run may still offer an unsafe fix for a problem the first run's guess made (it is never
/// applied in the same run), but finds nothing to fix safely.
#[test]
fn fixes_settle_on_every_fixture() {
    let options = Options::default();
    for files in fixture_sets() {
        let name = files[0].0.clone();
        for unsafe_fixes in [false, true] {
            let first = kumoc_compiler::fix::until_stable(
                files.clone(),
                &options,
                unsafe_fixes,
                kumoc_compiler::fix::MAX_ROUNDS,
            );
            assert!(first.converged, "{name}: fixes did not settle");
            let again = kumoc_compiler::fix::until_stable(
                first.files.clone(),
                &options,
                false,
                kumoc_compiler::fix::MAX_ROUNDS,
            );
            assert_eq!(
                again.applied, 0,
                "{name} (unsafe fixes: {unsafe_fixes}): a second run still fixed something"
            );
            assert_eq!(again.files, first.files, "{name}");
        }
    }
    // The bound is reported: stopped after one round, the chain has not settled.
    let cut = kumoc_compiler::fix::until_stable(
        vec![("chained.kumo".to_string(), CHAINED.as_bytes().to_vec())],
        &options,
        true,
        1,
    );
    assert!(!cut.converged);
    assert_eq!(cut.rounds, 1);
}

/// A block with a compile error, in a block no lint fixture touches.
const BROKEN: &str = "\nprovider \"zz-broken\" {\n  no_such_field = 1\n}\n";

fn lint_fixtures() -> Vec<(String, String)> {
    crate::support::fixtures("tests/fixtures/lints")
        .into_iter()
        .filter_map(|p| {
            let code = crate::support::name(&p);
            code.starts_with("KUMO-")
                .then(|| (code, std::fs::read_to_string(&p).unwrap()))
        })
        .collect()
}

fn analyze_text(text: &str) -> kumoc_compiler::Analysis {
    analyze(
        &[("f.kumo".to_string(), text.as_bytes().to_vec())],
        &Options::default(),
    )
}

fn codes(a: &kumoc_compiler::Analysis, code: &str) -> Vec<String> {
    a.diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d| format!("{} {:?}", d.message, d.primary().map(|l| l.loc)))
        .collect()
}

/// For every lint rule's fixture: a compile error in another block leaves its finding
/// reported, and its suppression neither reported unused nor unapplied; an unused
/// suppression is reported only once the deployment compiles.
#[test]
fn a_compile_error_elsewhere_does_not_silence_the_lint_gate() {
    for (code, text) in lint_fixtures() {
        let clean = analyze_text(&text);
        let found = codes(&clean, &code);
        // Rules enforced by the checker have no finding of their own code.
        let Some(hit) = clean.diagnostics.iter().find(|d| d.code == code) else {
            continue;
        };
        let broken = analyze_text(&format!("{text}{BROKEN}"));
        assert!(
            broken.diagnostics.iter().any(|d| d.code == "K1002"),
            "{code}: the broken block is an error"
        );
        assert_eq!(
            codes(&broken, &code),
            found,
            "{code}: the lint ran on what checked"
        );

        // Suppressed where it is found: neither the finding nor K3001, with or without
        // the error.
        let line = clean
            .sources
            .get(hit.primary().unwrap().loc.file)
            .unwrap()
            .line_of(hit.primary().unwrap().loc.span.start);
        let mut lines: Vec<&str> = text.lines().collect();
        let allow = format!("// kumoc-allow({code}): tested");
        lines.insert(line, &allow);
        let suppressed = lines.join("\n") + "\n";
        for variant in [suppressed.clone(), format!("{suppressed}{BROKEN}")] {
            let a = analyze_text(&variant);
            assert!(
                codes(&a, &code).is_empty(),
                "{code}: not suppressed\n{variant}"
            );
            assert!(
                codes(&a, "K3001").is_empty(),
                "{code}: reported unused\n{variant}"
            );
        }
    }
    // A suppression that covers nothing: reported once the deployment compiles, not before.
    let unused = format!("{DEPLOYMENT}// kumoc-allow(KUMO-SEC001): nothing here\n");
    assert_eq!(codes(&analyze_text(&unused), "K3001").len(), 1);
    let with_error = format!("{DEPLOYMENT}{BROKEN}// kumoc-allow(KUMO-SEC001): nothing here\n");
    assert!(codes(&analyze_text(&with_error), "K3001").is_empty());
}

/// A finding in the block that has the error is not trusted (the block's values that did
/// not check are missing from the model), in whichever file or overlay the block is.
#[test]
fn findings_in_a_broken_block_are_dropped() {
    // KUMO-TLS001 (TLS downgrade) fires on this shaping block...
    let fixture =
        std::fs::read_to_string(root().join("tests/fixtures/lints/KUMO-TLS001.kumo")).unwrap();
    assert!(!codes(&analyze_text(&fixture), "KUMO-TLS001").is_empty());
    // ...but not when the same block has an error, here or in an `env` overlay.
    let block = fixture
        .lines()
        .find(|l| l.starts_with("shaping "))
        .unwrap()
        .trim_end_matches(" {")
        .to_string();
    for extra in [
        format!("{block} {{\n  no_such_field = 1\n}}\n"),
        format!("env production {{\n  {block} {{\n    no_such_field = 1\n  }}\n}}\n"),
    ] {
        let a = analyze_text(&format!("{fixture}\n{extra}"));
        assert!(a.has_errors(), "{extra}");
        assert!(codes(&a, "KUMO-TLS001").is_empty(), "{extra}");
    }
}
