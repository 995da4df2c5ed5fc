//! The output directory of `kumoc build -o DIR`: the only thing a build may replace.
//!
//! DIR is replaced only when it does not exist, is empty, or holds a previous kumoc output
//! of the same deployment, recognised by the marker file kumoc writes into it
//! ([`MARKER`]). Anything else is refused before anything is touched (exit 2): a file, a
//! symbolic link, a directory kumoc did not write, one holding an input file or the current
//! directory, the root directory.
//!
//! The new tree is written beside DIR (`.DIR.kumoc-new-PID`), each file as the emitters
//! produce it ([`replace_with`]: the output is never all in memory), fsynced (every file, by
//! a few threads while the next files are produced, then every directory), and swapped in with
//! one `renameat2(RENAME_EXCHANGE)` (or, where the filesystem lacks it, two renames with
//! rollback); then the parent directory is fsynced and the old tree removed. On any error or
//! interrupt before the swap, the temporary tree is removed and DIR is untouched. Builds into
//! the same parent directory are serialised by a lock on it, and temporary trees left by a
//! killed build are removed by the next one.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Component, Path, PathBuf};

use crate::signals::Interrupts;

/// The marker file at the top of every kumoc output.
pub const MARKER: &str = ".kumoc-output";
/// The marker's format. A later kumoc that changes what the marker means bumps it; this one
/// refuses to replace an output marked with a newer format.
const FORMAT: u32 = 1;

/// The marker's content for a deployment: deterministic (no time, no host, no path), so
/// `build --check` compares it like any other file.
pub fn marker(deployment: &str) -> String {
    format!(
        "# Written by kumoc build. kumoc replaces this directory as a whole, and only when it\n\
         # holds this file naming the same deployment: do not keep other files here.\n\
         format = {FORMAT}\n\
         deployment = \"{}\"\n",
        deployment.escape_default()
    )
}

/// Which command wrote an output directory. `kumoc import` writes `.kumo` files under the
/// same rules as `kumoc build` writes its output, with its own marker, so neither ever
/// replaces the other's directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    #[default]
    Build,
    Import,
}

impl Kind {
    fn command(self) -> &'static str {
        match self {
            Kind::Build => "kumoc build",
            Kind::Import => "kumoc import",
        }
    }
}

/// The marker of a `kumoc import` output: a build's marker, plus `kind = "import"` (a
/// marker without `kind` is a build's, as every earlier kumoc wrote it).
pub fn import_marker(deployment: &str) -> String {
    format!(
        "# Written by kumoc import. kumoc replaces this directory as a whole, and only when it\n\
         # holds this file naming the same deployment: keep your edits elsewhere, or remove\n\
         # this file once the .kumo files are yours.\n\
         format = {FORMAT}\n\
         kind = \"import\"\n\
         deployment = \"{}\"\n",
        deployment.escape_default()
    )
}

/// What a marker file says.
#[derive(Debug, PartialEq, Eq)]
struct Marker {
    format: u32,
    kind: Kind,
    deployment: String,
}

enum MarkerState {
    Missing,
    Invalid(String),
    Found(Marker),
}

fn read_marker(dir: &Path) -> MarkerState {
    let path = dir.join(MARKER);
    let meta = match fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return MarkerState::Missing,
        Err(e) => return MarkerState::Invalid(format!("cannot read its {MARKER}: {e}")),
    };
    if !meta.is_file() || meta.len() > 4096 {
        return MarkerState::Invalid(format!("its {MARKER} is not a kumoc marker file"));
    }
    let mut text = String::new();
    if let Err(e) = File::open(&path).and_then(|f| f.take(4096).read_to_string(&mut text)) {
        return MarkerState::Invalid(format!("cannot read its {MARKER}: {e}"));
    }
    let mut format = None;
    let mut deployment = None;
    let mut kind = Some(Kind::Build);
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("kind = ") {
            kind = match v.trim() {
                "\"import\"" => Some(Kind::Import),
                "\"build\"" => Some(Kind::Build),
                _ => None,
            };
        } else if let Some(v) = line.strip_prefix("format = ") {
            format = v.trim().parse::<u32>().ok();
        } else if let Some(v) = line.strip_prefix("deployment = ") {
            deployment = v
                .trim()
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_string);
        }
    }
    match (format, deployment, kind) {
        (Some(format), Some(deployment), Some(kind)) => MarkerState::Found(Marker {
            format,
            kind,
            deployment,
        }),
        _ => MarkerState::Invalid(format!("its {MARKER} is not a kumoc marker file")),
    }
}

