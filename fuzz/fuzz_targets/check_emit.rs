//! Check, render, fix and emit never panic; analysis and emit are deterministic; formatting keeps the meaning.
//! The properties are documented on [`kumoc_fuzz::check_emit`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kumoc_fuzz::check_emit(data));
