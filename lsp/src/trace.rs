//! `KUMOC_LSP_TRACE=1`: a line on stderr at each step of a message's handling and of the
//! work behind it (the edit applied, the re-parse of a version, the quick diagnostics,
//! the analysis, a request's answer), each with the microseconds since the server started
//! and its thread, to see what a request waited for. Unset, a trace point costs one load.

use std::io::Write;
use std::sync::LazyLock;
use std::time::Instant;

/// When tracing started, if it is on.
static START: LazyLock<Option<Instant>> = LazyLock::new(|| {
    std::env::var_os("KUMOC_LSP_TRACE")
        .is_some_and(|v| !v.is_empty() && v != "0")
        .then(Instant::now)
});

/// Whether tracing is on.
pub fn on() -> bool {
    START.is_some()
}

/// Write one trace line (only call when [`on`]).
pub fn line(what: std::fmt::Arguments<'_>) {
    if let Some(start) = *START {
        let us = start.elapsed().as_micros();
        let thread = std::thread::current();
        let _ = writeln!(
            std::io::stderr().lock(),
            "trace {us:>10} {:>14} {what}",
            format!("{:?}", thread.id())
        );
    }
}

/// `trace!("...", args)`: a trace line when `KUMOC_LSP_TRACE` is set.
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::trace::on() {
            $crate::trace::line(format_args!($($arg)*));
        }
    };
}
pub(crate) use trace;
