//! `kumoc build -o DIR` through the real binary: the output directory is the only thing a
//! build may replace, and no failure (refusal, compile error, full disk, file-size limit,
//! signal, a killed earlier build) leaves anything beside it or changes it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::root;

fn kumoc(cwd: &Path) -> Command {
    let mut c = Command::new(insta_cmd::get_cargo_bin("kumoc"));
    c.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("KUMOC_TEST_STALL_AFTER_FILES")
        .env_remove("KUMOC_TEST_FAIL_FSYNC")
        .env_remove("KUMOC_TEST_FAIL_WRITE_AFTER_FILES");
    c
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kumoc-outdir-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Canonical, so paths given to kumoc and paths compared agree (/tmp may be a link).
    std::fs::canonicalize(dir).unwrap()
}

/// A copy of the example deployment in `dir/deploy`.
fn example_in(dir: &Path) -> PathBuf {
    let deploy = dir.join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    for e in std::fs::read_dir(root().join("examples/example-com")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, deploy.join(p.file_name().unwrap())).unwrap();
    }
    deploy
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir,
    File(Vec<u8>),
    Link(PathBuf),
    Other,
}

/// Everything under `root`, never following a symlink.
fn tree(root: &Path) -> BTreeMap<String, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Entry>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let entry = if meta.file_type().is_symlink() {
                Entry::Link(std::fs::read_link(&p).unwrap())
            } else if meta.is_dir() {
                walk(root, &p, out);
                Entry::Dir
            } else if meta.is_file() {
                Entry::File(std::fs::read(&p).unwrap())
            } else {
                Entry::Other
            };
            out.insert(rel, entry);
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Names in `dir` that look like kumoc's temporary trees.
fn debris(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".kumoc-new-") || n.contains(".kumoc-old-"))
        .collect()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn build(cwd: &Path, args: &[&str]) -> Output {
    kumoc(cwd).arg("build").args(args).output().unwrap()
}

