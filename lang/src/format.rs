//! The canonical formatter behind `kumoc fmt` and LSP formatting.
//!
//! One style, no options: two-space indentation, one statement per line, `=` aligned within
//! a run of consecutive attributes, at most one blank line kept between statements, lists
//! on one line when they fit in [`MAX_WIDTH`] columns and one item per line (with a trailing
//! comma) otherwise. Every comment is kept, on its own line or after the statement it
//! followed. Files with syntax errors are not formatted: [`format`] returns the errors.
//!
//! Invariant (tested on every fixture): `format(format(x)) == format(x)` and the comment
//! texts of the output equal those of the input.

use crate::ast::*;
use crate::{SyntaxError, parse};

pub const MAX_WIDTH: usize = 100;
const INDENT: &str = "  ";

/// Format source text. Returns the syntax errors instead when the file does not parse, or
/// has a lone carriage return (refused like the compiler does: the grammar reads it as a
/// line break, the printer's lines are counted by LF, so the output would not be stable).
pub fn format(text: &str) -> Result<String, Vec<SyntaxError>> {
    let parsed = parse(text);
    if !parsed.errors.is_empty() {
        return Err(parsed.errors);
    }
    if let Some(e) = crate::lone_carriage_return(text) {
        return Err(vec![e]);
    }
    Ok(format_file(&parsed.file, text))
}

/// Format an already parsed, error-free file. `text` is the text it was parsed from.
pub fn format_file(file: &File, text: &str) -> String {
    let mut p = Printer {
        text,
        comments: &file.comments,
        next_comment: 0,
        out: String::with_capacity(text.len() + text.len() / 8),
        depth: 0,
    };
    p.stmts(
        &file.items,
        u32::try_from(text.len()).unwrap_or(u32::MAX),
        0,
    );
    while p.out.ends_with('\n') {
        p.out.pop();
    }
    if !p.out.is_empty() {
        p.out.push('\n');
    }
    p.out
}

struct Printer<'a> {
    text: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    out: String,
    depth: usize,
}

impl<'a> Printer<'a> {
    fn src(&self, from: u32, to: u32) -> &str {
        self.text.get(from as usize..to as usize).unwrap_or("")
    }

    fn blank_between(&self, from: u32, to: u32) -> bool {
        from < to && self.src(from, to).matches('\n').count() >= 2
    }

