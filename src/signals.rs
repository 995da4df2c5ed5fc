//! Signals while kumoc writes files.
//!
//! * SIGXFSZ (a file-size limit, `ulimit -f`) would kill kumoc in the middle of a write and
//!   leave its temporary files behind. With a handler installed the write fails with EFBIG
//!   instead, which kumoc reports and cleans up after like any other IO error.
//! * SIGINT and SIGTERM during `kumoc build`'s write only raise a flag: the writer checks it
//!   between files, removes its temporary tree and then terminates with the same signal (so
//!   the shell sees 130 or 143, and a script interrupted by Ctrl-C stops).
//! * SIGHUP keeps its disposition: `nohup kumoc build` must survive a closed terminal, and
//!   without `unsafe` kumoc cannot see that the signal was ignored before installing a
//!   handler. A hangup that kills a build leaves DIR intact (the swap is one rename) and
//!   a temporary tree, which the next build removes.
//!
//! signal-hook gives a safe API over sigaction (the workspace forbids `unsafe` outside the
//! allocator's crate, `alloc/`): its flag handlers only store to an atomic, which is
//! async-signal-safe.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM, SIGXFSZ};

/// Stop SIGXFSZ from killing the process: writes past the limit fail with EFBIG instead.
pub fn ignore_file_size_signal() {
    static RAISED: AtomicBool = AtomicBool::new(false);
    // Failing to install it only means `ulimit -f` kills as before.
    let _ = signal_hook::flag::register(SIGXFSZ, &RAISED);
}

/// The termination signals caught from [`Interrupts::catch`] on.
pub struct Interrupts {
    caught: Arc<AtomicUsize>,
}

impl Interrupts {
    /// From now on SIGINT and SIGTERM are recorded instead of terminating the
    /// process. Call it only where the caller checks [`Interrupts::caught`] until it exits.
    pub fn catch() -> Interrupts {
        let caught = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM] {
            let value = usize::try_from(sig).unwrap_or(0);
            let _ = signal_hook::flag::register_usize(sig, Arc::clone(&caught), value);
        }
        Interrupts { caught }
    }

    /// The signal that arrived, if any.
    pub fn caught(&self) -> Option<i32> {
        match self.caught.load(Ordering::SeqCst) {
            0 => None,
            n => i32::try_from(n).ok(),
        }
    }
}

/// Terminate as the signal would have (default action), after the caller cleaned up.
pub fn terminate_by(sig: i32) -> ! {
    let _ = signal_hook::low_level::emulate_default_handler(sig);
    // Not reached unless the signal could not be re-raised: the conventional status.
    std::process::exit(128 + sig)
}
