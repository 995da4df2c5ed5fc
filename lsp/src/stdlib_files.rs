//! The built-in presets as files an editor can open ("go to definition" into the stdlib),
//! without writing anywhere another user can reach.
//!
//! Each server process makes its own directory, created fresh (never reused, so nothing
//! planted beforehand is followed: `mkdir` fails on an existing name, symlink or not) with
//! mode 0700, under `$XDG_RUNTIME_DIR` (per user, 0700 by the XDG spec, on tmpfs) when
//! set, else under the system temp directory. Files are created with `O_CREAT|O_EXCL`
//! (`create_new`: a symlink in their place is an error, not followed) and are read-only.
//! The directory is removed when the server exits.
//!
//! A virtual document (a `kumoc-stdlib:` URI served by the server) was the other way: VS
//! Code opens one only through a content provider in the extension, Neovim and Helix
//! open `file:` URIs only, so every editor would need code of its own; a file works
//! everywhere.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// The stdlib files written for this process: (directory, `<stdlib>/NAME` → path).
struct Written {
    dir: PathBuf,
    files: Vec<(String, PathBuf)>,
}

static WRITTEN: OnceLock<Mutex<Option<Written>>> = OnceLock::new();

fn written() -> std::sync::MutexGuard<'static, Option<Written>> {
    WRITTEN
        .get_or_init(|| Mutex::new(write_all()))
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn base_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && dir.is_dir() => dir,
        _ => std::env::temp_dir(),
    }
}

/// A new directory only this user can enter; `None` if none could be made.
fn private_dir(base: &Path) -> Option<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0..16u32 {
        let dir = base.join(format!(
            "kumoc-stdlib-{}-{}-{:08x}",
            env!("CARGO_PKG_VERSION"),
            std::process::id(),
            nanos.wrapping_add(attempt.wrapping_mul(0x9e37_79b9))
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        match builder.create(&dir) {
            Ok(()) => return Some(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => return None,
        }
    }
    None
}

/// Create `path` (never through a symlink, never over an existing file), read-only.
fn write_new(path: &Path, text: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o444);
    }
    options.open(path)?.write_all(text.as_bytes())
}

fn write_all() -> Option<Written> {
    let dir = private_dir(&base_dir())?;
    let mut files = Vec::new();
    for (name, text) in kumoc_compiler::stdlib::FILES {
        let file = name.trim_start_matches("<stdlib>/");
        // Names are the compiler's own (`shaping.kumo`), never a path.
        if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
            continue;
        }
        let path = dir.join(file);
        if write_new(&path, text).is_ok() {
            files.push(((*name).to_string(), path));
        }
    }
    Some(Written { dir, files })
}

/// The file holding the stdlib file `name` (`<stdlib>/shaping.kumo`), written on first
/// use; `None` if it could not be written.
pub fn path(name: &str) -> Option<PathBuf> {
    let written = written();
    let w = written.as_ref()?;
    w.files
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, p)| p.clone())
}

/// Whether `path` is one of the stdlib files this process wrote.
pub fn is_stdlib_path(path: &Path) -> bool {
    written()
        .as_ref()
        .is_some_and(|w| path.parent() == Some(w.dir.as_path()))
}

/// Remove the directory (when the server exits). Only if it was made.
pub fn remove() {
    let Some(lock) = WRITTEN.get() else {
        return;
    };
    let mut written = lock
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(w) = written.take() {
        for (_, p) in &w.files {
            let _ = std::fs::remove_file(p);
        }
        let _ = std::fs::remove_dir(&w.dir);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_and_never_through_a_symlink() {
        let base = std::env::temp_dir().join(format!("kumoc-stdlib-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap_or_default();
        let dir = private_dir(&base).unwrap_or_default();
        let mode = std::fs::metadata(&dir).map_or(0, |m| m.permissions().mode());
        assert_eq!(mode & 0o777, 0o700);
        // A symlink planted where a file is to be written is refused, not followed.
        let victim = base.join("victim");
        std::fs::write(&victim, "precious").unwrap_or_default();
        let planted = dir.join("shaping.kumo");
        std::os::unix::fs::symlink(&victim, &planted).unwrap_or_default();
        assert!(write_new(&planted, "overwritten").is_err());
        assert_eq!(
            std::fs::read_to_string(&victim).unwrap_or_default(),
            "precious"
        );
        // A fresh file is read-only.
        let fresh = dir.join("fresh.kumo");
        assert!(write_new(&fresh, "x").is_ok());
        let mode = std::fs::metadata(&fresh).map_or(0, |m| m.permissions().mode());
        assert_eq!(mode & 0o777, 0o444);
        let _ = std::fs::remove_dir_all(&base);
    }
}