/// A previous output of the example in `dir/out`.
fn previous_output(dir: &Path) -> PathBuf {
    let o = build(dir, &["deploy", "-o", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    dir.join("out")
}

#[test]
fn hostile_output_dirs_are_refused_and_nothing_is_touched() {
    let dir = scratch("hostile");
    example_in(&dir);
    previous_output(&dir);
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    std::fs::create_dir_all(dir.join("photos")).unwrap();
    std::fs::write(dir.join("photos/cat.jpg"), "meow").unwrap();
    std::fs::create_dir_all(dir.join("fake/.kumoc-output")).unwrap();
    std::fs::create_dir_all(dir.join("garbled")).unwrap();
    std::fs::write(dir.join("garbled/.kumoc-output"), "not a marker\n").unwrap();
    std::fs::create_dir_all(dir.join("newer")).unwrap();
    std::fs::write(
        dir.join("newer/.kumoc-output"),
        "format = 99\ndeployment = \"example-com\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("acme")).unwrap();
    std::fs::write(
        dir.join("acme/.kumoc-output"),
        "format = 1\ndeployment = \"acme\"\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("deploy", dir.join("to-sources")).unwrap();
    std::os::unix::fs::symlink("out", dir.join("to-output")).unwrap();
    std::os::unix::fs::symlink("nowhere", dir.join("dangling")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("fifo"))
            .status()
            .unwrap()
            .success()
    );
    // A deployment that reads a secret file kept inside a previous kumoc output.
    let keyed = dir.join("keyed");
    std::fs::create_dir_all(&keyed).unwrap();
    std::fs::write(
        keyed.join("d.kumo"),
        "deployment \"example-com\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\nsecret \"dkim-keys\" {\n  files {\n    \"example.com.s1.key\" = \"../out/k.pem\"\n  }\n}\ndomain \"example.com\" {\n  dkim {\n    selector = \"s1\"\n    headers = [\"From\"]\n    key = secret(\"dkim-keys\")\n  }\n}\npool p {\n  source s {}\n}\n",
    )
    .unwrap();
    std::fs::write(dir.join("out/k.pem"), "-----BEGIN PRIVATE KEY-----\n").unwrap();

    let sub = dir.join("deploy");
    let abs = dir.to_string_lossy().into_owned();
    // (working directory, arguments, what the refusal says)
    let cases: Vec<(&Path, Vec<&str>, &str)> = vec![
        (&dir, vec!["deploy", "-o", "deploy"], "holds the input"),
        (&dir, vec!["deploy", "-o", "deploy/"], "holds the input"),
        (&dir, vec!["deploy", "-o", "./deploy/."], "holds the input"),
        (
            &dir,
            vec!["deploy", "-o", "out/../deploy"],
            "holds the input",
        ),
        (
            &dir,
            vec!["deploy", "-o", "to-sources/.."],
            "current directory",
        ),
        (&dir, vec!["to-sources", "-o", "deploy"], "holds the input"),
        (&sub, vec![".", "-o", "."], "current directory"),
        (&sub, vec![".", "-o", "./"], "current directory"),
        (&sub, vec![".", "-o", ".."], "current directory"),
        (&dir, vec!["deploy", "-o", "."], "current directory"),
        (&dir, vec!["deploy", "-o", &abs], "current directory"),
        (&sub, vec![".", "-o", &abs], "current directory"),
        (&dir, vec!["deploy", "-o", "/"], "root directory"),
        (
            &dir,
            vec!["deploy", "-o", "deploy/deployment.kumo"],
            "is a file",
        ),
        (&dir, vec!["deploy", "-o", "notes.txt"], "is a file"),
        (&dir, vec!["deploy", "-o", "notes.txt/"], "is a file"),
        (&dir, vec!["deploy", "-o", "fifo"], "not a directory"),
        (&dir, vec!["deploy", "-o", "to-sources"], "symbolic link"),
        (&dir, vec!["deploy", "-o", "to-sources/"], "symbolic link"),
        (&dir, vec!["deploy", "-o", "to-output"], "symbolic link"),
        (&dir, vec!["deploy", "-o", "dangling"], "symbolic link"),
        (
            &dir,
            vec!["deploy", "-o", "photos"],
            "kumoc did not write it",
        ),
        (&dir, vec!["deploy", "-o", "fake"], "not a kumoc marker"),
        (&dir, vec!["deploy", "-o", "garbled"], "not a kumoc marker"),
        (&dir, vec!["deploy", "-o", "newer"], "newer kumoc"),
        (&dir, vec!["deploy", "-o", "acme"], "deployment `acme`"),
        (
            &dir,
            vec!["deploy", "-o", "notes.txt/sub"],
            "Not a directory",
        ),
        (
            &dir,
            vec!["deploy", "-o", "missing/../out"],
            "does not exist",
        ),
        (
            &dir,
            vec!["keyed", "--secrets", "-o", "out"],
            "holds the input",
        ),
    ];
    for (cwd, args, says) in cases {
        let before = tree(&dir);
        let o = build(cwd, &args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        // One line says what and why (after the diagnostics, when the refusal needed
        // the deployment's name).
        let last = stderr.lines().last().unwrap_or("");
        assert!(
            last.starts_with("kumoc: error: ")
                && last.contains(says)
                && stderr.lines().filter(|l| l.starts_with("kumoc:")).count() == 1,
            "{args:?} must say `{says}` in one line: {stderr}"
        );
        assert!(o.stdout.is_empty(), "{args:?}: {}", text(&o));
        assert!(
            tree(&dir) == before,
            "{args:?} changed the tree: {}",
            text(&o)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_build_may_replace_and_create() {
    let dir = scratch("accepted");
    let deploy = example_in(&dir);
    let sources = tree(&deploy);
    // A new directory, with missing parents.
    let o = build(&dir, &["deploy", "-o", "a/b/out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let marker = std::fs::read_to_string(dir.join("a/b/out/.kumoc-output")).unwrap();
    assert!(marker.contains("deployment = \"example-com\""), "{marker}");
    assert!(debris(&dir.join("a/b")).is_empty());
    // Its own previous output (another environment, a stray file inside: replaced whole).
    std::fs::write(dir.join("a/b/out/stray.txt"), "").unwrap();
    let o = build(&dir, &["deploy", "-o", "a/b/out/", "--env", "production"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!dir.join("a/b/out/stray.txt").exists());
    assert!(!dir.join("a/b/out/policy/sink.lua").exists());
    assert!(debris(&dir.join("a/b")).is_empty());
    // An empty directory.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let o = build(&dir, &["deploy", "-o", "empty"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // A directory inside the sources' directory: only `*.kumo` directly inside are read.
    let o = build(&dir, &["deploy", "-o", "deploy/out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = build(&dir, &["deploy", "-o", "deploy/out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut now = tree(&deploy);
    now.retain(|k, _| !k.starts_with("out"));
    assert_eq!(now, sources, "the sources are untouched");
    assert!(debris(&deploy).is_empty());
    let o = kumoc(&dir).args(["check", "deploy"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Given through a symlinked parent, and as an absolute path.
    std::os::unix::fs::symlink(".", dir.join("here")).unwrap();
    let o = build(&dir, &["deploy", "-o", "here/empty"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let abs = dir.join("empty");
    let o = build(&deploy, &[".", "-o", abs.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(debris(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn build_check_only_reads() {
    let dir = scratch("check");
    example_in(&dir);
    let out = previous_output(&dir);
    // A link loop and a link to a device inside the output: never followed.
    std::os::unix::fs::symlink(".", out.join("policy/loop")).unwrap();
    std::fs::remove_file(out.join("policy/init.lua")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", out.join("policy/init.lua")).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine\n").unwrap();
    for (target, says) in [
        ("out", "changed: policy/init.lua"),
        ("deploy", "not a kumoc output"),
        (".", "not a kumoc output"),
        ("/", "not a kumoc output"),
        ("notes.txt", "not a directory"),
        ("nothing/here", "missing: policy/init.lua"),
    ] {
        let before = tree(&dir);
        let o = build(&dir, &["deploy", "-o", target, "--check"]);
        assert_eq!(o.status.code(), Some(1), "{target}: {}", text(&o));
        assert!(
            String::from_utf8_lossy(&o.stdout).contains(says),
            "{target}: {}",
            text(&o)
        );
        assert!(tree(&dir) == before, "{target}: --check wrote");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start a build that stalls (test hook) after writing 3 files of its new tree; returns
/// once it has said so.
fn stalled_build(cwd: &Path, out: &str) -> std::process::Child {
    let mut child = kumoc(cwd)
        .args(["build", "deploy", "-o", out])
        .env("KUMOC_TEST_STALL_AFTER_FILES", "3")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.contains("test hook: stalled"), "{line}");
    child
}

fn signal(child: &std::process::Child, sig: &str) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-s", sig, &pid])
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn interrupted_builds_leave_the_output_as_it_was() {
    let dir = scratch("signals");
    example_in(&dir);
    let out = previous_output(&dir);
    let before = tree(&out);
    for (sig, number) in [("INT", 2), ("TERM", 15)] {
        let mut child = stalled_build(&dir, "out");
        assert_eq!(
            debris(&dir).len(),
            1,
            "the new tree is being written beside"
        );
        signal(&child, sig);
        let status = child.wait().unwrap();
        // Terminated by the same signal after cleaning up (the shell shows 128 + n).
        assert_eq!(status.signal(), Some(number), "SIG{sig}: {status:?}");
        assert!(tree(&out) == before, "SIG{sig} changed the output");
        assert!(debris(&dir).is_empty(), "SIG{sig} left {:?}", debris(&dir));
    }
    // Killed outright: the temporary tree stays, and the next build removes it.
    let mut child = stalled_build(&dir, "out");
    signal(&child, "KILL");
    child.wait().unwrap();
    assert!(tree(&out) == before);
    assert_eq!(debris(&dir).len(), 1);
    let o = build(&dir, &["deploy", "-o", "out", "--env", "production"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn concurrent_builds_into_one_directory_take_turns() {
    let dir = scratch("concurrent");
    example_in(&dir);
    previous_output(&dir);
    let mut first = stalled_build(&dir, "out");
    let waiting = || {
        let mut second = kumoc(&dir)
            .args(["build", "deploy", "-o", "out", "--env", "production"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(second.stderr.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert!(line.contains("waiting for another kumoc build"), "{line}");
        second
    };
    // A waiting build can be interrupted.
    let mut impatient = waiting();
    signal(&impatient, "INT");
    assert_eq!(impatient.wait().unwrap().signal(), Some(2));
    // Another one goes ahead once the first is gone.
    let mut second = waiting();
    signal(&first, "TERM");
    assert_eq!(first.wait().unwrap().signal(), Some(15));
    assert!(second.wait().unwrap().success());
    assert!(
        !dir.join("out/policy/sink.lua").exists(),
        "the second build's output"
    );
    assert!(debris(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_file_size_limit_is_an_error_not_a_kill() {
    let dir = scratch("efbig");
    example_in(&dir);
    let out = previous_output(&dir);
    let before = tree(&out);
    let kumoc = insta_cmd::get_cargo_bin("kumoc");
    // `ulimit -f 1`: files up to 512 bytes (the marker fits, the policy does not).
    let o = Command::new("sh")
        .current_dir(&dir)
        .args([
            "-c",
            "ulimit -f 1 && exec \"$0\" build deploy -o out --env production",
        ])
        .arg(&kumoc)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("File too large") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(tree(&out) == before);
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A failing fsync (a failing disk; `KUMOC_TEST_FAIL_FSYNC` fails every one) is an error that
/// leaves the output as it was, and never a hang: the output has more files than the fsync
/// threads and their queue hold (8 + 64), so a writer that waited for threads that had
/// stopped at the error would block forever.
#[test]
fn a_failing_fsync_is_an_error_not_a_hang() {
    let dir = scratch("fsync");
    let deploy = dir.join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    std::fs::write(deploy.join("bench.kumo"), crate::scale::generated(6000)).unwrap();
    let out = previous_output(&dir);
    let before = tree(&out);
    let files = before
        .values()
        .filter(|e| matches!(e, Entry::File(_)))
        .count();
    assert!(
        files > 8 + 64,
        "only {files} files: the test would not reach a full queue"
    );
    let mut child = kumoc(&dir)
        .args(["build", "deploy", "-o", "out"])
        .env("KUMOC_TEST_FAIL_FSYNC", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(300) {
            let _ = child.kill();
            panic!("kumoc build hangs when fsync fails");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("fsync failed") && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(tree(&out) == before, "the output changed");
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The output is written as it is emitted (the data shards and their ConfigMaps one by one,
/// before the policy that names them is written): a write that fails in the middle of it
/// (`KUMOC_TEST_FAIL_WRITE_AFTER_FILES`, as a disk that fills up then), or a signal there,
/// leaves the previous output as it was and nothing beside it.
#[test]
fn a_failure_in_the_middle_of_a_streamed_write_leaves_the_output_as_it_was() {
    let dir = scratch("midstream");
    let deploy = dir.join("deploy");
    std::fs::create_dir_all(&deploy).unwrap();
    std::fs::write(deploy.join("bench.kumo"), crate::scale::generated(3000)).unwrap();
    let out = previous_output(&dir);
    let before = tree(&out);
    let shards = before.keys().filter(|k| k.contains("-of-")).count();
    assert!(
        shards >= 8,
        "only {shards} shard files: no middle to fail in"
    );
    // The next builds would write another output.
    std::fs::write(deploy.join("bench.kumo"), crate::scale::generated(3100)).unwrap();
    // Stalled after 5 files: the new tree holds shards, and not yet the policy.
    let mut child = kumoc(&dir)
        .args(["build", "deploy", "-o", "out"])
        .env("KUMOC_TEST_STALL_AFTER_FILES", "5")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // After the deployment's warnings.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut said = String::new();
    while !said.contains("test hook: stalled") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "{said}");
        said.push_str(&line);
    }
    let new = debris(&dir);
    assert_eq!(new.len(), 1, "{new:?}");
    let partial = tree(&dir.join(&new[0]));
    let files: Vec<&String> = partial
        .iter()
        .filter(|(_, e)| matches!(e, Entry::File(_)))
        .map(|(k, _)| k)
        .collect();
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(
        files
            .iter()
            .any(|f| f.starts_with("policy/") && f.contains("-of-")),
        "{files:?}"
    );
    assert!(
        files.iter().any(|f| f.starts_with("k8s/configmap-policy-")),
        "{files:?}"
    );
    assert!(!partial.contains_key("policy/init.lua"), "{files:?}");
    signal(&child, "TERM");
    assert_eq!(child.wait().unwrap().signal(), Some(15));
    assert!(
        tree(&out) == before,
        "SIGTERM in the middle changed the output"
    );
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
    // The sixth file's write fails: an error, and the output as it was.
    let o = kumoc(&dir)
        .args(["build", "deploy", "-o", "out"])
        .env("KUMOC_TEST_FAIL_WRITE_AFTER_FILES", "5")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("write failed")
            && stderr.contains("-of-")
            && stderr.contains("nothing was changed"),
        "{stderr}"
    );
    assert!(tree(&out) == before, "a failed write changed the output");
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
    // An internal error (a panic) while the sixth file is produced: exit 2, the output as
    // it was, and no temporary tree left beside it (the panic hook exits at once). The hook
    // exists in debug builds only, like this test binary's kumoc.
    let o = kumoc(&dir)
        .args(["build", "deploy", "-o", "out"])
        .env("KUMOC_TEST_PANIC_AFTER_FILES", "5")
        .output()
        .unwrap();
    if cfg!(debug_assertions) {
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(text(&o).contains("internal error"), "{}", text(&o));
    } else {
        assert_eq!(
            o.status.code(),
            Some(0),
            "a release build has no panic hook"
        );
    }
    assert!(
        !cfg!(debug_assertions) || tree(&out) == before,
        "a panic changed the output"
    );
    assert!(debris(&dir).is_empty(), "{:?}", debris(&dir));
    // And without the hook, the build goes through.
    let o = build(&dir, &["deploy", "-o", "out"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(tree(&out) != before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_full_disk_is_an_error_and_leaves_the_output_as_it_was() {
    // A small tmpfs, mounted in a private mount namespace (as an unprivileged user through a
    // user namespace): it exists only for the script below.
    let probe = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        println!("skipped: no user or mount namespaces here (`unshare` failed)");
        return;
    }
    let dir = scratch("enospc");
    example_in(&dir);
    std::fs::create_dir_all(dir.join("mnt")).unwrap();
    let kumoc = insta_cmd::get_cargo_bin("kumoc");
    // Build once, shrink the filesystem to what is used plus a little, build again.
    let script = r#"
        set -e
        mount -t tmpfs -o size=4m tmpfs mnt
        "$0" build deploy -o mnt/out > /dev/null
        used=$(df -k --output=used mnt | tail -n 1)
        mount -o remount,size=$((used + 8))k mnt
        list() { find mnt -mindepth 1 | sort; find mnt -type f -exec sha1sum {} + | sort; }
        list > before.txt
        set +e
        "$0" build deploy -o mnt/out --env production
        echo "status $?"
        list > after.txt
    "#;
    let o = Command::new("unshare")
        .current_dir(&dir)
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .arg(&kumoc)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stdout.contains("status 2"), "{}", text(&o));
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let before = std::fs::read_to_string(dir.join("before.txt")).unwrap();
    let after = std::fs::read_to_string(dir.join("after.txt")).unwrap();
    assert!(before.contains("mnt/out/policy/init.lua"), "{before}");
    assert_eq!(
        before, after,
        "the output changed, or something was left beside it"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_build_leaves_the_output_as_it_was() {
    let dir = scratch("failed");
    let deploy = example_in(&dir);
    let out = previous_output(&dir);
    let before = tree(&out);
    std::fs::write(
        deploy.join("typo.kumo"),
        "queue \"typo.example\" {\n  egress_pool = nowhere\n}\n",
    )
    .unwrap();
    let o = build(&dir, &["deploy", "-o", "out"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(tree(&out) == before);
    assert!(debris(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
