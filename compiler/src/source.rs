//! Source files and positions. The compiler never reads files: callers hand it text.
//! Offsets are UTF-8 bytes everywhere; lines and columns are computed only at the edges,
//! through [`SourceFile::line_col`].

use kumoc_lang::Span;

/// Index of a file in [`Sources`]. The embedded stdlib files come first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A place in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Loc {
    pub file: FileId,
    pub span: Span,
}

impl Loc {
    pub fn new(file: FileId, span: Span) -> Self {
        Self { file, span }
    }
}

#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display name: the path as given on the command line, or `<stdlib>/name.kumo`.
    /// Diagnostics use it (so they stay clickable); emitted output never does.
    pub name: String,
    /// The name emitted output uses: the path relative to the deployment's directory,
    /// `/`-separated (`mail.kumo`), so output does not depend on the working directory or on
    /// where the checkout lives (set by [`crate::analyze_paths`]; the name as given until
    /// then, `<stdlib>/name.kumo` for the stdlib).
    pub rel: String,
    /// Shared with the names of its syntax tree ([`kumoc_lang::parse_shared`]).
    pub text: kumoc_lang::SharedText,
    pub is_stdlib: bool,
    lines: Lines,
}

/// A file's lines, found when first asked for: only diagnostics, their suppressions and the
/// language server read lines. Every line's start is found only when a place past the
/// first [`HEAD`] bytes is asked for: a build whose few findings are near the top of a
/// large file (the deployment block's) never reads the rest for newlines (its table of
/// line starts cost 14.6 M instructions and 1 MB at 10,000 domains, 10 MB at 100,000).
#[derive(Debug, Clone, Default)]
struct Lines {
    /// The start of every line.
    all: std::sync::OnceLock<Vec<u32>>,
    /// The starts up to [`HEAD`] bytes: those of `all` that are at most `HEAD`.
    head: std::sync::OnceLock<Vec<u32>>,
    /// How many lines (newlines and one).
    count: std::sync::OnceLock<usize>,
}

