//! What the fuzz targets check, one function per target ([`parse`], [`format`],
//! [`check_emit`]): the targets in `fuzz_targets/` are one line each, and the replay test
//! (`tests/replay.rs`) runs the same checks over the committed corpus on stable Rust.
//! Each function panics when a property does not hold.

use std::fmt::Write as _;

use kumoc_compiler::emit::Output;
use kumoc_compiler::{Analysis, Environment, Options, Severity, analyze, fix, render};
use kumoc_lang::Parse;
use kumoc_lang::ast::*;

/// Target `parse`: arbitrary bytes, decoded as the CLI and the compiler do (invalid UTF-8
/// becomes U+FFFD and one K0010 error), never make the parser panic, and the tree keeps its
/// invariants (spans inside the text, on character boundaries, in order).
pub fn parse(data: &[u8]) {
    let (text, decode_error) = kumoc_lang::decode(data);
    if let Some(e) = decode_error {
        assert!(
            e.span.end as usize <= text.len(),
            "K0010 span outside the text"
        );
    }
    let parse = kumoc_lang::parse(&text);
    check_parse(&text, &parse);
}

/// Target `format`: the formatter on arbitrary UTF-8 (`kumoc fmt` refuses invalid UTF-8)
/// never panics; when the input has no syntax error, the output parses without error to the
/// same tree (spans aside) with the same comments, and formatting it again changes nothing.
pub fn format(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(once) = kumoc_lang::format::format(text) else {
        return;
    };
    let before = kumoc_lang::parse(text);
    let after = kumoc_lang::parse(&once);
    assert!(
        after.errors.is_empty(),
        "the formatted text has syntax errors: {:?}\n--- formatted:\n{once}",
        after.errors
    );
    assert_eq!(
        shape(&before.file),
        shape(&after.file),
        "formatting changed the tree\n--- formatted:\n{once}"
    );
    assert_eq!(
        comments(&before.file),
        comments(&after.file),
        "formatting changed the comments\n--- formatted:\n{once}"
    );
    let twice = kumoc_lang::format::format(&once);
    assert!(
        twice.as_deref() == Ok(once.as_str()),
        "formatting is not idempotent\n--- once:\n{once}\n--- twice:\n{}",
        twice.as_deref().unwrap_or("<syntax errors>")
    );
}

/// Target `check_emit`: the whole pipeline as `kumoc check` / `kumoc build` run it (stdlib
/// included) on one deployment whose files are separated by form feeds ([`split_files`]):
///
/// - nothing panics: analysis, every renderer, applying every fix (safe and unsafe) and
///   formatting the result (`kumoc check --fix`), emitting; for the deployment's own
///   environment and for `--env production`;
/// - analysis is deterministic: twice in one process (fresh hash seeds) gives the same
///   diagnostics and model, and byte-identical emitted files;
/// - formatting keeps the meaning: when every file formats (and one changes), the formatted
///   deployment has the same diagnostics (code and severity) and emits byte-identical
///   files.
pub fn check_emit(data: &[u8]) {
    let files = split_files(data);

    let (a, out_a) = run(&files, None);
    let (b, out_b) = run(&files, None);
    assert_eq!(
        a.diagnostics, b.diagnostics,
        "diagnostics differ between runs"
    );
    assert_eq!(
        format!("{:?}", a.model),
        format!("{:?}", b.model),
        "models differ between runs"
    );
    assert!(
        out_a.as_ref().map(|o| &o.files) == out_b.as_ref().map(|o| &o.files),
        "emitted files differ between runs"
    );

    let _ = run(&files, Some(Environment::Production));

    let formatted: Option<Vec<(String, Vec<u8>)>> = files
        .iter()
        .map(|(name, bytes)| {
            let text = std::str::from_utf8(bytes).ok()?;
            let once = kumoc_lang::format::format(text).ok()?;
            Some((name.clone(), once.into_bytes()))
        })
        .collect();
    if let Some(formatted) = formatted.filter(|f| f != &files) {
        let (f, out_f) = run(&formatted, None);
        assert_eq!(
            codes(&a),
            codes(&f),
            "formatting changed the diagnostics\n--- formatted:\n{}",
            formatted
                .iter()
                .map(|(_, b)| String::from_utf8_lossy(b))
                .collect::<Vec<_>>()
                .join("\u{c}")
        );
        // Places, not line numbers, name where values come from: byte-identical output.
        assert!(out_a == out_f, "formatting changed what is emitted");
    }
}

/// One analysis as the CLI runs it, rendered every way, fixed, and emitted.
fn run(files: &[(String, Vec<u8>)], env: Option<Environment>) -> (Analysis, Option<Output>) {
    let options = Options {
        env,
        ..Options::default()
    };
    let a = analyze(files, &options);
    let _ = render::human(&a.diagnostics, &a.sources, true);
    let _ = render::json(&a.diagnostics, &a.sources);
    let _ = render::sarif(&a.diagnostics, &a.sources);
    let _ = render::github(&a.diagnostics, &a.sources);
    for (text, _) in fix::apply(&a.diagnostics, &a.sources, true).values() {
        let _ = kumoc_lang::format::format(text);
    }
    let out = a.emit();
    (a, out)
}

fn codes(a: &Analysis) -> Vec<(&'static str, Severity)> {
    let mut v: Vec<_> = a.diagnostics.iter().map(|d| (d.code, d.severity)).collect();
    v.sort();
    v
}

