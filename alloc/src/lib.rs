//! The CLI's memory allocator, and the one setting kumoc changes in it.
//!
//! The allocator is mimalloc: a large build allocates many small values and frees them at
//! once, where glibc spent about a third of the time consolidating free lists.
//!
//! mimalloc keeps memory it has freed resident for a while (its "purge delay", 1 s in v3)
//! before it gives the pages back to the system, in case the program allocates again. That
//! suits the language server, which re-analyses a document on every edit (returning and
//! faulting the pages back in cost it CPU per edit, measured). It does not suit a build,
//! which frees each statement's syntax tree, then the typed tree, while the data it keeps
//! grows: a 10,000-domain build ended 20 MiB above the memory it held at any moment, because
//! the pages it had freed stayed resident until it exited. [`return_freed_memory_at_once`]
//! sets the delay to 0 for the batch commands: the peak of a 10,000-domain build went from
//! 68-74 MiB to 48 MiB, of a 100,000-domain build from 445-458 MiB to 393 MiB, with the
//! same instructions (the kernel's work of returning pages is within the run-to-run noise of
//! the build's system time).
//!
//! This is the workspace's only `unsafe`: a call into the C library, in one function.

#![deny(missing_docs)]

use libmimalloc_sys as ffi;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` of `mimalloc.h` (v3): its index in `mi_option_e`, which the sys
/// crate does not name (the enum's 16th member; `mi_option_eager_commit_delay` is 14 and
/// `mi_option_use_numa_nodes` 16 in both).
const MI_OPTION_PURGE_DELAY: ffi::mi_option_t = 15;

/// The environment variables by which a user sets the delay themselves (read by mimalloc at
/// start; the second is its older name); when one is set, kumoc leaves the delay alone.
const PURGE_DELAY_VARS: [&str; 2] = ["MIMALLOC_PURGE_DELAY", "MIMALLOC_RESET_DELAY"];

/// Make the allocator return each page it frees to the system at once (purge delay 0),
/// unless the user set `MIMALLOC_PURGE_DELAY` (or its older name, `MIMALLOC_RESET_DELAY`).
/// For the batch commands (`build`, `check`, ...), not the language server. Call it first
/// in `main`, before any other thread starts.
pub fn return_freed_memory_at_once() {
    if PURGE_DELAY_VARS
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return;
    }
    // SAFETY: `mi_option_set` stores a value in mimalloc's option table (bounds-checked by
    // the option's index, which is a constant of the linked v3 header). The store is not
    // atomic, so it must not race with another thread reading the table: the CLI calls this
    // at the start of `main`, before it starts any thread. Any value is valid for this
    // option (0 = purge at once).
    #[allow(unsafe_code)]
    unsafe {
        ffi::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index names the option it claims (v3's purge delay defaults to 1000 ms, the only
    /// option with that default), and the call sets it to 0.
    #[test]
    fn the_call_sets_the_purge_delay_to_zero() {
        // SAFETY: `mi_option_get` only reads the option table.
        #[allow(unsafe_code)]
        let get = || unsafe { ffi::mi_option_get(MI_OPTION_PURGE_DELAY) };
        if PURGE_DELAY_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some())
        {
            return; // the user's setting wins, by design
        }
        assert_eq!(get(), 1000);
        return_freed_memory_at_once();
        assert_eq!(get(), 0);
    }
}
