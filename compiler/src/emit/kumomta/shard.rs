//! Splitting a large helper data file into shards, so every Kubernetes object that carries
//! one stays under the API's limits (issue 13: 100,000 domains are about 100 MB of policy
//! data; a ConfigMap holds at most 1 MiB, and client-side `kubectl apply` at most 256 KiB).
//!
//! Every helper takes a list of files and merges them (KumoMTA's `assets/policy-extras`):
//! `sources.lua` merges `[source.X]` tables key by key and *appends* pool entries (never
//! deduplicated); `dkim_sign.lua` merges `[base]` and each `[domain.X]` key by key;
//! `queue.lua` merges the top-level options, each `[tenant.X]` and each `[queue.X]`
//! recursively; `kumo.shaping.load` merges each domain and provider block. So a file is cut
//! between *units*, and each unit is written to exactly one shard:
//!
//! - a unit is a table with every table under it: `[queue."d"]` with `[queue."d"."t"]`,
//!   `["d"]` with `["d".sources."s"]` and `[["d".automation]]`, `[provider."p"]` with
//!   its sources; its key is the first path segment, and the second one when the first is
//!   one of the helpers' fixed words (`source`, `pool`, `tenant`, `queue`, `domain`,
//!   `provider`, `signature`);
//! - a pool entry `[pool."p"."s"]` has the key of its source `[source."s"]`, so a source and
//!   its pool entries are in one shard, and each entry is written once;
//! - what precedes the first table (header comments, the queue helper's top-level options)
//!   goes to shard 0; the other shards repeat only its comments.
//!
//! A unit's shard is a hash of its key modulo the shard count, so adding a domain changes
//! one shard. The shard count of a file is a power of two, the smallest whose every shard has
//! at most [`CODE_BUDGET`] bytes of code (its text without comments, counted as `kubectl`
//! escapes it in JSON): it depends on the code only, so a change to comments never changes
//! the list of files `init.lua` loads (which would roll the pods), and it changes only when a
//! shard outgrows the budget (the count then doubles). A file with at most [`INLINE_BUDGET`]
//! bytes of code is not sharded and stays in the policy ConfigMap with `init.lua`.
//! The hard limit then holds whatever the comments: a shard whose text is over
//! [`HARD_LIMIT`] loses its comments.
//!
//! The units and their code sizes are not found by reading the file again: its writer
//! (`toml::Doc`) records them as it writes each table header and each line of code
//! ([`Layout`]); a test checks that record against reading the text line by line. A large
//! file may be written in two parts on two threads (`data::Part`): [`split`] cuts the parts
//! into the shards of the file written whole.

use std::collections::BTreeMap;

/// Bytes of code (JSON-escaped) of one shard at most.
pub const CODE_BUDGET: usize = 64 * 1024;
/// A data file with at most this many bytes of code (JSON-escaped) is not sharded.
pub const INLINE_BUDGET: usize = 16 * 1024;
/// What a ConfigMap's data may hold, JSON-escaped: client-side `kubectl apply` copies the
/// object as JSON into the `kubectl.kubernetes.io/last-applied-configuration` annotation,
/// and all annotations together may hold 256 KiB (262,144 bytes); the rest is left for the
/// object's metadata.
pub const HARD_LIMIT: usize = 250_000;

/// Where the units of a data file are (see the module documentation), recorded by its
/// writer (`toml::Doc`) as it writes each table header and each line of code: the lead's
/// code, and each unit's start, key hash and code, exactly what reading the text again
/// line by line finds (`units`, which the tests compare with), without reading it again.
#[derive(Default)]
pub struct Layout {
    /// Where the first table starts, once there is one.
    lead_end: Option<usize>,
    /// Bytes of code (JSON-escaped, see [`code_len`]) before the first table, and of the
    /// whole text there ([`json_len`]).
    lead_code: usize,
    lead_json: usize,
    /// Each unit: where it starts in the text, the hash of its key, its bytes of code and
    /// of its whole text (comments and blank lines too), JSON-escaped.
    units: Vec<Recorded>,
    /// Whether some text written may not be printable ASCII, or some line may end with a
    /// blank (see [`Layout::plain`]).
    not_plain: bool,
}

/// A unit as its writer recorded it in a [`Layout`].
#[derive(Clone, Copy)]
struct Recorded {
    start: usize,
    hash: u64,
    code: usize,
    json: usize,
}

impl Layout {
    /// A table header line starts at `at`. A header of the same key as the unit before
    /// continues that unit. `segs` are the header's first three segments as [`header_segments`] reads them
    /// back (the text between its quotes or bare, and whether it was quoted): its writer
    /// passes them as it writes them, so the line is not read again.
    ///
    /// The key is hashed from the segments, not written out: two keys of one hash go to one
    /// shard whatever they are, so units told apart by their hash are cut as by their key.
    pub(crate) fn table_segments(&mut self, at: usize, segs: [Option<(&str, bool)>; 3]) {
        let hash = mix(segments_key(segs)
            .iter()
            .fold(FNV_OFFSET, |h, part| fnv1a_from(h, part.as_bytes())));
        if self.lead_end.is_none() {
            self.lead_end = Some(at);
        } else if self.units.last().is_some_and(|u| u.hash == hash) {
            return;
        }
        self.units.push(Recorded {
            start: at,
            hash,
            code: 0,
            json: 0,
        });
    }

