//! Where a value came from, as `file:line`, for the comments in emitted files.

use crate::diagnostic::Loc;
use crate::source::Sources;

pub struct Provenance<'s> {
    sources: &'s Sources,
}

impl<'s> Provenance<'s> {
    pub fn new(sources: &'s Sources) -> Self {
        Self { sources }
    }

    /// `examples/example-com/mail.kumo:12` (or `<stdlib>/shaping.kumo:60`).
    pub fn at(&self, loc: Loc) -> String {
        match self.sources.get(loc.file) {
            Some(f) => format!("{}:{}", f.name, f.line_of(loc.span.start) + 1),
            None => "<unknown>".to_string(),
        }
    }

    /// The names of the user's files, for file headers.
    pub fn user_files(&self) -> Vec<&'s str> {
        self.sources
            .iter()
            .filter(|(_, f)| !f.is_stdlib)
            .map(|(_, f)| f.name.as_str())
            .collect()
    }
}