/// Separates the files of one `check_emit` input (a form feed, `\x0c`, never valid `.kumo`
/// outside a string, so a deployment split over several files is one input).
pub const FILE_SEPARATOR: u8 = 0x0c;

/// The files of one `check_emit` input, named `0.kumo`, `1.kumo`, ... in order (the CLI
/// reads a directory's files in name order, so this is `kumoc check DIR`).
pub fn split_files(data: &[u8]) -> Vec<(String, Vec<u8>)> {
    data.split(|&b| b == FILE_SEPARATOR)
        .enumerate()
        .map(|(i, bytes)| (format!("{i}.kumo"), bytes.to_vec()))
        .collect()
}

/// The invariants every parse keeps (ARCHITECTURE.md: parsing is total, every node has a
/// byte span into the text): spans inside the text and on character boundaries, statements
/// in order inside their parent, values inside their statement, comments in order and equal
/// to the text they span.
pub fn check_parse(text: &str, p: &Parse) {
    let len = text.len() as u32;
    let in_text = |what: &str, s: Span| {
        assert!(
            s.start <= s.end && s.end <= len,
            "{what} span {s:?} outside the text (len {len})"
        );
    };
    let span_ok = |what: &str, s: Span| {
        in_text(what, s);
        assert!(
            text.is_char_boundary(s.start as usize) && text.is_char_boundary(s.end as usize),
            "{what} span {s:?} splits a character"
        );
    };
    span_ok("file", p.file.span);
    for e in &p.errors {
        span_ok(e.code.code(), e.span);
        if let Some((s, _)) = &e.secondary {
            span_ok("secondary label", *s);
        }
    }
    let mut prev = 0;
    for c in &p.file.comments {
        span_ok("comment", c.span);
        assert!(c.span.start >= prev, "comment {:?} out of order", c.span);
        assert!(
            text.get(c.span.range()) == Some(c.text.as_str()),
            "comment text differs from its span: {:?}",
            c.text
        );
        prev = c.span.end;
    }
    stmts(&p.file.items, Span::new(0, text.len()), &span_ok);
}

fn stmts(items: &[Stmt], outer: Span, span_ok: &dyn Fn(&str, Span)) {
    let mut prev_end = outer.start;
    for s in items {
        let sp = s.span();
        span_ok("statement", sp);
        assert!(
            sp.start >= prev_end && sp.end <= outer.end,
            "statement {sp:?} overlaps its predecessor (ends {prev_end}) or leaves {outer:?}"
        );
        prev_end = sp.end;
        match s {
            Stmt::Attr(a) => {
                span_ok("key", a.key.span);
                value(&a.value, a.span, span_ok);
            }
            Stmt::Block(b) => {
                span_ok("keyword", b.keyword.span);
                span_ok("body", b.body_span);
                assert!(
                    b.body_span.start >= sp.start && b.body_span.end <= sp.end,
                    "block body {:?} outside the block {sp:?}",
                    b.body_span
                );
                stmts(&b.body, b.body_span, span_ok);
            }
            Stmt::Error(_) => {}
        }
    }
}

fn value(v: &Value, outer: Span, span_ok: &dyn Fn(&str, Span)) {
    span_ok("value", v.span);
    assert!(
        v.span.start >= outer.start && v.span.end <= outer.end,
        "value {:?} outside {outer:?}",
        v.span
    );
    match &v.kind {
        ValueKind::List(l) => l.items.iter().for_each(|i| value(i, v.span, span_ok)),
        ValueKind::Call(c) => c.args.iter().for_each(|a| value(&a.value, v.span, span_ok)),
        _ => {}
    }
}

/// The tree without spans (and without comments, compared separately): what formatting must
/// not change.
pub fn shape(file: &File) -> String {
    let mut out = String::new();
    for s in &file.items {
        stmt_shape(&mut out, s);
    }
    out
}

fn stmt_shape(out: &mut String, s: &Stmt) {
    match s {
        Stmt::Attr(a) => {
            let _ = write!(out, "attr({:?},{})=", a.key.name, a.key.quoted);
            value_shape(out, &a.value);
            out.push(';');
        }
        Stmt::Block(b) => {
            let _ = write!(out, "block({:?}", b.keyword.name);
            if let Some(l) = &b.label {
                let _ = write!(out, " label({:?},{})", l.text, l.quoted);
            }
            if let Some(f) = &b.from {
                let _ = write!(out, " from({:?})", f.text());
            }
            let _ = write!(out, " closed={}){{", b.closed);
            for s in &b.body {
                stmt_shape(out, s);
            }
            out.push('}');
        }
        Stmt::Error(e) => {
            let _ = write!(out, "error({:?});", e.text);
        }
    }
}

fn value_shape(out: &mut String, v: &Value) {
    match &v.kind {
        ValueKind::List(l) => {
            let _ = write!(out, "list(closed={})[", l.closed);
            for i in &l.items {
                value_shape(out, i);
                out.push(',');
            }
            out.push(']');
        }
        ValueKind::Call(c) => {
            let _ = write!(out, "call({:?},closed={})(", c.callee.text(), c.closed);
            for a in &c.args {
                if let Some(n) = &a.name {
                    let _ = write!(out, "{:?}=", n.name);
                }
                value_shape(out, &a.value);
                out.push(',');
            }
            out.push(')');
        }
        ValueKind::Path(p) => {
            let _ = write!(out, "path({:?})", p.text());
        }
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
}

/// The comment texts as the formatter prints them (trailing whitespace trimmed).
pub fn comments(file: &File) -> Vec<&str> {
    file.comments.iter().map(|c| c.text.trim_end()).collect()
}