    /// Room for `units` more units, so their record is not grown by doubling (each step a
    /// copy, and both copies in memory at once).
    pub(crate) fn reserve(&mut self, units: usize) {
        self.units.reserve(units);
    }

    /// A line with code whose code (without the line end) is `json` bytes JSON-escaped:
    /// `json` and the escaped line end, in the lead or the current unit (its comment goes
    /// to [`Self::other`]).
    #[inline]
    pub(crate) fn code_line(&mut self, json: usize) {
        match self.units.last_mut() {
            Some(u) => {
                u.code += json + 2;
                u.json += json + 2;
            }
            None => {
                self.lead_code += json + 2;
                self.lead_json += json + 2;
            }
        }
    }

    /// Some text was written that may not be printable ASCII, or a line that may end with a
    /// blank.
    pub(crate) fn not_plain(&mut self) {
        self.not_plain = true;
    }

    /// Whether every byte written is printable ASCII or a line end, and no line ends with a
    /// blank, as the writer knows without reading the text: then so is every shard cut
    /// from it ([`Split::plain`]), which its ConfigMap's literal block needs.
    pub(crate) fn plain(&self) -> bool {
        !self.not_plain
    }

    /// Text that is not code (a comment, a blank line) of `json` bytes JSON-escaped, in the
    /// lead or the current unit.
    #[inline]
    pub(crate) fn other(&mut self, json: usize) {
        match self.units.last_mut() {
            Some(u) => u.json += json,
            None => self.lead_json += json,
        }
    }
}

/// How a data file is cut into its shards (see the module documentation), made by
/// [`split`]: each shard's text is put together on demand ([`Split::write`]), one at a time,
/// so a caller that writes each out before the next never holds more than one.
pub struct Split<'a> {
    /// What precedes the first table, in pieces (shard 0 starts with it), and its comment
    /// lines (the other shards start with those).
    lead: Vec<&'a str>,
    lead_comments: String,
    stem: &'a str,
    /// The units' texts (in pieces), shard after shard (each shard's in file order).
    pieces: Vec<&'a str>,
    /// Where each shard's pieces end in `pieces`.
    ends: Vec<usize>,
    /// Each shard's bytes, and its size JSON-escaped (for the hard limit): the sums of its
    /// parts', so no shard is read again.
    bytes: Vec<usize>,
    json: Vec<usize>,
    /// Whether the file's text is plain ([`Layout::plain`]).
    plain: bool,
}