/// The output directory, resolved: its canonical parent and its name there.
#[derive(Debug)]
pub struct Target {
    /// As the user wrote it, for messages.
    shown: String,
    /// The canonical parent directory (some trailing components may not exist yet).
    parent: PathBuf,
    name: OsString,
    /// The command writing it.
    kind: Kind,
}

/// What is at DIR now (checked under the lock, just before the swap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    Nothing,
    Empty,
    PreviousOutput,
}

/// Why a build did not write.
#[derive(Debug)]
pub enum WriteError {
    /// DIR is not kumoc's to replace (nothing was touched).
    Refused(String),
    /// An IO error (everything written so far was removed).
    Io(String),
    /// A termination signal arrived before the swap (everything written was removed).
    Interrupted(i32),
    /// The producer withdrew what it wrote, having found errors while it wrote (the lints
    /// beside the emit): everything written was removed, and it reports them.
    Withdrawn,
}

impl Target {
    pub fn path(&self) -> PathBuf {
        self.parent.join(&self.name)
    }

    fn refuse(&self, why: &str, what_to_do: &str) -> String {
        format!("refusing to replace {}: {why}; {what_to_do}", self.shown)
    }

    fn sibling(&self, kind: &str, pid: u32) -> PathBuf {
        let mut name = OsString::from(".");
        name.push(&self.name);
        name.push(format!(".kumoc-{kind}-{pid}"));
        self.parent.join(name)
    }
}

/// Resolve `-o DIR` to a canonical path, refusing a file, a symbolic link or the root.
/// Reads only.
pub fn resolve(out: &Path) -> Result<Target, String> {
    resolve_for(out, Kind::Build)
}

/// [`resolve`] for the output of `kind`.
pub fn resolve_for(out: &Path, kind: Kind) -> Result<Target, String> {
    let shown = out.display().to_string();
    // `components` drops a trailing `/` (which would make lstat follow a symlink) and `./`.
    let given: PathBuf = out.components().collect();
    if given.as_os_str().is_empty() {
        return Err("-o needs a directory name".to_string());
    }
    let refuse = |why: &str, what: &str| format!("refusing to replace {shown}: {why}; {what}");
    let canonical = match fs::symlink_metadata(&given) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(refuse(
                "it is a symbolic link",
                "name the directory itself, or a new one",
            ));
        }
        Ok(m) if m.is_file() => {
            return Err(refuse(
                "it is a file, not a directory",
                "name a new directory (kumoc creates it) or a previous kumoc output",
            ));
        }
        Ok(m) if !m.is_dir() => {
            return Err(refuse(
                "it is not a directory",
                "name a new directory (kumoc creates it) or a previous kumoc output",
            ));
        }
        Ok(_) => fs::canonicalize(&given).map_err(|e| format!("cannot resolve {shown}: {e}"))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let name = match given.components().next_back() {
                Some(Component::Normal(n)) => n.to_os_string(),
                _ => return Err(format!("cannot resolve {shown}: no such directory")),
            };
            let parent = given
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            resolve_missing(parent, &shown)?.join(name)
        }
        Err(e) => return Err(format!("cannot use {shown}: {e}")),
    };
    let (Some(parent), Some(name)) = (canonical.parent(), canonical.file_name()) else {
        return Err(refuse(
            "it is the root directory",
            "name a new directory for the output",
        ));
    };
    Ok(Target {
        shown,
        parent: parent.to_path_buf(),
        name: name.to_os_string(),
        kind,
    })
}

