//! A policy file being written, its code and its comments kept apart.
//!
//! The writers (`toml::Doc`, the Lua writer in `policy.rs`) send code and comments here
//! separately. The text gets both; a running sha256 gets only the code: the digest of the
//! file's *canonical form*, the file without the comments kumoc writes (provenance, headers,
//! explanations). The pod-template checksums are computed from these digests
//! ([`crate::emit::k8s`]), so a change that only touches comments (a value's place, the list
//! of source files) never rolls the pods. Writing with comments off gives the canonical form
//! itself (`emit::emit_canonical`); the tests check that KumoMTA's consumers (Lua 5.4, the
//! TOML parser) read it exactly as they read the commented file.

use sha2::{Digest as _, Sha256};

/// sha256 of a policy file's canonical form.
pub type Digest = [u8; 32];

pub struct Text {
    out: String,
    canon: Sha256,
    comments: bool,
    has_code: bool,
}

impl Text {
    /// `comments`: whether comments are written (the canonical form has none; the digest is
    /// the same either way).
    pub fn new(comments: bool) -> Self {
        Self {
            out: String::new(),
            canon: Sha256::new(),
            comments,
            has_code: false,
        }
    }

    /// Code: what KumoMTA reads.
    pub fn code(&mut self, s: &str) {
        self.out.push_str(s);
        self.canon.update(s.as_bytes());
        self.has_code |= !s.is_empty();
    }

    /// Code written by `write` straight into the text (no intermediate string).
    pub fn code_with(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.out.len();
        write(&mut self.out);
        let written = self.out.as_bytes().get(start..).unwrap_or_default();
        self.canon.update(written);
        self.has_code |= !written.is_empty();
    }

    /// A comment written by `write` straight into the text; `write` is not called when
    /// comments are off.
    pub fn comment_with(&mut self, write: impl FnOnce(&mut String)) {
        if self.comments {
            write(&mut self.out);
        }
    }

    /// A comment, with its delimiters, and the layout that exists only for it (its
    /// indentation, the line end of a comment line, a blank line after a header).
    pub fn comment(&mut self, s: &str) {
        if self.comments {
            self.out.push_str(s);
        }
    }

    /// Whether any code was written yet (never depends on the comments).
    pub fn has_code(&self) -> bool {
        self.has_code
    }

    /// Whether anything at all was written yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(self) -> (String, Digest) {
        (self.out, self.canon.finalize().into())
    }
}