/// The shards of a data file (`name`, e.g. `dkim_data.toml`): `None` when the file is small
/// enough to stay whole in the policy ConfigMap, else how it is cut ([`Split`]), into
/// shards named `<stem>-<i>-of-<n>.toml` (`names::shard_file`). The file is the texts of
/// `parts` one after the other, each with the units its writer recorded: a large file is
/// written in two parts on two threads (`super::emit`). A part's text before its first
/// table continues the unit before it, and a part's first unit of the same key as the
/// unit before continues that unit, so the shards are those of the file written whole.
pub fn split<'a>(name: &'a str, parts: &[(&'a str, &Layout)]) -> Option<Split<'a>> {
    // What precedes the first table, in pieces (the parts before the first unit).
    let mut lead: Vec<&'a str> = Vec::new();
    let (mut lead_code, mut lead_json) = (0, 0);
    for &(text, layout) in parts {
        lead.push(text.get(..lead_end(text, layout)).unwrap_or(""));
        lead_code += layout.lead_code;
        lead_json += layout.lead_json;
        if !layout.units.is_empty() {
            break;
        }
    }
    let mut total = lead_code;
    let mut n_units = 0;
    each_unit(parts, |_, code| {
        total += code;
        n_units += 1;
    });
    if total <= INLINE_BUDGET {
        return None;
    }
    let mut count: u64 = 1;
    loop {
        let mut sizes = vec![0usize; usize::try_from(count).unwrap_or(1)];
        if let Some(first) = sizes.first_mut() {
            *first = lead_code;
        }
        // A unit over the budget by itself (a very long value) cannot be split: it is not
        // counted, so it does not double the count for nothing (its shard's text is
        // bounded by leaving out comments).
        each_unit(parts, |hash, code| {
            if let Some(s) = sizes.get_mut(bucket(hash, count)) {
                *s += if code > CODE_BUDGET { 0 } else { code };
            }
        });
        if sizes.iter().all(|&s| s <= CODE_BUDGET)
            || count >= 1 << 16
            || count as usize >= 2 * n_units.max(1)
        {
            break;
        }
        count *= 2;
    }
    let lead_comments: String = lead
        .iter()
        .flat_map(|t| t.split_inclusive('\n'))
        .filter(|l| l.starts_with('#'))
        .collect();
    // Each piece's shard; each shard's size in bytes, so its text is allocated once, and
    // JSON-escaped; then the pieces grouped by shard (a counting sort: stable, so each
    // shard's pieces stay in file order, and the pieces of a unit together). A piece is a
    // unit's text, or a later part's text before its first table, which continues the
    // unit before it.
    let n = usize::try_from(count).unwrap_or(1);
    let mut bytes = vec![lead_comments.len(); n];
    let mut json = vec![json_len(&lead_comments); n];
    if let (Some(b), Some(j)) = (bytes.first_mut(), json.first_mut()) {
        *b = lead.iter().map(|t| t.len()).sum();
        *j = lead_json;
    }
    let mut ends = vec![0usize; n];
    let mut placed: Vec<(&str, usize)> =
        Vec::with_capacity(parts.iter().map(|(_, l)| l.units.len() + 1).sum());
    let mut place = |text: &'a str, hash: u64, size: usize| {
        let i = bucket(hash, count);
        if let (Some(b), Some(s), Some(e)) = (bytes.get_mut(i), json.get_mut(i), ends.get_mut(i)) {
            *b += text.len();
            *s += size;
            *e += 1;
        }
        placed.push((text, i));
    };
    let mut last: Option<u64> = None;
    for &(text, layout) in parts {
        if let Some(hash) = last {
            let end = lead_end(text, layout);
            place(text.get(..end).unwrap_or(""), hash, layout.lead_json);
        }
        let ends = layout
            .units
            .iter()
            .skip(1)
            .map(|u| u.start)
            .chain([text.len()]);
        for (u, end) in layout.units.iter().zip(ends) {
            place(text.get(u.start..end).unwrap_or(""), u.hash, u.json);
            last = Some(u.hash);
        }
    }
    // `ends` holds each shard's piece count: its running sum is where each shard ends, and
    // each shard's next free place is where the previous one ends.
    let mut at = 0;
    let mut next = vec![0usize; n];
    for (e, free) in ends.iter_mut().zip(&mut next) {
        *free = at;
        at += *e;
        *e = at;
    }
    let mut pieces = vec![""; placed.len()];
    for (t, i) in placed {
        if let Some(free) = next.get_mut(i) {
            if let Some(p) = pieces.get_mut(*free) {
                *p = t;
            }
            *free += 1;
        }
    }
    Some(Split {
        lead,
        lead_comments,
        stem: name.strip_suffix(".toml").unwrap_or(name),
        pieces,
        ends,
        bytes,
        json,
        plain: parts.iter().all(|(_, l)| l.plain()),
    })
}

/// Where `layout`'s first table starts in `text` (its end when there is none).
fn lead_end(text: &str, layout: &Layout) -> usize {
    layout.lead_end.unwrap_or(text.len()).min(text.len())
}

/// Each unit of the file that is the texts of `parts` one after the other, in order, to
/// `f`: its key's hash and its code. A later part's text before its first table continues
/// the unit before it, and its first unit, when of the same key as the unit before,
/// continues that unit (a part's writer already joins the tables of one key that follow
/// each other), so a file written in parts is cut as if written whole.
fn each_unit(parts: &[(&str, &Layout)], mut f: impl FnMut(u64, usize)) {
    // The last unit so far, not yet handed to `f`.
    let mut pending: Option<(u64, usize)> = None;
    for &(_, layout) in parts {
        if let Some(p) = &mut pending {
            p.1 += layout.lead_code;
        }
        for u in &layout.units {
            match &mut pending {
                Some(p) if p.0 == u.hash => p.1 += u.code,
                _ => {
                    if let Some((hash, code)) = pending.replace((u.hash, u.code)) {
                        f(hash, code);
                    }
                }
            }
        }
    }
    if let Some((hash, code)) = pending {
        f(hash, code);
    }
}

impl Split<'_> {
    /// Whether every shard is printable ASCII without a blank at the end of a line, as its
    /// writer recorded ([`Layout::plain`]; a shard is lines of the file, or their code).
    pub fn plain(&self) -> bool {
        self.plain
    }

    /// The number of shards (at least one).
    pub fn count(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of the largest shard, and one for the final newline: what [`Self::write`]
    /// needs of a buffer to write any of them without growing it.
    pub fn largest(&self) -> usize {
        self.bytes.iter().max().copied().unwrap_or(0) + 1
    }

    /// Shard `i`'s file name (`<stem>-<i>-of-<n>.toml`).
    pub fn file(&self, i: usize) -> String {
        crate::names::shard_file(self.stem, i, self.count())
    }

    /// Shard `i`'s text written into `out` (cleared first); returns its file name.
    pub fn write(&self, i: usize, out: &mut String) -> String {
        out.clear();
        let start = i
            .checked_sub(1)
            .and_then(|j| self.ends.get(j))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(i).copied().unwrap_or(start);
        out.reserve(self.bytes.get(i).copied().unwrap_or(0));
        if i == 0 {
            for t in &self.lead {
                out.push_str(t);
            }
        } else {
            out.push_str(&self.lead_comments);
        }
        for t in self.pieces.get(start..end).unwrap_or_default() {
            out.push_str(t);
        }
        // Over the hard limit (JSON-escaped), the shard goes without its comments.
        if self.json.get(i).is_some_and(|&j| j > HARD_LIMIT) {
            *out = strip_comments(out);
        }
        one_final_newline(out);
        self.file(i)
    }

    /// Every shard as (file name, text), at once (for the tests).
    #[cfg(test)]
    pub fn all(&self) -> Vec<(String, String)> {
        (0..self.count())
            .map(|i| {
                let mut text = String::new();
                let file = self.write(i, &mut text);
                (file, text)
            })
            .collect()
    }
}

/// `text` ending in one newline, not a blank line (the blank line that separates tables is
/// no use at the end of a shard, and a text ending in one cannot be written as a plain YAML
/// literal block: the ConfigMap writer would take the slow path for every shard).
fn one_final_newline(text: &mut String) {
    let end = text.trim_end_matches('\n').len();
    if end > 0 {
        text.truncate(end);
        text.push('\n');
    }
}

/// `text` without comment lines and end-of-line comments.
pub fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len() / 2);
    for line in text.split_inclusive('\n') {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.starts_with('#') {
            continue;
        }
        out.push_str(code(body));
        out.push('\n');
    }
    out
}