/// The canonical form of a directory path of which a trailing part may not exist yet: the
/// longest existing ancestor, canonicalised, then the missing names.
fn resolve_missing(path: &Path, shown: &str) -> Result<PathBuf, String> {
    let mut missing: Vec<&OsStr> = Vec::new();
    let mut at = path;
    loop {
        match fs::metadata(at) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => {
                return Err(format!(
                    "cannot create {shown}: {} is not a directory",
                    at.display()
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot use {shown}: {}: {e}", at.display())),
        }
        match at.components().next_back() {
            Some(Component::Normal(n)) => missing.push(n),
            _ => {
                return Err(format!(
                    "cannot resolve {shown}: {} does not exist",
                    at.display()
                ));
            }
        }
        at = match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
    }
    let mut out = fs::canonicalize(at).map_err(|e| format!("cannot resolve {shown}: {e}"))?;
    out.extend(missing.iter().rev());
    Ok(out)
}

/// Whether DIR may be replaced, and what is there now. Reads only. `deployment` is the
/// name the new output is for (`None` before it is known: the marker's name is not
/// compared then).
pub fn check(
    target: &Target,
    inputs: &[PathBuf],
    deployment: Option<&str>,
) -> Result<Existing, String> {
    let dir = target.path();
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize) {
        if cwd.starts_with(&dir) {
            return Err(target.refuse(
                "it contains the current directory",
                "name a directory for the output only, such as `-o out`",
            ));
        }
    }
    for input in inputs {
        let real = fs::canonicalize(input).unwrap_or_else(|_| input.clone());
        if real.starts_with(&dir) {
            return Err(target.refuse(
                &format!("it holds the input {}", input.display()),
                "name a directory for the output only, such as `-o out`",
            ));
        }
    }
    let meta = match fs::symlink_metadata(&dir) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(format!("cannot use {}: {e}", target.shown)),
    };
    if !meta.is_dir() {
        return Err(target.refuse(
            "it is not a directory (any more)",
            "name a new directory or a previous kumoc output",
        ));
    }
    match read_marker(&dir) {
        MarkerState::Found(m) if m.format > FORMAT => Err(target.refuse(
            &format!("it was written by a newer kumoc (marker format {})", m.format),
            "build with that kumoc, or remove the directory first",
        )),
        MarkerState::Found(m) if m.kind != target.kind => Err(target.refuse(
            &format!(
                "it holds the output of `{}` (deployment `{}`), not of `{}`",
                m.kind.command(),
                m.deployment,
                target.kind.command()
            ),
            "name another directory",
        )),
        MarkerState::Found(m) => match deployment {
            Some(name) if name != m.deployment => Err(target.refuse(
                &format!(
                    "it holds the output of deployment `{}`, not `{name}`",
                    m.deployment
                ),
                "name another directory; if the deployment was renamed, remove the old output first",
            )),
            _ => Ok(Existing::PreviousOutput),
        },
        MarkerState::Invalid(why) => Err(target.refuse(
            &why,
            "name another directory, or remove this one first if it is an old output",
        )),
        MarkerState::Missing => match fs::read_dir(&dir).map(|mut e| e.next().is_none()) {
            Ok(true) => Ok(Existing::Empty),
            Ok(false) => Err(target.refuse(
                &format!("it is not empty and kumoc did not write it (no {MARKER})"),
                "name a new directory; if it is an old kumoc output, remove it once",
            )),
            Err(e) => Err(format!("cannot read {}: {e}", target.shown)),
        },
    }
}

/// Hooks for tests: stall after writing this many files of the new tree, until a signal
/// arrives (so a test can interrupt a write deterministically); fail every file's fsync
/// (as a failing or full disk does); fail the write of the file after this many (a disk
/// that fills up in the middle of the tree, while the emitters are still producing it).
/// Read from `KUMOC_TEST_STALL_AFTER_FILES`, `KUMOC_TEST_FAIL_FSYNC`,
/// `KUMOC_TEST_FAIL_WRITE_AFTER_FILES` and `KUMOC_TEST_PANIC_AFTER_FILES` (an internal
/// error in the middle of the tree); never set in normal use.
#[derive(Debug, Default, Clone, Copy)]
pub struct TestHooks {
    pub stall_after_files: Option<usize>,
    pub fail_fsync: bool,
    pub fail_write_after_files: Option<usize>,
    /// Panic (an internal error) instead of writing the file after this many (read in
    /// debug builds only).
    pub panic_after_files: Option<usize>,
}