    fn same_line(&self, from: u32, to: u32) -> bool {
        from <= to && !self.src(from, to).contains('\n')
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str(INDENT);
        }
    }

    fn peek_comment(&self) -> Option<&Comment> {
        self.comments.get(self.next_comment)
    }

    /// Own-line comments before `before`. `prev_end` is where the previous element ended
    /// (for blank-line preservation); returns the new `prev_end`.
    fn leading_comments(&mut self, before: u32, mut prev_end: u32, first: &mut bool) -> u32 {
        while let Some(c) = self.peek_comment() {
            if c.span.start >= before {
                break;
            }
            let (span, text) = (c.span, c.text.clone());
            if !*first && self.blank_between(prev_end, span.start) {
                self.out.push('\n');
            }
            self.indent();
            self.out.push_str(text.trim_end());
            self.out.push('\n');
            self.next_comment += 1;
            prev_end = span.end;
            *first = false;
        }
        prev_end
    }

    /// A comment that starts on the same line right after `after`, printed after the
    /// current line's content.
    fn trailing_comment(&mut self, after: u32, limit: u32) {
        if let Some(c) = self.peek_comment()
            && c.span.start >= after
            && c.span.start < limit
            && self.same_line(after, c.span.start)
            && !c.text.contains('\n')
        {
            let text = c.text.trim_end().to_string();
            self.out.push(' ');
            self.out.push_str(&text);
            self.next_comment += 1;
        }
    }

    /// A run of statements (the file, or a block body) ending before `end`.
    fn stmts(&mut self, stmts: &[Stmt], end: u32, start: u32) {
        let widths = key_widths(stmts, self);
        let mut prev_end = start;
        let mut first = true;
        for (i, stmt) in stmts.iter().enumerate() {
            let span = stmt.span();
            if self.depth == 0 && i > 0 && matches!(stmt, Stmt::Block(_)) {
                // Top-level blocks are always separated by one blank line.
                if !self.out.ends_with("\n\n") {
                    self.out.push('\n');
                }
                first = true;
            }
            prev_end = self.leading_comments(span.start, prev_end, &mut first);
            if !first && self.blank_between(prev_end, span.start) {
                self.out.push('\n');
            }
            first = false;
            self.indent();
            match stmt {
                Stmt::Attr(a) => self.attr(a, widths.get(i).copied().unwrap_or(0)),
                Stmt::Block(b) => self.block(b),
                Stmt::Error(e) => self.out.push_str(&e.text),
            }
            let next_start = stmts.get(i + 1).map_or(end, |s| s.span().start);
            self.trailing_comment(span.end, next_start.min(end));
            self.out.push('\n');
            prev_end = span.end;
        }
        self.leading_comments(end, prev_end, &mut first);
    }

    fn attr(&mut self, a: &Attr, width: usize) {
        let key = key_text(&a.key);
        let pad = width.saturating_sub(key.chars().count());
        self.out.push_str(&key);
        for _ in 0..pad {
            self.out.push(' ');
        }
        self.out.push_str(" = ");
        // Judged on the key's own width, like `breaks_lines`, so alignment never changes
        // whether a value fits on one line.
        let col = self.depth * INDENT.len() + key.len() + 3;
        self.value(&a.value, col);
    }

    fn block(&mut self, b: &Block) {
        self.out.push_str(&b.keyword.name);
        if let Some(label) = &b.label {
            self.out.push(' ');
            if label.quoted {
                quote(&mut self.out, &label.text);
            } else {
                self.out.push_str(&label.text);
            }
        }
        if let Some(from) = &b.from {
            self.out.push_str(" from ");
            self.out.push_str(&from.text());
        }
        self.out.push_str(" {");
        let open_end = b.body_span.start + 1;
        let close = if b.closed {
            b.span.end.saturating_sub(1)
        } else {
            b.span.end
        };
        let has_comments = self
            .peek_comment()
            .is_some_and(|c| c.span.start < close && c.span.start >= open_end);
        if b.body.is_empty() && !has_comments {
            self.out.push('}');
            return;
        }
        let first_start = b.body.first().map_or(close, |s| s.span().start);
        self.trailing_comment(open_end, first_start);
        self.out.push('\n');
        self.depth += 1;
        self.stmts(&b.body, close, open_end);
        self.depth -= 1;
        self.indent();
        self.out.push('}');
    }

    fn value(&mut self, v: &Value, col: usize) {
        match &v.kind {
            ValueKind::List(list) => self.list(v.span, &list.items, col),
            ValueKind::Call(call) => self.call(v.span, call, col),
            _ => {
                let s = inline(v);
                self.out.push_str(&s);
            }
        }
    }

    /// The comments starting in `from..to` (comments are sorted by position).
    fn comments_in(&self, from: u32, to: u32) -> &'a [Comment] {
        let lo = self.comments.partition_point(|c| c.span.start < from);
        let hi = self.comments.partition_point(|c| c.span.start < to);
        &self.comments[lo..hi.max(lo)]
    }

    fn has_comment_within(&self, span: Span) -> bool {
        self.comments[self.next_comment.min(self.comments.len())..]
            .iter()
            .take_while(|c| c.span.start < span.end)
            .any(|c| c.span.start >= span.start)
    }

    fn list(&mut self, span: Span, items: &[Value], col: usize) {
        let one_line = inline_list(items);
        if !self.has_comment_within(span)
            && col + one_line.len() <= MAX_WIDTH
            && !one_line.contains('\n')
        {
            self.out.push_str(&one_line);
            return;
        }
        self.out.push('[');
        self.multiline_items(items.iter(), span, ",");
        self.out.push(']');
    }

    fn call(&mut self, span: Span, call: &Call, col: usize) {
        let one_line = inline_call(call);
        if !self.has_comment_within(span)
            && col + one_line.len() <= MAX_WIDTH
            && !one_line.contains('\n')
        {
            self.out.push_str(&one_line);
            return;
        }
        self.out.push_str(&call.callee.text());
        self.out.push('(');
        self.depth += 1;
        self.out.push('\n');
        let end = span.end.saturating_sub(1);
        let mut prev_end = span.start;
        let mut first = true;
        for (i, arg) in call.args.iter().enumerate() {
            let start = arg
                .name
                .as_ref()
                .map_or(arg.value.span.start, |n| n.span.start);
            self.leading_comments(start, prev_end, &mut first);
            first = false;
            self.indent();
            if let Some(name) = &arg.name {
                self.out.push_str(&name.name);
                self.out.push_str(" = ");
            }
            let col = self.depth * INDENT.len();
            self.value(&arg.value, col);
            self.out.push(',');
            let next = call.args.get(i + 1).map_or(end, |a| {
                a.name.as_ref().map_or(a.value.span.start, |n| n.span.start)
            });
            self.trailing_comment(arg.value.span.end, next);
            self.out.push('\n');
            prev_end = arg.value.span.end;
        }
        self.leading_comments(end, prev_end, &mut first);
        self.depth -= 1;
        self.indent();
        self.out.push(')');
    }

    fn multiline_items<'v>(
        &mut self,
        items: impl Iterator<Item = &'v Value> + Clone,
        span: Span,
        sep: &str,
    ) {
        self.depth += 1;
        let end = span.end.saturating_sub(1);
        let first_start = items.clone().next().map_or(end, |v| v.span.start);
        self.trailing_comment(span.start + 1, first_start);
        self.out.push('\n');
        let mut prev_end = span.start;
        let mut first = true;
        let all: Vec<&Value> = items.collect();
        for (i, item) in all.iter().enumerate() {
            self.leading_comments(item.span.start, prev_end, &mut first);
            first = false;
            self.indent();
            let col = self.depth * INDENT.len();
            self.value(item, col);
            self.out.push_str(sep);
            let next = all.get(i + 1).map_or(end, |v| v.span.start);
            self.trailing_comment(item.span.end, next);
            self.out.push('\n');
            prev_end = item.span.end;
        }
        self.leading_comments(end, prev_end, &mut first);
        self.depth -= 1;
        self.indent();
    }
}