/// The size of `s` as Go's `encoding/json` writes it inside a string (what `kubectl`
/// stores): `"` `\\` and `\n` `\r` `\t` take two bytes; `<` `>` `&`, other control
/// characters, U+2028 and U+2029 take six.
///
/// Counted on bytes (the policy data is megabytes, and each line's code is sized as it is
/// written): 16 at a time without a branch, which the compiler vectorizes, the bytes after
/// the last block of 16 as the string's last 16 with those already counted masked out (a
/// string shorter than 16 with a table). A byte of a multi-byte character counts one, as a character counts its UTF-8
/// length, and U+2028 and U+2029 (three bytes each) three more.
pub fn json_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut extra = 0usize;
    let mut high = 0u8;
    let mut blocks = b.chunks_exact(16);
    for block in &mut blocks {
        // At most 5 a byte: 80 for a block fits a u8.
        extra += usize::from(block.iter().map(|&c| json_extra(c)).sum::<u8>());
        high |= block.iter().fold(0u8, |h, &c| h | c);
    }
    let rest = blocks.remainder().len();
    if rest > 0 && b.len() >= 16 {
        // The last 16 bytes as one more block, without those the blocks above counted
        // (most lines are short: a byte at a time, the tail cost more than the blocks).
        let last = &b[b.len() - 16..];
        let skip = 16 - rest;
        extra += usize::from(
            last.iter()
                .enumerate()
                .map(|(i, &c)| json_extra(c) & 0u8.wrapping_sub(u8::from(i >= skip)))
                .sum::<u8>(),
        );
        high |= last.iter().fold(0u8, |h, &c| h | c);
    } else {
        for &c in blocks.remainder() {
            extra += usize::from(JSON_EXTRA[usize::from(c)]);
            high |= c;
        }
    }
    let separators = if high < 0x80 {
        0
    } else {
        s.matches(['\u{2028}', '\u{2029}']).count()
    };
    s.len() + extra + 3 * separators
}

/// The bytes Go's `encoding/json` adds to the byte `c` in a string (see [`json_len`]):
/// one for `"` `\\` `\n` `\r` `\t`, five for `<` `>` `&` and the other control
/// characters. Without a branch or a table, so a loop over it vectorizes.
#[inline(always)]
fn json_extra(c: u8) -> u8 {
    let control = c < 0x20;
    let short = (c == b'"') | (c == b'\\') | (c == b'\n') | (c == b'\r') | (c == b'\t');
    let long = (c == b'<') | (c == b'>') | (c == b'&') | (control & !short);
    u8::from(short) + 5 * u8::from(long)
}

/// [`json_extra`] as a table, for the bytes after the last block of 16.
static JSON_EXTRA: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let control = b < 0x20;
        let short = b == b'"' || b == b'\\' || b == b'\n' || b == b'\r' || b == b'\t';
        let long = b == b'<' || b == b'>' || b == b'&' || (control && !short);
        t[c] = if short {
            1
        } else if long {
            5
        } else {
            0
        };
        c += 1;
    }
    t
};

#[cfg(test)]
struct Unit<'a> {
    key: String,
    text: &'a str,
    /// Bytes of code ([`code_len`]) and of the whole text ([`json_len`]), JSON-escaped.
    code: usize,
    json: usize,
}