impl TestHooks {
    pub fn from_env() -> TestHooks {
        TestHooks {
            stall_after_files: std::env::var("KUMOC_TEST_STALL_AFTER_FILES")
                .ok()
                .and_then(|v| v.parse().ok()),
            fail_fsync: std::env::var_os("KUMOC_TEST_FAIL_FSYNC").is_some(),
            fail_write_after_files: std::env::var("KUMOC_TEST_FAIL_WRITE_AFTER_FILES")
                .ok()
                .and_then(|v| v.parse().ok()),
            // Debug builds only (the tests'): a release binary cannot be made to panic.
            panic_after_files: cfg!(debug_assertions)
                .then(|| std::env::var("KUMOC_TEST_PANIC_AFTER_FILES").ok())
                .flatten()
                .and_then(|v| v.parse().ok()),
        }
    }
}

/// Replace DIR with `files` (relative path → content; [`MARKER`], which it must hold, is
/// written first). See [`replace_with`].
pub fn replace(
    target: &Target,
    files: &BTreeMap<String, String>,
    inputs: &[PathBuf],
    deployment: &str,
    interrupts: &Interrupts,
    hooks: TestHooks,
) -> Result<(), WriteError> {
    let Some(marker) = files.get(MARKER) else {
        return Err(WriteError::Io(format!("internal error: no {MARKER}")));
    };
    let write = |tree: &mut Tree<'_>| {
        for (rel, content) in files.iter().filter(|(k, _)| k.as_str() != MARKER) {
            tree.write(rel, content.as_bytes())?;
        }
        Ok(())
    };
    replace_with(target, marker, inputs, deployment, interrupts, hooks, write)
}

/// Replace DIR with the tree that `produce` writes, file by file, into the [`Tree`] it is
/// given (after the marker, whose content is `marker`): each file is written out as it is
/// handed over, so the caller may produce the next one meanwhile and never hold them all.
/// Creates DIR's missing parents; everything else happens beside DIR and is removed again
/// on failure: on `produce`'s error (that error is returned), an IO error, an fsync's error
/// or an interrupt, whenever it happens, DIR is as it was. `produce`'s result is returned
/// once DIR is the new tree.
pub fn replace_with<R>(
    target: &Target,
    marker: &str,
    inputs: &[PathBuf],
    deployment: &str,
    interrupts: &Interrupts,
    hooks: TestHooks,
    produce: impl FnOnce(&mut Tree<'_>) -> Result<R, WriteError>,
) -> Result<R, WriteError> {
    let io = |what: &str, e: io::Error| WriteError::Io(format!("{what}: {e}"));
    fs::create_dir_all(&target.parent)
        .map_err(|e| io(&format!("cannot create {}", target.parent.display()), e))?;
    // One build at a time per parent directory (an advisory lock on the directory itself,
    // so nothing is left behind): the stale-tree cleanup below and the swap are then safe
    // from a concurrent kumoc.
    let lock = File::open(&target.parent)
        .map_err(|e| io(&format!("cannot open {}", target.parent.display()), e))?;
    // Polled rather than blocking: a signal must be able to end the wait (flock restarts
    // after a signal handler).
    let mut waiting = false;
    loop {
        match lock.try_lock() {
            Ok(()) => break,
            Err(fs::TryLockError::WouldBlock) => {
                if !waiting {
                    eprintln!(
                        "kumoc: waiting for another kumoc build in {}",
                        target.parent.display()
                    );
                    waiting = true;
                }
                continue_or_interrupted(interrupts)?;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io(&format!("cannot lock {}", target.parent.display()), e));
            }
        }
    }
    let existing = check(target, inputs, Some(deployment)).map_err(WriteError::Refused)?;
    remove_stale(target);
    let pid = std::process::id();
    let tmp = target.sibling("new", pid);
    if let Err(e) = fs::create_dir(&tmp) {
        return Err(io(&format!("cannot create {}", tmp.display()), e));
    }
    set_unfinished(Some(tmp.clone()));
    let written = write_tree(&tmp, marker, interrupts, hooks, produce)
        .and_then(|r| continue_or_interrupted(interrupts).map(|()| r));
    set_unfinished(None);
    let produced = match written {
        Ok(r) => r,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    // The commit point. From here on the build completes: what is left (removing the old
    // tree) is quick, and a signal arriving now is ignored, so an exit by signal always
    // means that DIR is as it was.
    let old = match swap(
        &tmp,
        &target.path(),
        existing,
        &target.sibling("old", pid),
        true,
    ) {
        Ok(old) => old,
        Err(e) => {
            let _ = fs::remove_dir_all(&tmp);
            return Err(io(&format!("cannot replace {}", target.shown), e));
        }
    };
    let _ = File::open(&target.parent).and_then(|d| d.sync_all());
    if let Some(old) = old {
        if let Err(e) = fs::remove_dir_all(&old) {
            eprintln!(
                "kumoc: warning: the new output is in place, but the previous one could not be removed from {}: {e}",
                old.display()
            );
        }
    }
    drop(lock);
    Ok(produced)
}

/// The temporary tree being written, while the emitters produce it: kumoc's panic hook,
/// which exits at once, removes it ([`remove_unfinished`]) so that an internal error
/// leaves nothing beside DIR either.
static UNFINISHED: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);

