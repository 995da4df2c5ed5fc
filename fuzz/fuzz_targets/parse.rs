//! Arbitrary bytes never make the parser panic; the tree keeps its invariants.
//! The properties are documented on [`kumoc_fuzz::parse`].

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| kumoc_fuzz::parse(data));