/// What precedes the first table with its sizes (code, JSON), and the units in file order
/// (a unit's text is its tables, contiguous or not, concatenated in file order). One pass
/// over the lines: each is sized once, as code and as JSON. The reference for [`Layout`],
/// which the writer records instead.
#[cfg(test)]
fn units(text: &str) -> (&str, (usize, usize), Vec<Unit<'_>>) {
    let mut lead = (0, 0);
    // Tables of one key that follow each other are one unit; a key seen again later starts
    // another unit of the same key (it lands in the same shard).
    let mut spans: Vec<(usize, usize, String, usize, usize)> = Vec::new();
    let mut lead_end = text.len();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.starts_with('[') {
            if spans.is_empty() {
                lead_end = at;
            }
            let key = unit_key(line);
            match spans.last_mut() {
                Some((_, _, k, _, _)) if *k == key => {}
                _ => spans.push((at, at, key, 0, 0)),
            }
        }
        at += line.len();
        let (code, json) = line_sizes(line);
        match spans.last_mut() {
            Some((_, end, _, c, j)) => {
                *end = at;
                *c += code;
                *j += json;
            }
            None => {
                lead.0 += code;
                lead.1 += json;
            }
        }
    }
    let units = spans
        .into_iter()
        .map(|(start, end, key, code, json)| Unit {
            key,
            text: text.get(start..end).unwrap_or(""),
            code,
            json,
        })
        .collect();
    (text.get(..lead_end).unwrap_or(""), lead, units)
}

/// A line's bytes (with its newline, if any) as code ([`code_len`]) and as JSON
/// ([`json_len`]).
#[cfg(test)]
fn line_sizes(line: &str) -> (usize, usize) {
    let (body, newline) = match line.strip_suffix('\n') {
        Some(body) => (body, 2),
        None => (line, 0),
    };
    let json = json_len(body);
    if body.starts_with('#') {
        return (0, json + newline);
    }
    let c = code(body);
    let code = match c.len() {
        0 => 0,
        n if n == body.len() => json + 2,
        _ => json_len(c) + 2,
    };
    (code, json + newline)
}

/// The helpers' fixed words whose next segment names the entry.
fn is_map(word: &str) -> bool {
    matches!(
        word,
        "source" | "pool" | "tenant" | "queue" | "domain" | "provider" | "signature"
    )
}

/// The unit key of a table header line (see the module documentation).
#[cfg(test)]
fn unit_key(line: &str) -> String {
    let mut key = String::new();
    write_unit_key(line, &mut key);
    key
}

/// [`unit_key`], written into `key`.
#[cfg(test)]
fn write_unit_key(line: &str, key: &mut String) {
    write_segments_key(header_segments(line), key);
}

/// The unit key of a header whose first segments are `segs` (see [`header_segments`]), in
/// parts to be joined.
fn segments_key(segs: [Option<(&str, bool)>; 3]) -> [&str; 3] {
    let seg = |i: usize| segs.get(i).copied().flatten();
    let bare = |i: usize| seg(i).filter(|(_, quoted)| !quoted).map(|(s, _)| s);
    match (bare(0), seg(1), seg(2)) {
        (Some("pool"), Some(_), Some((source, _))) => ["source", "\u{0}", source],
        (Some(word), Some((name, _)), _) if is_map(word) => [word, "\u{0}", name],
        _ => [seg(0).map_or("", |(s, _)| s), "", ""],
    }
}

/// [`segments_key`] written into `key`.
#[cfg(test)]
fn write_segments_key(segs: [Option<(&str, bool)>; 3], key: &mut String) {
    for part in segments_key(segs) {
        key.push_str(part);
    }
}

/// The first three segments of `[a."b".c]` or `[[a."b"]]`, each with whether it was
/// quoted (a quoted segment as written between its quotes, escapes included).
pub(crate) fn header_segments(line: &str) -> [Option<(&str, bool)>; 3] {
    let b = line.as_bytes();
    let mut i = b.iter().take_while(|&&c| c == b'[').count();
    let mut segs = [None; 3];
    for seg in &mut segs {
        match b.get(i) {
            Some(b'"') => {
                let start = i + 1;
                let mut j = start;
                let end = loop {
                    // Straight to the next quote or backslash.
                    j += b
                        .get(j..)
                        .and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\'))
                        .unwrap_or(b.len().saturating_sub(j));
                    match b.get(j) {
                        None => break j,
                        Some(b'"') => {
                            j += 1;
                            break j - 1;
                        }
                        // An escape keeps the character after it (any byte of it is not
                        // a quote); a backslash that ends the line is left out.
                        Some(b'\\') if j + 1 < b.len() => j += 2,
                        Some(b'\\') => {
                            j += 1;
                            break j - 1;
                        }
                        Some(_) => j += 1,
                    }
                };
                *seg = Some((line.get(start..end).unwrap_or(""), true));
                i = j;
            }
            Some(_) => {
                let start = i;
                while b
                    .get(i)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
                {
                    i += 1;
                }
                *seg = Some((line.get(start..i).unwrap_or(""), false));
            }
            None => break,
        }
        if b.get(i) != Some(&b'.') {
            break;
        }
        i += 1;
    }
    segs
}