fn set_unfinished(tmp: Option<PathBuf>) {
    *UNFINISHED.lock().unwrap_or_else(|e| e.into_inner()) = tmp;
}

/// The test hook for an internal error while the output streams
/// (`KUMOC_TEST_PANIC_AFTER_FILES`): the panic hook must remove the temporary tree.
#[expect(
    clippy::panic,
    reason = "a test hook that stands for a bug in an emitter"
)]
fn test_hook_panic() {
    panic!("test hook: KUMOC_TEST_PANIC_AFTER_FILES");
}

/// Remove the temporary tree being written, if any (for the panic hook).
pub fn remove_unfinished() {
    let tmp = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(tmp) = tmp {
        let _ = fs::remove_dir_all(tmp);
    }
}

/// Threads that fsync the written files. An fsync waits for the disk, not the CPU, and the
/// filesystem serves several at once: with 8 threads, the 200 files (24 MB) of a
/// 10,000-domain build are durable in about a fifth of the time one after the other takes
/// (ARCHITECTURE.md, "Performance").
const FSYNC_THREADS: usize = 8;
/// Written files waiting for their fsync at most (each holds a file descriptor open).
const FSYNC_QUEUE: usize = 64;

/// Write the tree into the fresh directory `root`: the marker first, then every file
/// `produce` hands over, each fsynced (by [`FSYNC_THREADS`] threads, while the next files
/// are produced and written), then, once every file is, every directory. Checks for
/// interrupts between files.
fn write_tree<R>(
    root: &Path,
    marker: &str,
    interrupts: &Interrupts,
    hooks: TestHooks,
    produce: impl FnOnce(&mut Tree<'_>) -> Result<R, WriteError>,
) -> Result<R, WriteError> {
    // Errors name the file inside the output (the temporary directory's name means nothing
    // to the user).
    let io = |path: &Path, e: io::Error| {
        let shown = path.strip_prefix(root).unwrap_or(path);
        WriteError::Io(format!("writing {}: {e}", shown.display()))
    };
    let mut dirs: Vec<PathBuf> = vec![root.to_path_buf()];
    let (send, receive) = std::sync::mpsc::sync_channel::<(PathBuf, File)>(FSYNC_QUEUE);
    let receive = std::sync::Mutex::new(receive);
    // The first fsync error. A thread that fails goes on taking files (without syncing
    // them) until the writer, which checks `failed` after each file, stops: were the
    // threads to stop instead, the writer would block forever on a full queue (the
    // receiver lives on here, so sending never fails).
    let failed = std::sync::Mutex::new(None::<WriteError>);
    let failing = std::sync::atomic::AtomicBool::new(false);
    let count = std::sync::atomic::AtomicUsize::new(0);
    let written = std::thread::scope(|scope| {
        let syncers: Vec<_> = (0..FSYNC_THREADS)
            .map(|_| {
                scope.spawn(|| {
                    loop {
                        let next = match receive.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        let Ok((path, file)) = next else {
                            return;
                        };
                        if failing.load(std::sync::atomic::Ordering::Relaxed) {
                            continue;
                        }
                        let synced = if hooks.fail_fsync {
                            Err(io::Error::other("fsync failed (KUMOC_TEST_FAIL_FSYNC)"))
                        } else {
                            file.sync_all()
                        };
                        if let Err(e) = synced {
                            failing.store(true, std::sync::atomic::Ordering::Relaxed);
                            if let Ok(mut first) = failed.lock() {
                                first.get_or_insert(io(&path, e));
                            }
                        }
                    }
                })
            })
            .collect();
        let mut tree = Tree {
            root,
            interrupts,
            hooks,
            dirs: std::mem::take(&mut dirs),
            sync: &send,
            failing: &failing,
            count: &count,
        };
        let written = tree
            .write(MARKER, marker.as_bytes())
            .and_then(|()| produce(&mut tree));
        dirs = tree.dirs;
        drop(send);
        let joined = syncers.into_iter().map(|t| t.join()).all(|r| r.is_ok());
        if !joined {
            return Err(WriteError::Io(
                "internal error: a thread writing the output failed".to_string(),
            ));
        }
        written
    });
    // An fsync's error first: the writer stopped at it (with an error of its own).
    if let Some(e) = failed.into_inner().ok().flatten() {
        return Err(e);
    }
    let produced = written?;
    for d in dirs.iter().rev() {
        File::open(d)
            .and_then(|f| f.sync_all())
            .map_err(|e| io(d, e))?;
    }
    Ok(produced)
}

/// The new tree being written ([`replace_with`]): each file handed to [`Tree::write`] is
/// written and sent to be fsynced at once, so its content may be dropped.
pub struct Tree<'a> {
    root: &'a Path,
    interrupts: &'a Interrupts,
    hooks: TestHooks,
    /// The directories this tree (not a fork, until joined) created so far, each fsynced
    /// once every file is.
    dirs: Vec<PathBuf>,
    sync: &'a std::sync::mpsc::SyncSender<(PathBuf, File)>,
    /// Whether an fsync failed (the caller of [`write_tree`] reports its error).
    failing: &'a std::sync::atomic::AtomicBool,
    /// The files written so far, the marker included, by the tree and its forks (the test
    /// hooks count them).
    count: &'a std::sync::atomic::AtomicUsize,
}