/// How much of a file's start [`Lines::head`] covers.
const HEAD: usize = 64 * 1024;

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>, is_stdlib: bool) -> Self {
        let text = std::sync::Arc::new(text.into());
        let name = name.into();
        Self {
            rel: name.clone(),
            name,
            text,
            is_stdlib,
            lines: Lines::default(),
        }
    }

    /// [`SourceFile::new`] of a user file that was `old` before an edit: the line starts
    /// of the bytes the edit left at both ends are `old`'s (moved by the change of length
    /// after it), only those between are counted again (a 10,000-domain file: 14 M
    /// instructions counted whole). When `old`'s were never asked for, the new file's are
    /// not found either (until asked for).
    pub fn edited(name: impl Into<String>, text: impl Into<String>, old: &SourceFile) -> Self {
        let text = std::sync::Arc::new(text.into());
        let name = name.into();
        let Some(olds) = old.lines.all.get() else {
            return Self {
                rel: name.clone(),
                name,
                text,
                is_stdlib: false,
                lines: Lines::default(),
            };
        };
        let (a, b) = (old.text.as_bytes(), text.as_bytes());
        let lead = common(a, b, |s, i, n| s.get(i..i + n));
        let most = a.len().min(b.len()) - lead;
        let trail = common(a, b, |s, i, n| s.get(s.len() - i - n..s.len() - i)).min(most);
        let (old_end, new_end) = (a.len() - trail, b.len() - trail);
        let at = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
        // A line starts after a `\n`: those up to `lead` follow kept bytes, as do those
        // after `old_end`; the changed bytes' are found again.
        let keep = olds.partition_point(|&s| s as usize <= lead);
        let tail = olds.partition_point(|&s| s as usize <= old_end);
        let mut line_starts = Vec::with_capacity(olds.len() + 16);
        line_starts.extend(olds.iter().take(keep));
        let changed = b.get(lead..new_end).unwrap_or_default();
        line_starts.extend(memchr::memchr_iter(b'\n', changed).map(|i| at(lead + i + 1)));
        let by =
            i64::try_from(new_end).unwrap_or(i64::MAX) - i64::try_from(old_end).unwrap_or(i64::MAX);
        line_starts.extend(
            olds.iter()
                .skip(tail)
                .map(|&s| u32::try_from(i64::from(s) + by).unwrap_or(u32::MAX)),
        );
        Self {
            rel: name.clone(),
            name,
            text,
            is_stdlib: false,
            lines: Lines {
                all: std::sync::OnceLock::from(line_starts),
                ..Lines::default()
            },
        }
    }

    /// The offset of each line's first byte (found on the first call).
    pub fn line_starts(&self) -> &[u32] {
        self.lines.all.get_or_init(|| line_starts(&self.text))
    }

    /// The line starts up to [`HEAD`] bytes (all of them in a short file).
    fn head(&self) -> &[u32] {
        self.lines.head.get_or_init(|| {
            let end = self.text.len().min(HEAD);
            let head = self.text.as_bytes().get(..end).unwrap_or_default();
            let mut starts = vec![0u32];
            starts.extend(
                memchr::memchr_iter(b'\n', head).map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX)),
            );
            starts
        })
    }

    /// Whether [`Self::head`] is every line start.
    fn short(&self) -> bool {
        self.text.len() <= HEAD
    }

    /// 0-based line of a byte offset.
    pub fn line_of(&self, offset: u32) -> usize {
        let starts = match self.lines.all.get() {
            Some(all) => all.as_slice(),
            // Every line start up to `offset` is in the head.
            None if offset as usize <= HEAD || self.short() => self.head(),
            None => self.line_starts(),
        };
        match starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next.saturating_sub(1),
        }
    }

    /// Where 0-based line `line` starts (`None` past the last line).
    pub fn line_start(&self, line: usize) -> Option<u32> {
        if let Some(all) = self.lines.all.get() {
            return all.get(line).copied();
        }
        let head = self.head();
        if let Some(&start) = head.get(line) {
            return Some(start);
        }
        if self.short() {
            return None;
        }
        self.line_starts().get(line).copied()
    }

    /// How many lines the file has (an empty file and a last line without a newline count).
    pub fn line_count(&self) -> usize {
        if let Some(all) = self.lines.all.get() {
            return all.len();
        }
        if self.short() {
            return self.head().len();
        }
        *self
            .lines
            .count
            .get_or_init(|| count_newlines(self.text.as_bytes()) + 1)
    }

    /// 1-based line and 1-based column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = offset.min(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        let line = self.line_of(offset);
        let start = self.line_start(line).unwrap_or(0);
        let col = self
            .text
            .get(start as usize..offset as usize)
            .map_or(0, |s| s.chars().count());
        (line + 1, col + 1)
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text.get(span.range()).unwrap_or("")
    }
}

/// How many bytes `a` and `b` share from one end: `chunk(s, i, n)` is the `n` bytes of `s`
/// at `i` bytes from that end (compared a block at a time, then byte by byte).
fn common(a: &[u8], b: &[u8], chunk: impl Fn(&[u8], usize, usize) -> Option<&[u8]>) -> usize {
    const BLOCK: usize = 256;
    let n = a.len().min(b.len());
    let mut i = 0;
    while i + BLOCK <= n && chunk(a, i, BLOCK) == chunk(b, i, BLOCK) {
        i += BLOCK;
    }
    while i < n && chunk(a, i, 1) == chunk(b, i, 1) {
        i += 1;
    }
    i
}

/// How many `\n` `bytes` has: 64 bytes at a time, each block's count a sum of compares the
/// compiler vectorizes (about 0.1 instructions a byte).
fn count_newlines(bytes: &[u8]) -> usize {
    let blocks = bytes.chunks_exact(64);
    let rest = blocks.remainder();
    let whole: usize = blocks
        .map(|b| usize::from(b.iter().fold(0u8, |n, &c| n + u8::from(c == b'\n'))))
        .sum();
    whole + rest.iter().filter(|&&c| c == b'\n').count()
}

/// The offset of each line's first byte. The text is read eight bytes at a time, each word
/// turned into a mask of its newlines (SWAR, exact per byte: no carry crosses a byte), so
/// a megabyte costs about one instruction per byte rather than a branch per byte.
fn line_starts(text: &str) -> Vec<u32> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let bytes = text.as_bytes();
    let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
    starts.push(0u32);
    let at = |i: usize| u32::try_from(i).unwrap_or(u32::MAX);
    let words = bytes.chunks_exact(8);
    let rest = words.remainder();
    for (w, word) in words.enumerate() {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            continue;
        };
        let x = u64::from_le_bytes(word) ^ NEWLINES;
        // The high bit of each byte that was `\n` (now zero).
        let mut zero = !(((x & LOW7) + LOW7) | x) & !LOW7;
        while zero != 0 {
            let i = w * 8 + (zero.trailing_zeros() / 8) as usize;
            starts.push(at(i + 1));
            zero &= zero - 1;
        }
    }
    let base = bytes.len() - rest.len();
    for (i, &b) in rest.iter().enumerate() {
        if b == b'\n' {
            starts.push(at(base + i + 1));
        }
    }
    starts
}

