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
//! This is the workspace's only `unsafe`: the allocator's four entry points, which call
//! mimalloc's plain functions when they give the alignment asked for (see [`Allocator`]),
//! and one call into its option table.

#![deny(missing_docs)]

use std::alloc::{GlobalAlloc, Layout};

use libmimalloc_sys as ffi;

#[global_allocator]
static ALLOCATOR: Allocator = Allocator;

/// The alignment every block of mimalloc's `mi_malloc` has when the block is at least this
/// large (its smallest blocks are one machine word; from two words up every block size is a
/// multiple of 16 and starts 16-aligned: `MI_MAX_ALIGN_SIZE`, asserted in its `alloc.c`).
/// The same rule as Rust's own `System` allocator on x86_64 (`MIN_ALIGN`).
const MALLOC_ALIGN: usize = 16;

/// Whether `mi_malloc(size)` returns memory aligned for `layout`: its alignment is at most
/// [`MALLOC_ALIGN`] and not above its size (a block smaller than 16 bytes is 8-aligned, and
/// an alignment not above such a size is at most 8).
fn plain_malloc_fits(align: usize, size: usize) -> bool {
    align <= MALLOC_ALIGN && align <= size
}

/// mimalloc, asked through its plain entry points (`mi_malloc`, `mi_zalloc`, `mi_realloc`)
/// whenever they give the alignment the layout needs: nearly every allocation. The
/// `mimalloc` crate's allocator always calls the aligned ones (`mi_malloc_aligned`), whose
/// fast path only serves a block from a page's free list and whose fallback over-allocates
/// for any size above 1 KiB that is not a power of two, even for a string (alignment 1): at
/// 10,000 domains that path cost about 27 M instructions of a build's 681 M.
struct Allocator;

// SAFETY: every method returns memory from mimalloc for the layout it is given: the plain
// entry points only when `plain_malloc_fits` (mimalloc's own alignment guarantee, see
// `MALLOC_ALIGN`), the `mimalloc` crate's aligned allocator otherwise. Blocks from either
// are freed by the same `mi_free`, and `mi_realloc` keeps the guarantee for the new size.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain_malloc_fits(layout.align(), layout.size()) {
            // SAFETY: a plain allocation, aligned for `layout` (see `plain_malloc_fits`).
            unsafe { ffi::mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.alloc(layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain_malloc_fits(layout.align(), layout.size()) {
            // SAFETY: as in `alloc`.
            unsafe { ffi::mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from mimalloc (`mi_free` frees both).
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain_malloc_fits(layout.align(), new_size) {
            // SAFETY: `ptr` is a live mimalloc block; the new block is aligned for the
            // layout at its new size (see `plain_malloc_fits`).
            unsafe { ffi::mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: the caller's contract, passed on.
            unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
        }
    }
}

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

    /// Every block the allocator returns is aligned as its layout asks, on both paths and
    /// across the sizes where mimalloc changes its page kinds (small, medium, large blocks);
    /// a zeroed block is zero; a reallocated block keeps its bytes and its alignment.
    #[test]
    fn every_block_has_the_alignment_its_layout_asks_for() {
        let mut sizes: Vec<usize> = (1..=300).collect();
        let mut size = 301;
        while size < (2 << 20) {
            sizes.extend([size - 1, size, size + 1]);
            size = size * 3 / 2 + 7;
        }
        let aligned = |p: *mut u8, align: usize| !p.is_null() && (p as usize).is_multiple_of(align);
        // The bytes looked at in a block: about 64 spread over it, and its last.
        let probes = |size: usize| (0..size).step_by(size / 64 + 1).chain([size - 1]);
        for &size in &sizes {
            for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: a non-zero size; every block is freed once, with its layout.
                #[allow(unsafe_code)]
                unsafe {
                    let p = ALLOCATOR.alloc(layout);
                    assert!(aligned(p, align), "alloc {size} aligned {align}: {p:?}");
                    probes(size).for_each(|i| p.add(i).write(0xa5));
                    let grown = size * 2 + 3;
                    let q = ALLOCATOR.realloc(p, layout, grown);
                    assert!(aligned(q, align), "realloc {size}->{grown} aligned {align}");
                    assert!(
                        probes(size).all(|i| *q.add(i) == 0xa5),
                        "realloc {size}->{grown} aligned {align} kept the bytes"
                    );
                    ALLOCATOR.dealloc(q, Layout::from_size_align_unchecked(grown, align));
                    let z = ALLOCATOR.alloc_zeroed(layout);
                    assert!(aligned(z, align), "alloc_zeroed {size} aligned {align}");
                    assert!(probes(size).all(|i| *z.add(i) == 0), "alloc_zeroed is zero");
                    ALLOCATOR.dealloc(z, layout);
                }
            }
        }
    }

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