impl<'a> Tree<'a> {
    /// A tree writing into the same directory, for a second thread (`emit::Sink::fork`):
    /// its files are fsynced by the same threads, counted with this tree's, and the
    /// directories it creates are this tree's once [`Self::join`]ed.
    pub fn fork(&self) -> Tree<'a> {
        Tree {
            root: self.root,
            interrupts: self.interrupts,
            hooks: self.hooks,
            dirs: Vec::new(),
            sync: self.sync,
            failing: self.failing,
            count: self.count,
        }
    }

    /// Take back a fork's directories (to be fsynced with this tree's).
    pub fn join(&mut self, fork: Tree<'a>) {
        for d in fork.dirs {
            if !self.dirs.contains(&d) {
                self.dirs.push(d);
            }
        }
    }

    /// Write the file `rel` (a relative path of plain components), creating its
    /// directories, and send it to be fsynced. Fails on an IO error, an interrupt, or once
    /// an fsync has failed; the caller stops there.
    pub fn write(&mut self, rel: &str, content: &[u8]) -> Result<(), WriteError> {
        let root = self.root;
        let io = |path: &Path, e: io::Error| {
            let shown = path.strip_prefix(root).unwrap_or(path);
            WriteError::Io(format!("writing {}: {e}", shown.display()))
        };
        let n = self
            .count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(sig) = self.interrupts.caught() {
            return Err(WriteError::Interrupted(sig));
        }
        if self.hooks.stall_after_files == Some(n) {
            stall(root, self.interrupts);
            continue_or_interrupted(self.interrupts)?;
        }
        // Emitted names are relative paths of plain components; anything else is a bug
        // that must not write outside the tree.
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || !rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(WriteError::Io(format!(
                "internal error: refusing to write the output file name {rel:?}"
            )));
        }
        let path = root.join(rel_path);
        if let Some(parent) = path.parent() {
            if !self.dirs.iter().any(|d| d == parent) {
                fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                let mut at = parent;
                while at != root && !self.dirs.iter().any(|d| d == at) {
                    self.dirs.push(at.to_path_buf());
                    at = match at.parent() {
                        Some(p) => p,
                        None => break,
                    };
                }
            }
        }
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        if self.hooks.panic_after_files == Some(n) {
            test_hook_panic();
        }
        if self.hooks.fail_write_after_files == Some(n) {
            let e = io::Error::other("write failed (KUMOC_TEST_FAIL_WRITE_AFTER_FILES)");
            return Err(io(&path, e));
        }
        f.write_all(content).map_err(|e| io(&path, e))?;
        let failing = || self.failing.load(std::sync::atomic::Ordering::Relaxed);
        if self.sync.send((path, f)).is_err() || failing() {
            // An fsync failed: the caller of `write_tree` reports it.
            return Err(WriteError::Io("an fsync failed".to_string()));
        }
        Ok(())
    }
}

