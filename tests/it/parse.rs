//! Parser fixtures: the syntax tree (compact form) and syntax errors of every
//! `tests/fixtures/parse/*.kumo`, plus tree invariants on every fixture in the repository.

use kumoc_lang::ast::*;

use crate::support::*;

fn dump_value(v: &Value, out: &mut String) {
    match &v.kind {
        ValueKind::Str(s) => out.push_str(&format!("{:?}", s.value)),
        ValueKind::Number(r) => out.push_str(&format!("num({r})")),
        ValueKind::Rate(r) => out.push_str(&format!("rate({r})")),
        ValueKind::Ip(r) => out.push_str(&format!("ip({r})")),
        ValueKind::Bool(b) => out.push_str(&b.to_string()),
        ValueKind::Path(p) => out.push_str(&format!("name({})", p.text())),
        ValueKind::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                dump_value(item, out);
            }
            out.push(']');
            if !l.closed {
                out.push_str("<unclosed>");
            }
        }
        ValueKind::Call(c) => {
            out.push_str(&format!("{}(", c.callee.text()));
            for (i, a) in c.args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if let Some(n) = &a.name {
                    out.push_str(&format!("{} = ", n.name));
                }
                dump_value(&a.value, out);
            }
            out.push(')');
        }
        ValueKind::Missing => out.push_str("<missing>"),
        ValueKind::Error(raw) => out.push_str(&format!("<error {raw:?}>")),
    }
    out.push_str(&format!(" @{:?}", v.span));
}

fn dump_stmts(stmts: &[Stmt], depth: usize, out: &mut String) {
    for s in stmts {
        out.push_str(&"  ".repeat(depth));
        match s {
            Stmt::Attr(a) => {
                out.push_str(&format!(
                    "attr {}{} = ",
                    a.key.name,
                    if a.key.quoted { " (quoted)" } else { "" }
                ));
                dump_value(&a.value, out);
                out.push('\n');
            }
            Stmt::Block(b) => {
                out.push_str(&format!("block {}", b.keyword.name));
                if let Some(l) = &b.label {
                    out.push_str(&format!(
                        " {}",
                        if l.quoted {
                            format!("{:?}", l.text)
                        } else {
                            l.text.as_str().to_owned()
                        }
                    ));
                }
                if let Some(f) = &b.from {
                    out.push_str(&format!(" from {}", f.text()));
                }
                out.push_str(&format!(
                    " @{:?}{}\n",
                    b.span,
                    if b.closed { "" } else { " <unclosed>" }
                ));
                dump_stmts(&b.body, depth + 1, out);
            }
            Stmt::Error(e) => out.push_str(&format!("error {:?} @{:?}\n", e.text, e.span)),
        }
    }
}

pub fn dump(text: &str) -> String {
    let p = kumoc_lang::parse(text);
    let mut out = String::new();
    dump_stmts(&p.file.items, 0, &mut out);
    for c in &p.file.comments {
        out.push_str(&format!("comment {:?} @{:?}\n", c.text, c.span));
    }
    out.push_str("----- ERRORS\n");
    for e in &p.errors {
        out.push_str(&format!(
            "{} {:?}: {} [{}]",
            e.code.code(),
            e.span,
            e.message,
            e.label
        ));
        if let Some(h) = &e.help {
            out.push_str(&format!(" help: {h}"));
        }
        out.push('\n');
    }
    out
}

/// Spans lie within the file, children within their parents, siblings in order.
pub fn validate(text: &str) {
    let p = kumoc_lang::parse(text);
    let len = text.len() as u32;
    fn value(v: &Value, outer: Span) {
        assert!(
            v.span.start >= outer.start && v.span.end <= outer.end,
            "value {:?} outside {:?}",
            v.span,
            outer
        );
        match &v.kind {
            ValueKind::List(l) => l.items.iter().for_each(|i| value(i, v.span)),
            ValueKind::Call(c) => c.args.iter().for_each(|a| value(&a.value, v.span)),
            _ => {}
        }
    }
    fn stmts(ss: &[Stmt], outer: Span) {
        let mut prev_end = outer.start;
        for s in ss {
            let sp = s.span();
            assert!(
                sp.start >= prev_end,
                "statement {sp:?} overlaps its predecessor (ends {prev_end})"
            );
            assert!(sp.end <= outer.end, "statement {sp:?} outside {outer:?}");
            prev_end = sp.end;
            match s {
                Stmt::Attr(a) => value(&a.value, a.span),
                Stmt::Block(b) => stmts(&b.body, b.body_span),
                Stmt::Error(_) => {}
            }
        }
    }
    stmts(&p.file.items, Span { start: 0, end: len });
    for e in &p.errors {
        assert!(
            e.span.end <= len && e.span.start <= e.span.end,
            "error span {:?} outside the file",
            e.span
        );
    }
}

#[test]
fn parse_fixtures() {
    for path in fixtures("tests/fixtures/parse") {
        let text = std::fs::read_to_string(&path).unwrap();
        validate(&text);
        insta::assert_snapshot!(
            format!("parse__{}", name(&path)),
            format!("{text}\n----- TREE\n{}", dump(&text))
        );
    }
}

#[test]
fn tree_invariants_hold_on_every_fixture() {
    let mut all = fixtures("tests/fixtures/check");
    all.extend(fixtures("tests/fixtures/parse"));
    all.extend(fixtures("examples/example-com"));
    for path in all {
        for (_, bytes) in fixture_files(&path) {
            validate(&String::from_utf8_lossy(&bytes));
        }
    }
}

#[test]
fn a_file_with_three_mistakes_reports_all_three() {
    let text = "deployment \"d\" {\n  namespace = \"n\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\npool shared {\n  source s1 {}\n}\nqueue default {\n  egress_pool = shraed\n}\nshaping default {\n  max_message_rate = 1000/3600\n  connection_limit 5\n}\n";
    let a = kumoc_compiler::analyze(
        &[("three.kumo".into(), text.as_bytes().to_vec())],
        &Default::default(),
    );
    // The compile errors (lints run on what checked too; they are pinned elsewhere).
    let errors: Vec<_> = a
        .diagnostics
        .iter()
        .filter(|d| !d.code.starts_with("KUMO-"))
        .collect();
    let codes: Vec<&str> = errors.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["K1005", "K2003", "K0001"]);
    let spans: Vec<&str> = errors
        .iter()
        .map(|d| &text[d.labels[0].loc.span.range()])
        .collect();
    assert_eq!(spans, ["shraed", "3600", "connection_limit 5"]);
}