/// For each statement, the key width of the run of consecutive attributes it belongs to
/// (0 for non-attributes). A run is broken by a blank line, a comment line or a block.
fn key_widths(stmts: &[Stmt], p: &Printer<'_>) -> Vec<usize> {
    let mut widths = vec![0; stmts.len()];
    let mut run: Vec<usize> = Vec::new();
    let mut prev: Option<Span> = None;
    let flush = |run: &mut Vec<usize>, widths: &mut Vec<usize>| {
        let w = run
            .iter()
            .filter_map(|&i| match stmts.get(i) {
                Some(Stmt::Attr(a)) => Some(key_text(&a.key).chars().count()),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        for &i in run.iter() {
            if let Some(slot) = widths.get_mut(i) {
                *slot = w;
            }
        }
        run.clear();
    };
    for (i, stmt) in stmts.iter().enumerate() {
        let span = stmt.span();
        // Every comment in between is printed on its own line, which breaks the run, except
        // the one `trailing_comment` keeps after the previous statement: the first, on the
        // same line, on one line. A comment inside the previous statement (`a /* c */ = 1`)
        // is printed on its own line after it, so it breaks the run too.
        let broken = match prev {
            Some(prev) => {
                let end = prev.end;
                p.blank_between(end, span.start)
                    || !p.comments_in(prev.start, end).is_empty()
                    || p.comments_in(end, span.start)
                        .iter()
                        .enumerate()
                        .any(|(k, c)| {
                            k > 0 || !p.same_line(end, c.span.start) || c.text.contains('\n')
                        })
            }
            None => false,
        };
        let alignable = match stmt {
            Stmt::Attr(a) => !breaks_lines(a, p),
            _ => false,
        };
        if broken || !alignable {
            flush(&mut run, &mut widths);
        }
        if alignable {
            run.push(i);
        }
        prev = Some(span);
    }
    flush(&mut run, &mut widths);
    widths
}

/// Whether an attribute's value will be printed over several lines (judged on the key's own
/// width, so that the decision does not depend on alignment and formatting is idempotent).
fn breaks_lines(a: &Attr, p: &Printer<'_>) -> bool {
    match &a.value.kind {
        ValueKind::List(_) | ValueKind::Call(_) => {
            p.has_comment_within(a.value.span)
                || p.depth * INDENT.len() + key_text(&a.key).len() + 3 + inline(&a.value).len()
                    > MAX_WIDTH
        }
        _ => false,
    }
}

fn key_text(key: &Key) -> String {
    if key.quoted {
        let mut s = String::new();
        quote(&mut s, &key.name);
        s
    } else {
        key.name.as_str().to_owned()
    }
}

/// Write `s` as a double-quoted string with the escapes the parser reads back.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn inline(v: &Value) -> String {
    match &v.kind {
        ValueKind::Str(s) => {
            if s.literal {
                format!("'{}'", s.value)
            } else {
                let mut out = String::new();
                quote(&mut out, &s.value);
                out
            }
        }
        ValueKind::Number(raw) | ValueKind::Rate(raw) | ValueKind::Ip(raw) => {
            raw.as_str().to_owned()
        }
        ValueKind::Bool(b) => b.to_string(),
        ValueKind::Path(p) => p.text(),
        ValueKind::List(l) => inline_list(&l.items),
        ValueKind::Call(c) => inline_call(c),
        ValueKind::Missing => String::new(),
        ValueKind::Error(raw) => raw.clone(),
    }
}

fn inline_list(items: &[Value]) -> String {
    let parts: Vec<String> = items.iter().map(inline).collect();
    format!("[{}]", parts.join(", "))
}

fn inline_call(c: &Call) -> String {
    let parts: Vec<String> = c
        .args
        .iter()
        .map(|a| match &a.name {
            Some(n) => format!("{} = {}", n.name, inline(&a.value)),
            None => inline(&a.value),
        })
        .collect();
    format!("{}({})", c.callee.text(), parts.join(", "))
}