/// The files an emitter produces go straight into the tree.
impl<'a> kumoc_compiler::emit::Sink for Tree<'a> {
    type Error = WriteError;
    type Fork = Tree<'a>;

    fn fork(&self) -> Option<Tree<'a>> {
        Some(Tree::fork(self))
    }

    fn join(&mut self, fork: Tree<'a>) {
        Tree::join(self, fork);
    }

    fn file(&mut self, path: &str, content: &[u8]) -> Result<(), WriteError> {
        self.write(path, content)
    }
}

fn continue_or_interrupted(interrupts: &Interrupts) -> Result<(), WriteError> {
    match interrupts.caught() {
        Some(sig) => Err(WriteError::Interrupted(sig)),
        None => Ok(()),
    }
}

/// The test hook: announce the stall on stderr and wait (at most a minute) for a signal.
fn stall(root: &Path, interrupts: &Interrupts) {
    eprintln!("kumoc: test hook: stalled writing {}", root.display());
    for _ in 0..6000 {
        if interrupts.caught().is_some() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Put the complete new tree `tmp` at `dir`. Returns where the previous tree now is (to be
/// removed), if there was one.
/// `try_exchange` is false only in the tests of the fallback.
fn swap(
    tmp: &Path,
    dir: &Path,
    existing: Existing,
    old: &Path,
    try_exchange: bool,
) -> io::Result<Option<PathBuf>> {
    if existing == Existing::Nothing {
        // Fails if something appeared at DIR meanwhile, instead of replacing it.
        rename_noreplace(tmp, dir)?;
        return Ok(None);
    }
    if try_exchange && exchange(tmp, dir)? {
        // One atomic step: DIR is the new tree, `tmp` the previous one.
        return Ok(Some(tmp.to_path_buf()));
    }
    // No RENAME_EXCHANGE here: two renames, and the first undone if the second fails.
    fs::rename(dir, old)?;
    if let Err(e) = fs::rename(tmp, dir) {
        let _ = fs::rename(old, dir);
        return Err(e);
    }
    Ok(Some(old.to_path_buf()))
}

/// `renameat2(RENAME_EXCHANGE)`; `Ok(false)` when the kernel or filesystem lacks it.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Rename that fails when `to` exists (even an empty directory, which rename(2) replaces).
#[cfg(target_os = "linux")]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            fs::rename(from, to)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_noreplace(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)
}

/// Remove temporary trees a killed build left beside DIR (`.DIR.kumoc-new-PID`,
/// `.DIR.kumoc-old-PID`). Called under the lock, so no running kumoc owns them. Only
/// directories that are empty or carry a kumoc marker are removed; anything else with such
/// a name is left alone.
fn remove_stale(target: &Target) {
    let Ok(entries) = fs::read_dir(&target.parent) else {
        return;
    };
    let mut prefix = OsString::from(".");
    prefix.push(&target.name);
    prefix.push(".kumoc-");
    let prefix = prefix.to_string_lossy().into_owned();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest
            .strip_prefix("new-")
            .or_else(|| rest.strip_prefix("old-"));
        if !pid.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())) {
            continue;
        }
        let path = entry.path();
        let is_dir = fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        let ours = is_dir
            && (matches!(read_marker(&path), MarkerState::Found(_))
                || fs::read_dir(&path).is_ok_and(|mut e| e.next().is_none()));
        if ours {
            let _ = fs::remove_dir_all(&path);
        }
    }
}

