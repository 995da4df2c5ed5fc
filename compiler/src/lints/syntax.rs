//! What the lints read of the syntax trees, with or without the trees.
//!
//! Lints run over the model, but a few read what was written: where an attribute's key or
//! value is (a fix renames it), the last place a setting is written (`find_written`),
//! which top-level block a location is in (`drop_uncertain`), the suppression comments and
//! the statements they cover. [`Syntax::Trees`] reads them from every file's tree (the
//! language server keeps its trees). `kumoc build` and `kumoc check` drop each statement's
//! tree once it is checked and keep an [`Outline`]: where each top-level statement starts
//! and its keyword (a statement is read again when a lint needs it, which is rare: a fix
//! or the `cluster` block), the suppression comments, and for a file that has any, every
//! statement's span. Both give the same answers (`tests/it/pipeline.rs`).

use std::sync::Arc;

use kumoc_lang::ast::{Block, Comment, Span, Stmt};
use kumoc_lang::{Parse, Statements};

use crate::source::{FileId, Sources};

/// The syntax the lints read: see the module's documentation.
#[derive(Clone, Copy)]
pub enum Syntax<'a> {
    /// Every file's tree, by file id.
    Trees(&'a [Arc<Parse>]),
    /// What the build keeps of them.
    Outline(&'a Outline),
}

/// What a build keeps of the syntax trees it drops (see the module's documentation):
/// about 5 bytes per top-level statement.
#[derive(Debug, Default)]
pub struct Outline {
    /// By file id.
    files: Vec<FileOutline>,
}

/// [`Outline`] of one file.
#[derive(Debug, Default)]
pub struct FileOutline {
    /// Where each top-level statement's piece starts (where it is read again from).
    starts: Vec<u32>,
    /// Each top-level statement's keyword: its index among the top-level blocks of the
    /// schema, [`OTHER`] for anything else.
    keywords: Vec<u8>,
    /// The comments that hold a suppression.
    allows: Vec<Comment>,
    /// Every statement's span in pre-order, only for a file whose text holds a suppression
    /// marker (what a suppression covers is found among them).
    stmts: Option<Vec<Span>>,
}

/// Not a block with a keyword of the top level.
const OTHER: u8 = u8::MAX;

fn keyword_id(keyword: &str) -> u8 {
    crate::schema::ROOT
        .children
        .iter()
        .position(|c| c.keyword == keyword)
        .and_then(|i| u8::try_from(i).ok())
        .filter(|&i| i != OTHER)
        .unwrap_or(OTHER)
}

impl FileOutline {
    /// The outline of a file with text `text`, to be filled statement by statement.
    pub fn new(text: &str) -> Self {
        FileOutline {
            stmts: text.contains(super::suppress::MARKER).then(Vec::new),
            ..FileOutline::default()
        }
    }

    /// An empty outline for a later range of the same file (`FileOutline::append`ed to this
    /// one): whether the file's text holds a suppression marker is known (a search of a
    /// 10,000-domain file for it, 2.5 M instructions, before the range's thread starts).
    pub fn for_later_range(&self) -> Self {
        FileOutline {
            stmts: self.stmts.as_ref().map(|_| Vec::new()),
            ..FileOutline::default()
        }
    }

    /// Add the next top-level statement, whose piece starts at `start`, with the comments
    /// read with it ([`Statements::comments`]).
    pub fn add(&mut self, start: u32, stmt: &Stmt, comments: &[Comment]) {
        self.starts.push(start);
        self.keywords.push(match stmt {
            Stmt::Block(b) => keyword_id(&b.keyword.name),
            Stmt::Attr(_) | Stmt::Error(_) => OTHER,
        });
        if let Some(stmts) = &mut self.stmts {
            super::suppress::statements(std::slice::from_ref(stmt), stmts);
        }
        self.comments(comments);
    }

    /// The comments read after the last statement, and no more statements.
    pub fn end(&mut self, comments: &[Comment]) {
        self.trailing(comments);
        self.shrink();
    }

    /// The comments read after the last statement (by a run of statements that reached
    /// the end of the file).
    pub fn trailing(&mut self, comments: &[Comment]) {
        self.comments(comments);
    }

    /// Add the outline of the statements after this one's (of the same file, read apart
    /// from where this one's stopped): as if one outline had read them all.
    pub fn append(&mut self, mut later: FileOutline) {
        self.starts.append(&mut later.starts);
        self.keywords.append(&mut later.keywords);
        self.allows.append(&mut later.allows);
        if let (Some(s), Some(l)) = (&mut self.stmts, &mut later.stmts) {
            s.append(l);
        }
    }

    /// No spare room: the outline lives through the analysis.
    pub fn shrink(&mut self) {
        self.starts.shrink_to_fit();
        self.keywords.shrink_to_fit();
        if let Some(s) = &mut self.stmts {
            s.shrink_to_fit();
        }
    }

    fn comments(&mut self, comments: &[Comment]) {
        if self.stmts.is_some() {
            let marked = comments
                .iter()
                .filter(|c| c.text.contains(super::suppress::MARKER));
            self.allows.extend(marked.cloned());
        }
    }
}

impl Outline {
    /// Add the outline of the next file (files in id order).
    pub fn push(&mut self, file: FileOutline) {
        self.files.push(file);
    }
}

impl<'a> Syntax<'a> {
    /// `f` of the last top-level statement of `file` that starts at or before `at` (the
    /// only one that can hold it); `None` when there is none.
    pub fn top_stmt_at<R>(
        &self,
        sources: &Sources,
        file: FileId,
        at: u32,
        f: impl FnOnce(&Stmt) -> R,
    ) -> Option<R> {
        match self {
            Syntax::Trees(parses) => {
                let items = &parses.get(file.0 as usize)?.file.items;
                let i = items.partition_point(|s| s.span().start <= at);
                Some(f(items.get(i.checked_sub(1)?)?))
            }
            Syntax::Outline(o) => {
                let fo = o.files.get(file.0 as usize)?;
                let text = &sources.get(file)?.text;
                let mut i = fo.starts.partition_point(|&s| s <= at).checked_sub(1)?;
                loop {
                    let (_, stmt) = Statements::at(text, *fo.starts.get(i)?).next_stmt()?;
                    // `at` in the blanks and comments before a statement: the one before.
                    if stmt.span().start <= at {
                        return Some(f(&stmt));
                    }
                    i = i.checked_sub(1)?;
                }
            }
        }
    }

    /// `f` of each top-level block of `file` whose keyword is `keyword`, in order.
    pub fn top_blocks(
        &self,
        sources: &Sources,
        file: FileId,
        keyword: &str,
        mut f: impl FnMut(&Block),
    ) {
        let mut visit = |s: &Stmt| {
            if let Stmt::Block(b) = s
                && b.keyword.name == keyword
            {
                f(b);
            }
        };
        match self {
            Syntax::Trees(parses) => {
                for s in parses
                    .get(file.0 as usize)
                    .map_or(&[][..], |p| &p.file.items)
                {
                    visit(s);
                }
            }
            Syntax::Outline(o) => {
                let (Some(fo), Some(source)) = (o.files.get(file.0 as usize), sources.get(file))
                else {
                    return;
                };
                let id = keyword_id(keyword);
                for (start, k) in fo.starts.iter().zip(&fo.keywords) {
                    if *k == id
                        && let Some((_, s)) = Statements::at(&source.text, *start).next_stmt()
                    {
                        visit(&s);
                    }
                }
            }
        }
    }

    /// The comments of `file` that may hold a suppression (with others, for the trees), and
    /// `statements` of the file, as [`super::suppress`] reads them.
    pub(crate) fn comments(&self, file: FileId) -> &'a [Comment] {
        match self {
            Syntax::Trees(parses) => parses
                .get(file.0 as usize)
                .map_or(&[][..], |p| &p.file.comments),
            Syntax::Outline(o) => o.files.get(file.0 as usize).map_or(&[][..], |f| &f.allows),
        }
    }

    /// Every statement's span of `file`, in pre-order (called only for a file with a
    /// suppression).
    pub(crate) fn statement_spans(&self, file: FileId, out: &mut Vec<Span>) {
        match self {
            Syntax::Trees(parses) => {
                if let Some(p) = parses.get(file.0 as usize) {
                    super::suppress::statements(&p.file.items, out);
                }
            }
            Syntax::Outline(o) => {
                if let Some(s) = o.files.get(file.0 as usize).and_then(|f| f.stmts.as_ref()) {
                    out.extend_from_slice(s);
                }
            }
        }
    }
}