/// The code of a line: the line without its end-of-line comment (a `#` outside a string).
/// On bytes: `"`, `\\` and `#` are ASCII, and no byte of a multi-byte character is.
fn code(line: &str) -> &str {
    let b = line.as_bytes();
    let before = |i: usize| line.get(..i).unwrap_or(line).trim_end();
    let mut i = 0;
    loop {
        let Some(k) = b
            .get(i..)
            .and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'#'))
        else {
            return line;
        };
        i += k;
        if b.get(i) == Some(&b'#') {
            return before(i);
        }
        // A string: to its closing quote, past escapes (an unterminated one runs to the end).
        i += 1;
        loop {
            let Some(k) = b
                .get(i..)
                .and_then(|rest| rest.iter().position(|&c| c == b'"' || c == b'\\'))
            else {
                return line;
            };
            i += k;
            if b.get(i) == Some(&b'\\') {
                i += 2;
            } else {
                i += 1;
                break;
            }
        }
    }
}

/// Bytes of code of `text` (comment lines and end-of-line comments left out), JSON-escaped:
/// the measure of the shard budget, which [`line_sizes`] computes line by line.
#[cfg(test)]
fn code_len(text: &str) -> usize {
    // Blank lines are left out too: the file without comments has fewer of them.
    text.split('\n')
        .filter(|l| !l.starts_with('#'))
        .map(code)
        .filter(|c| !c.is_empty())
        .map(|c| json_len(c) + 2)
        .sum()
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

#[cfg(test)]
fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(FNV_OFFSET, bytes)
}

