//! The standard library: `.kumo` files embedded in the binary and parsed like user files.
//! They come first in every analysis (file ids `0..FILES.len()`), so a user block of the
//! same name merges over them.

/// `(display name, text)` of each stdlib file.
pub static FILES: &[(&str, &str)] = &[(
    "<stdlib>/shaping.kumo",
    include_str!("../../stdlib/shaping.kumo"),
)];
