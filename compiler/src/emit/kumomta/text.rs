//! A policy file being written, its code and its comments kept apart.
//!
//! The writers (`toml::Doc`, the Lua writer in `policy.rs`) send code and comments here
//! separately. The text gets both; for the files whose digest something reads (the Lua
//! policies: the pod-template checksums, [`crate::emit::k8s`]), a running sha256 gets only
//! the code: the digest of the file's *canonical form*, the file without the comments kumoc
//! writes (provenance, headers, explanations), so a change that only touches comments (a
//! value's place, the list of source files) never rolls the pods. The data files are
//! written without one ([`Text::new`]): KumoMTA reloads them live, nothing reads their
//! digest, and hashing their megabytes was a tenth of a large build. Writing with comments off gives the canonical form
//! itself (`emit::emit_canonical`); the tests check that KumoMTA's consumers (Lua 5.4, the
//! TOML parser) read it exactly as they read the commented file.

use sha2::{Digest as _, Sha256};

/// sha256 of a policy file's canonical form.
pub type Digest = [u8; 32];

pub struct Text {
    out: String,
    /// The running digest of the canonical form, for a text made with [`Text::digested`].
    canon: Option<Sha256>,
    comments: bool,
    has_code: bool,
}

impl Text {
    /// A text without a digest. `comments`: whether comments are written (the canonical form
    /// has none).
    pub fn new(comments: bool) -> Self {
        Self {
            out: String::new(),
            canon: None,
            comments,
            has_code: false,
        }
    }

    /// [`Self::new`], written into `buffer` (cleared first): the data files are written one
    /// after the other into one buffer, whose pages the system then maps once, not once per
    /// file (1,100 page faults fewer at 10,000 domains, of 17,600).
    pub fn in_buffer(mut buffer: String, comments: bool) -> Self {
        buffer.clear();
        Self {
            out: buffer,
            ..Self::new(comments)
        }
    }

    /// [`Self::in_buffer`] for a later part of a file (see `super::data::Part`): it goes
    /// on from code, so its first table is set apart by a blank line of code, as in the
    /// file written whole.
    pub fn continuing_in(buffer: String, comments: bool) -> Self {
        Self {
            has_code: true,
            ..Self::in_buffer(buffer, comments)
        }
    }

    /// A text whose canonical form is digested as it is written (the digest is the same with
    /// comments or without).
    pub fn digested(comments: bool) -> Self {
        Self {
            canon: Some(Sha256::new()),
            ..Self::new(comments)
        }
    }

    /// Code: what KumoMTA reads.
    pub fn code(&mut self, s: &str) {
        self.out.push_str(s);
        if let Some(canon) = &mut self.canon {
            canon.update(s.as_bytes());
        }
        self.has_code |= !s.is_empty();
    }

    /// A line end as code ([`Self::code`] of `"\n"`, without copying a string).
    #[inline]
    pub fn code_newline(&mut self) {
        self.out.push('\n');
        if let Some(canon) = &mut self.canon {
            canon.update(b"\n");
        }
        self.has_code = true;
    }

    /// Code written by `write` straight into the text (no intermediate string).
    #[inline]
    pub fn code_with(&mut self, write: impl FnOnce(&mut String)) {
        let start = self.out.len();
        write(&mut self.out);
        let written = self.out.as_bytes().get(start..).unwrap_or_default();
        if let Some(canon) = &mut self.canon {
            canon.update(written);
        }
        self.has_code |= !written.is_empty();
    }

    /// A comment written by `write` straight into the text; `write` is not called when
    /// comments are off.
    #[inline]
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

    /// Room for `lines` more lines of about `per_line` bytes with comments (a third of that
    /// without): a large data file is tens of megabytes, and grown by doubling it was copied
    /// about once over (2% of a 10,000-domain build's instructions).
    pub fn reserve_lines(&mut self, lines: usize, per_line: usize) {
        let per_line = if self.comments {
            per_line
        } else {
            per_line / 3
        };
        let more = lines.saturating_mul(per_line);
        // A reused buffer (mostly unused) too small for this file is replaced, not grown:
        // growing would copy all of its old capacity (the allocator does not know how much
        // of it is in use).
        if self.out.capacity() - self.out.len() < more && self.out.len() < self.out.capacity() / 2 {
            let mut fresh = String::new();
            fresh.reserve(self.out.len().saturating_add(more));
            fresh.push_str(&self.out);
            self.out = fresh;
        }
        self.out.reserve(more);
    }

    /// Whether any code was written yet (never depends on the comments).
    #[inline]
    pub fn has_code(&self) -> bool {
        self.has_code
    }

    /// Whether anything at all was written yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The bytes written so far.
    #[inline]
    pub fn len(&self) -> usize {
        self.out.len()
    }

    /// What was written since `start` (a [`Self::len`] taken before).
    #[inline]
    pub fn since(&self, start: usize) -> &str {
        self.out.get(start..).unwrap_or("")
    }

    /// The text, and the digest of its canonical form when it was made with
    /// [`Text::digested`].
    pub fn finish(self) -> (String, Option<Digest>) {
        (self.out, self.canon.map(|c| c.finalize().into()))
    }
}