/// FNV-1a of `bytes` after what hashed to `h` (so parts hash as their concatenation).
fn fnv1a_from(mut h: u64, bytes: &[u8]) -> u64 {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    // Four bytes a round (the same hash: a byte at a time, in order), so the loop's own
    // instructions are a quarter of a byte's.
    let mut quads = bytes.chunks_exact(4);
    for q in &mut quads {
        for &b in q {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
    }
    for &b in quads.remainder() {
        h = (h ^ u64::from(b)).wrapping_mul(PRIME);
    }
    h
}

/// A finalizer (splitmix64's), so every bit of the hash depends on every byte.
fn mix(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The shard of a unit whose key hashed to `h`, of `count`: `h` modulo `count`, which is a
/// power of two (the shard counts double), so its low bits (a 64-bit division took about 20
/// instructions, 2 M of a 10,000-domain build).
fn bucket(h: u64, count: u64) -> usize {
    let count = count.max(1);
    let i = if count.is_power_of_two() {
        h & (count - 1)
    } else {
        h % count
    };
    usize::try_from(i).unwrap_or(0)
}

/// The shard files of each helper, by the helper's whole file name (`sources.toml`): the
/// files `init.lua` passes to the helper. A helper whose file is not sharded is absent.
pub type Shards = BTreeMap<String, Vec<String>>;

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The layout of a text as reading it finds (what a writer records).
    fn read(text: &str) -> Layout {
        let (lead, (lead_code, lead_json), units) = units(text);
        let mut at = lead.len();
        Layout {
            lead_end: (!units.is_empty()).then_some(lead.len()),
            lead_code,
            lead_json,
            units: units
                .iter()
                .map(|u| {
                    let start = at;
                    at += u.text.len();
                    Recorded {
                        start,
                        hash: mix(fnv1a(u.key.as_bytes())),
                        code: u.code,
                        json: u.json,
                    }
                })
                .collect(),
            not_plain: !is_plain(text),
        }
    }

    /// Whether `text` is printable ASCII lines without a blank at their end.
    fn is_plain(text: &str) -> bool {
        text.split('\n')
            .all(|l| l.bytes().all(|c| (b' '..=b'~').contains(&c)) && !l.ends_with(' '))
    }

    /// What the writer recorded in `layout` is what reading `text` line by line finds.
    pub(in crate::emit) fn assert_layout_matches(text: &str, layout: &Layout) {
        let (lead, (lead_code, lead_json), units) = units(text);
        // Plain when the writer says so (it may not know it is).
        assert!(!layout.plain() || is_plain(text), "{text}");
        assert_eq!(layout.lead_end.unwrap_or(text.len()), lead.len(), "{text}");
        assert_eq!(layout.lead_code, lead_code, "{text}");
        assert_eq!(layout.lead_json, lead_json, "{text}");
        assert_eq!(layout.units.len(), units.len(), "{text}");
        let mut at = lead.len();
        for (got, u) in layout.units.iter().zip(&units) {
            assert_eq!(got.start, at, "{}", u.text);
            assert_eq!(got.hash, mix(fnv1a(u.key.as_bytes())), "{}", u.text);
            assert_eq!(got.code, u.code, "{}", u.text);
            assert_eq!(got.json, u.json, "{}", u.text);
            at += u.text.len();
        }
        assert_eq!(at, text.len());
    }

    /// FNV-1a as published (64-bit test vectors), and the same hash in parts.
    #[test]
    fn fnv1a_is_the_published_hash() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let key = b"queue\0d12345.example.com";
        for cut in 0..=key.len() {
            let (a, b) = key.split_at(cut);
            assert_eq!(fnv1a_from(fnv1a(a), b), fnv1a(key), "{cut}");
        }
    }

    #[test]
    fn keys_group_what_the_helpers_merge() {
        assert_eq!(unit_key("[source.\"s\"] # x"), "source\u{0}s");
        assert_eq!(unit_key("[pool.\"p\".\"s\"]"), "source\u{0}s");
        assert_eq!(unit_key("[pool.\"p\"]"), "pool\u{0}p");
        assert_eq!(unit_key("[queue.\"d\".\"t\".\"c\"]"), "queue\u{0}d");
        assert_eq!(unit_key("[queue.default]"), "queue\u{0}default");
        assert_eq!(unit_key("[tenant.\"t\".campaigns.\"c\"]"), "tenant\u{0}t");
        assert_eq!(unit_key("[[\"d.com\".automation]]"), "d.com");
        assert_eq!(unit_key("[\"d.com\".sources.\"s\"]"), "d.com");
        assert_eq!(unit_key("[default]"), "default");
        assert_eq!(unit_key("[[default.automation]]"), "default");
        assert_eq!(unit_key("[provider.\"g\".sources.\"s\"]"), "provider\u{0}g");
        assert_eq!(unit_key("[base]"), "base");
        // A quoted segment that spells a fixed word is a name, not the word.
        assert_eq!(unit_key("[\"pool\".\"x\".\"y\"]"), "pool");
        assert_eq!(unit_key("[\"a\\\"b\".x]"), "a\\\"b");
        assert_eq!(unit_key("[[\"d.com\".automation]]"), "d.com");
        assert_eq!(
            unit_key("[pool.\"p\".\"caf\u{e9}\\\u{e9}\"]"),
            "source\u{0}caf\u{e9}\\\u{e9}"
        );
        assert_eq!(unit_key("[\"open\\"), "open");
        assert_eq!(unit_key("[\"open"), "open");
        assert_eq!(unit_key("[ x]"), "");
    }

    #[test]
    fn code_leaves_out_comments_but_not_hashes_in_strings() {
        assert_eq!(code("a = \"#x\" # c"), "a = \"#x\"");
        assert_eq!(code("a = \"\\\"#\" # c"), "a = \"\\\"#\"");
        assert_eq!(code("[x] # c > d"), "[x]");
        assert_eq!(code("a = \"x\\\\\" # c"), "a = \"x\\\\\"");
        assert_eq!(code("a = \"unterminated # c"), "a = \"unterminated # c");
        assert_eq!(code("a = \"x\\"), "a = \"x\\");
        assert_eq!(code("a = 1\u{3000}# c"), "a = 1");
        assert_eq!(code("no comment"), "no comment");
        assert_eq!(json_len("a\"<\n"), 1 + 2 + 6 + 2);
    }

    /// The sizes of one pass over the lines are the measures of whole texts.
    #[test]
    fn line_sizes_add_up_to_the_measures() {
        let texts = [
            "# h\nopt = 1\n\n[queue.\"d\"] # place\nmax_age = \"1d\" # place\n",
            "[a]\nx = \"#\\\"<&>\" # c\n  \n\t# indented comment\ny = 1\t # t\r\nz = 2",
            "k = \"caf\u{e9}\u{2028}\u{2029}\u{1b}\" # \u{2028}\nw = 1\u{3000}# ideographic space\n",
            "",
            "\n\n",
        ];
        for text in texts {
            let (lead, (lead_code, lead_json), units) = units(text);
            let code: usize = lead_code + units.iter().map(|u| u.code).sum::<usize>();
            let json: usize = lead_json + units.iter().map(|u| u.json).sum::<usize>();
            assert_eq!(code, code_len(text), "{text:?}");
            assert_eq!(json, json_len(text), "{text:?}");
            assert_eq!(lead_code, code_len(lead), "{text:?}");
            for u in &units {
                assert_eq!(u.code, code_len(u.text), "{text:?}");
                assert_eq!(u.json, json_len(u.text), "{text:?}");
            }
        }
        let slow = |s: &str| -> usize {
            s.chars()
                .map(|c| match c {
                    '"' | '\\' | '\n' | '\r' | '\t' => 2,
                    '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => 6,
                    c if (c as u32) < 0x20 => 6,
                    c => c.len_utf8(),
                })
                .sum()
        };
        for text in texts {
            assert_eq!(json_len(text), slow(text), "{text:?}");
        }
        let mixed = "ab\"c<d\n\\e&f>\tg\rh\u{1}i\u{e9}j\u{2028}k\u{7f}lmnopqrstuvwxyz\"<\u{2029}";
        // Long texts (the lanes, added up every 48 blocks of 32), every byte counted once.
        for n in [
            255,
            256,
            257,
            300,
            32 * 48,
            32 * 48 + 31,
            32 * 97 + 5,
            100_000,
        ] {
            let long: String = mixed.chars().cycle().take(n).collect();
            assert_eq!(json_len(&long), slow(&long), "{n}");
            let tail = &long[long.char_indices().nth(7).unwrap().0..];
            assert_eq!(json_len(tail), slow(tail), "{n}");
        }
        // Every length around the blocks of 16, with what counts extra in every position.
        for (i, _) in mixed.char_indices() {
            for (j, _) in mixed.char_indices().chain([(mixed.len(), ' ')]) {
                if j >= i {
                    let s = &mixed[i..j];
                    assert_eq!(json_len(s), slow(s), "{s:?}");
                }
            }
        }
    }

    /// A file written in parts is cut into the shards of the file written whole, wherever
    /// the parts meet: inside a unit, between two tables of one key, before a blank line,
    /// at the start or the end; in two parts or three. A unit over the budget by itself
    /// (two lines of 40,000 bytes) is judged whole when a cut falls inside it.
    #[test]
    fn a_file_in_parts_is_cut_as_whole() {
        let mut text = String::from("# header\nopt = 1\n");
        for i in 0..1500 {
            text.push_str(&format!(
                "\n[queue.\"d{i}.example\"] # place\nmax_age = \"1d\" # place\n\n[queue.\"d{i}.example\".\"t\"]\nmax_age = \"2d\"\n"
            ));
            if i % 500 == 7 {
                let (x, y) = ("a".repeat(40_000), "b".repeat(40_000));
                text.push_str(&format!("x = \"{x}\"\ny = \"{y}\"\n"));
            }
        }
        let whole = split("queues.toml", &[(&text, &read(&text))])
            .unwrap()
            .all();
        assert!(whole.len() >= 4);
        let lines: Vec<(usize, &str)> = text
            .split_inclusive('\n')
            .scan(0, |at, l| {
                let start = *at;
                *at += l.len();
                Some((start, l))
            })
            .collect();
        let near_long = |k: usize| {
            lines
                .get(k.saturating_sub(6)..(k + 6).min(lines.len()))
                .is_some_and(|around| around.iter().any(|(_, l)| l.len() > 1000))
        };
        let mut cuts: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|&(k, _)| k % 61 == 0 || near_long(k))
            .map(|(_, &(start, _))| start)
            .collect();
        cuts.push(text.len());
        for &cut in &cuts {
            let (a, b) = text.split_at(cut);
            let parts = [(a, &read(a)), (b, &read(b))];
            assert_eq!(split("queues.toml", &parts).unwrap().all(), whole, "{cut}");
        }
        for w in cuts.windows(2).step_by(7) {
            let (a, rest) = text.split_at(w[0]);
            let (b, c) = rest.split_at(w[1] - w[0]);
            let parts = [(a, &read(a)), (b, &read(b)), (c, &read(c))];
            assert_eq!(split("queues.toml", &parts).unwrap().all(), whole, "{w:?}");
        }
    }

    #[test]
    fn small_files_stay_whole_and_large_ones_split_by_key() {
        assert!(
            split(
                "sources.toml",
                &[(
                    "# h\n\n[source.\"a\"]\nx = 1\n",
                    &read("# h\n\n[source.\"a\"]\nx = 1\n")
                )]
            )
            .is_none()
        );
        let mut text = String::from("# header\nopt = 1\n");
        for i in 0..3000 {
            text.push_str(&format!(
                "\n[queue.\"d{i}.example\"] # place\nmax_age = \"1d\" # place\n\n[queue.\"d{i}.example\".\"t\"]\nmax_age = \"2d\"\n"
            ));
        }
        let shards = split("queues.toml", &[(&text, &read(&text))])
            .unwrap()
            .all();
        assert!(shards.len() >= 2 && shards.len().is_power_of_two());
        let n = shards.len();
        for (i, (name, s)) in shards.iter().enumerate() {
            assert_eq!(name, &format!("queues-{i}-of-{n}.toml"));
            assert!(s.starts_with("# header\n"));
            assert_eq!(s.contains("opt = 1"), i == 0);
            assert!(code_len(s) <= CODE_BUDGET);
        }
        // Every table once, and each queue with its tenant.
        let all: String = shards.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(all.matches("[queue.").count(), 6000);
        for (_, s) in &shards {
            for i in 0..3000 {
                assert_eq!(
                    s.contains(&format!("[queue.\"d{i}.example\"]")),
                    s.contains(&format!("[queue.\"d{i}.example\".\"t\"]"))
                );
            }
        }
        // Comments do not change the shard count.
        let bare = strip_comments(&text);
        assert_eq!(
            split("queues.toml", &[(&bare, &read(&bare))])
                .unwrap()
                .count(),
            n
        );
        // One at a time into one buffer, as the writer does: the same texts.
        let cut = split("queues.toml", &[(&text, &read(&text))]).unwrap();
        let mut buffer = String::new();
        for (i, (name, s)) in shards.iter().enumerate() {
            assert_eq!(&cut.write(i, &mut buffer), name);
            assert_eq!(&buffer, s);
        }
    }
}
