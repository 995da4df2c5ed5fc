//! Reading inputs with bounds: kumoc never blocks on a FIFO, never reads a device, and never
//! reads more than a deployment can reasonably be.
//!
//! Limits: all `.kumo` files of one run together at most [`MAX_DEPLOYMENT_BYTES`] (64 MiB;
//! a 10,000-domain deployment is about 4 MB, and analysis holds about 30 times the source
//! in memory), and each file a `secret` block names at most [`MAX_SECRET_FILE_BYTES`]
//! (1 MiB, the most Kubernetes stores in one Secret).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub const MAX_DEPLOYMENT_BYTES: u64 = 64 << 20;
pub const MAX_SECRET_FILE_BYTES: u64 = 1 << 20;

/// What is left of a limit shared by several files.
pub struct Budget {
    left: u64,
    limit: u64,
    what: &'static str,
}

impl Budget {
    /// The `.kumo` files of one deployment.
    pub fn deployment() -> Budget {
        Budget {
            left: MAX_DEPLOYMENT_BYTES,
            limit: MAX_DEPLOYMENT_BYTES,
            what: "kumoc's limit for all the .kumo files of one deployment together",
        }
    }

    /// One file named by a `secret` block (each file has its own budget).
    pub fn secret_file() -> Budget {
        Budget {
            left: MAX_SECRET_FILE_BYTES,
            limit: MAX_SECRET_FILE_BYTES,
            what: "the most Kubernetes stores in one Secret",
        }
    }

    /// Read a regular file within what is left. Errors say why in a few words (the caller
    /// names the file).
    pub fn read(&mut self, path: &Path) -> io::Result<Vec<u8>> {
        let limit = self.left;
        let too_big =
            || io::Error::other(format!("over {} ({})", human_size(self.limit), self.what));
        // Check before opening: opening a FIFO for reading blocks until a writer comes.
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(not_regular(&meta));
        }
        if meta.len() > limit {
            return Err(too_big());
        }
        // O_NONBLOCK: should the path have become a FIFO since, opening does not wait.
        let file = open_nonblocking(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(not_regular(&meta));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        // The file may grow while it is read (or lie about its size, like some in /proc).
        file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
        let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        if read > limit {
            return Err(too_big());
        }
        self.left -= read;
        Ok(bytes)
    }
}

fn not_regular(meta: &std::fs::Metadata) -> io::Error {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    let kind = if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    };
    io::Error::other(format!("not a regular file ({kind})"))
}

fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = i32::try_from(rustix::fs::OFlags::NONBLOCK.bits()).unwrap_or(0);
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{} KiB", bytes >> 10)
    }
}