/// All files of one analysis: the stdlib, then the user's files in the order given.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(file);
        id
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.name.as_str())
    }

    /// `name:line` of a place, with the name as given (for people at a terminal or in an
    /// editor; emitted files name places with `emit::Provenance` instead).
    pub fn position(&self, loc: Loc) -> String {
        match self.get(loc.file) {
            Some(f) => format!("{}:{}", f.name, f.line_of(loc.span.start) + 1),
            None => "<unknown>".to_string(),
        }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Lexical components of a path: `.` and empty segments dropped, `x/..` folded (a leading
/// `..` is kept); a leading separator is kept as an empty first component.
fn components(path: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for (i, seg) in path.split(['/', '\\']).enumerate() {
        match seg {
            "" if i == 0 => out.push(""),
            "" | "." => {}
            ".." => match out.last() {
                Some(&last) if last != ".." && !last.is_empty() => {
                    out.pop();
                }
                Some(&"") => {}
                _ => out.push(".."),
            },
            s => out.push(s),
        }
    }
    out
}

/// Each path relative to the deepest directory holding them all (the deployment's
/// directory: for `kumoc build DIR`, DIR; for file arguments, their common directory),
/// `/`-separated. Paths are normalised lexically (`.` dropped, `dir/..` folded) and may use
/// `/` or `\\` as separators.
pub fn deployment_relative(paths: &[String]) -> Vec<String> {
    let split: Vec<Vec<&str>> = paths.iter().map(|p| components(p)).collect();
    // The common directory: the longest common prefix of the files' directories.
    let mut common = split.first().map_or(0, |c| c.len().saturating_sub(1));
    for c in &split {
        let dir = &c[..c.len().saturating_sub(1)];
        let first = &split[0][..common];
        common = first
            .iter()
            .zip(dir)
            .take_while(|(a, b)| a == b)
            .count()
            .min(common);
    }
    split
        .iter()
        .map(|c| c.get(common..).unwrap_or_default().join("/"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{SourceFile, deployment_relative, line_starts};

    #[test]
    fn line_starts_of_an_edit_are_those_of_the_new_text() {
        // Edits at the start, in the middle and at the end; empty old or new text; a
        // `\r\n` split by the edit; newlines inserted and deleted; multi-byte text cut
        // next to the change; more than one 256-byte block kept at each end.
        let long = "ab\n".repeat(200);
        let texts = [
            String::new(),
            "\n".to_string(),
            "\n\n\n".to_string(),
            "a\r\nb\r\n".to_string(),
            "a\rb\n".to_string(),
            "ĊĊ\nĊ\n".to_string(),
            "domain \"x\" {\n  a = 1\n}\n".to_string(),
            format!("{long}x\n{long}"),
            format!("{long}y\ny\n{long}"),
            format!("{long}{long}"),
        ];
        for old in &texts {
            for new in &texts {
                for (edited, counted) in [
                    (new.clone(), true),
                    (format!("\n{new}"), true),
                    (format!("{new}\r"), true),
                    (new.clone(), false),
                ] {
                    let before = SourceFile::new("a.kumo", old.clone(), false);
                    // Moved from `before`'s when they were counted, else counted when asked.
                    if counted {
                        assert_eq!(before.line_starts().first(), Some(&0));
                    }
                    let got = SourceFile::edited("a.kumo", edited.clone(), &before);
                    assert_eq!(got.lines.all.get().is_some(), counted);
                    let want = SourceFile::new("a.kumo", edited.clone(), false);
                    assert_eq!(
                        got.line_starts(),
                        want.line_starts(),
                        "{old:?} -> {edited:?}"
                    );
                    assert_eq!(&*got.text, &*want.text);
                }
            }
        }
    }

    /// Lines looked up without the table of every line start (in the head, past it, in a
    /// short file) are those of the table.
    #[test]
    fn lines_looked_up_lazily_are_those_of_the_table() {
        let long = "ab\ncdef\n\n".repeat(super::HEAD / 5);
        for text in [
            String::new(),
            "x".to_string(),
            "\n".to_string(),
            "a\nb".to_string(),
            "a\nb\n".to_string(),
            long.clone(),
            format!("{long}tail"),
            format!("{}\nz", "y".repeat(super::HEAD + 3)),
        ] {
            let want = super::line_starts(&text);
            let len = u32::try_from(text.len()).unwrap();
            let f = SourceFile::new("a.kumo", text.clone(), false);
            assert_eq!(f.line_count(), want.len());
            for line in [
                0,
                1,
                2,
                want.len() / 2,
                want.len() - 1,
                want.len(),
                want.len() + 1,
            ] {
                assert_eq!(f.line_start(line), want.get(line).copied(), "{line}");
            }
            for offset in (0..=len + 1)
                .step_by(997)
                .chain([len.saturating_sub(1), len])
            {
                let f = SourceFile::new("a.kumo", text.clone(), false);
                let want_line = match want.binary_search(&offset) {
                    Ok(l) => l,
                    Err(n) => n - 1,
                };
                assert_eq!(f.line_of(offset), want_line, "{offset}");
                assert_eq!(f.line_col(offset).0, want_line + 1, "{offset}");
                // The whole table is found only past the head.
                let far = offset as usize > super::HEAD && text.len() > super::HEAD;
                assert_eq!(f.lines.all.get().is_some(), far, "{offset}");
            }
        }
    }

    #[test]
    fn line_starts_are_after_each_newline() {
        // Around the 8-byte words the scan reads: newlines on, before and after their
        // edges, and a remainder.
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200] {
            for every in [1, 2, 3, 7, 8, 9, 64] {
                let text: String = (0..len)
                    .map(|i| if i % every == every - 1 { '\n' } else { 'x' })
                    .collect();
                let want: Vec<u32> = std::iter::once(0)
                    .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
                    .collect();
                assert_eq!(line_starts(&text), want, "{len} {every}");
            }
        }
        // Bytes one bit from `\n` (0x0b, 0x8a inside `Ċ`, 0x01 after a newline) are not
        // newlines, at every offset in a word.
        for shift in 0..8 {
            let text = format!("{}a\u{10a}\x0b\n\x01\n\nĊ\x0a\x09b\n", "x".repeat(shift));
            let want: Vec<u32> = std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i as u32 + 1))
                .collect();
            assert_eq!(line_starts(&text), want, "{shift}");
        }
    }

    fn rel(paths: &[&str]) -> Vec<String> {
        deployment_relative(&paths.iter().map(|p| p.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn names_are_relative_to_the_common_directory() {
        let want = ["deployment.kumo", "mail.kumo"];
        for given in [
            [
                "examples/example-com/deployment.kumo",
                "examples/example-com/mail.kumo",
            ],
            [
                "/w/x/examples/example-com/deployment.kumo",
                "/w/x/examples/example-com/mail.kumo",
            ],
            ["./deployment.kumo", "mail.kumo"],
            ["../example-com/deployment.kumo", "../example-com/mail.kumo"],
            ["a/../b/./deployment.kumo", "b/mail.kumo"],
            ["C:\\co\\dep\\deployment.kumo", "C:\\co\\dep\\mail.kumo"],
        ] {
            assert_eq!(rel(&given), want, "{given:?}");
        }
        assert_eq!(rel(&["/d/mail.kumo"]), ["mail.kumo"]);
        assert_eq!(rel(&["mail.kumo"]), ["mail.kumo"]);
        assert_eq!(
            rel(&["/a/b/x.kumo", "/a/c/y.kumo"]),
            ["b/x.kumo", "c/y.kumo"]
        );
        assert_eq!(rel(&["/a/x.kumo", "/a/b/y.kumo"]), ["x.kumo", "b/y.kumo"]);
        // A directory named like a file's prefix is not a common directory.
        assert_eq!(
            rel(&["/a/bc/x.kumo", "/a/b/y.kumo"]),
            ["bc/x.kumo", "b/y.kumo"]
        );
        assert_eq!(rel(&["/x.kumo", "/y.kumo"]), ["x.kumo", "y.kumo"]);
        assert_eq!(rel(&[]), Vec::<String>::new());
    }
}
