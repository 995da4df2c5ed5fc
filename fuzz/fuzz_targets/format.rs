//! The formatter keeps the parse and the comments, and is idempotent.
//! The properties are documented on [`kumoc_fuzz::format`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kumoc_fuzz::format(data));