/// `build --check`: the files that differ between DIR and `files`. Reads only, never
/// follows a symbolic link, and reads at most one byte more than the expected content.
pub fn differences(dir: &Path, files: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return vec![format!("not a directory: {}", dir.display())],
        Err(_) => {
            return files.keys().map(|rel| format!("missing: {rel}")).collect();
        }
    }
    if matches!(read_marker(dir), MarkerState::Missing) {
        // Not a kumoc output: nothing in it is compared (it could be anything, `/` included).
        return vec![format!(
            "not a kumoc output (no {MARKER}): {}",
            dir.display()
        )];
    }
    for (rel, content) in files {
        match read_regular(&dir.join(rel), content.len()) {
            Some(Some(bytes)) if bytes == content.as_bytes() => {}
            Some(_) => out.push(format!("changed: {rel}")),
            None => out.push(format!("missing: {rel}")),
        }
    }
    let mut existing = Vec::new();
    list_files(dir, dir, &mut existing);
    for rel in existing {
        if !files.contains_key(&rel) {
            out.push(format!("extra:   {rel}"));
        }
    }
    out
}

/// The content of a regular file (not through a symlink), at most `expected + 1` bytes:
/// `None` when nothing is there, `Some(None)` when something else is (or is unreadable).
fn read_regular(path: &Path, expected: usize) -> Option<Option<Vec<u8>>> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return Some(None);
    }
    let mut bytes = Vec::new();
    let limit = u64::try_from(expected)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let read = File::open(path).and_then(|f| f.take(limit).read_to_end(&mut bytes));
    Some(read.ok().map(|_| bytes))
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<(PathBuf, bool)> = entries
        .filter_map(Result::ok)
        .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
        .collect();
    entries.sort();
    for (p, is_dir) in entries {
        // `DirEntry::file_type` does not follow symlinks: a link to a directory is listed
        // as an entry, never walked (no loops, nothing outside DIR is read).
        if is_dir {
            list_files(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn marker_round_trips() {
        let dir = std::env::temp_dir().join(format!("kumoc-marker-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(MARKER), marker("example-com")).unwrap();
        match read_marker(&dir) {
            MarkerState::Found(m) => assert_eq!(
                m,
                Marker {
                    format: FORMAT,
                    kind: Kind::Build,
                    deployment: "example-com".into()
                }
            ),
            _ => panic!("marker not read back"),
        }
        fs::write(dir.join(MARKER), import_marker("example-com")).unwrap();
        assert!(matches!(
            read_marker(&dir),
            MarkerState::Found(Marker {
                kind: Kind::Import,
                ..
            })
        ));
        let _ = fs::remove_dir_all(&dir);
    }

    fn tree(dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut names = Vec::new();
        list_files(dir, dir, &mut names);
        for n in names {
            out.push((n.clone(), fs::read_to_string(dir.join(&n)).unwrap()));
        }
        out
    }

    /// Both ways of swapping (one exchange, or the rename pair), and the pair's rollback.
    #[test]
    fn swap_replaces_or_leaves_dir_as_it_was() {
        let base = std::env::temp_dir().join(format!("kumoc-swap-{}", std::process::id()));
        for try_exchange in [true, false] {
            let _ = fs::remove_dir_all(&base);
            let (dir, tmp, old) = (base.join("dir"), base.join("tmp"), base.join("old"));
            fs::create_dir_all(dir.join("sub")).unwrap();
            fs::write(dir.join("sub/a"), "old").unwrap();
            let before = tree(&dir);
            // The new tree is missing, so the swap fails: DIR is as it was, nothing beside.
            let failed = swap(&tmp, &dir, Existing::PreviousOutput, &old, try_exchange);
            assert!(failed.is_err());
            assert_eq!(tree(&dir), before);
            assert_eq!(fs::read_dir(&base).unwrap().count(), 1);
            // It succeeds: DIR is the new tree, the old one is where the swap says.
            fs::create_dir_all(&tmp).unwrap();
            fs::write(tmp.join("b"), "new").unwrap();
            let moved = swap(&tmp, &dir, Existing::PreviousOutput, &old, try_exchange)
                .unwrap()
                .unwrap();
            assert_eq!(tree(&dir), vec![("b".to_string(), "new".to_string())]);
            assert_eq!(tree(&moved), before);
            // A missing DIR is never replaced by a rename over something that appeared.
            fs::remove_dir_all(&moved).unwrap();
            fs::create_dir_all(&tmp).unwrap();
            fs::write(tmp.join("c"), "newer").unwrap();
            assert!(swap(&tmp, &dir, Existing::Nothing, &old, try_exchange).is_err());
            assert_eq!(tree(&dir), vec![("b".to_string(), "new".to_string())]);
        }
        let _ = fs::remove_dir_all(&base);
    }
}
