//! The formatter on every fixture: idempotent, keeps every comment, refuses broken files.

use crate::support::*;

fn comments(text: &str) -> Vec<String> {
    kumoc_lang::parse(text)
        .file
        .comments
        .iter()
        .map(|c| c.text.trim_end().to_string())
        .collect()
}

pub fn assert_format_ok(name: &str, text: &str) {
    match kumoc_lang::format::format(text) {
        Ok(once) => {
            let twice = kumoc_lang::format::format(&once).unwrap_or_else(|e| {
                panic!("{name}: formatted output does not parse: {e:?}\n{once}")
            });
            assert_eq!(once, twice, "{name}: formatting is not idempotent");
            assert_eq!(comments(text), comments(&once), "{name}: comments changed");
            assert!(kumoc_lang::parse(&once).errors.is_empty());
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
}

#[test]
fn formatting_is_idempotent_and_keeps_comments() {
    let mut all = fixtures("tests/fixtures/check");
    all.extend(fixtures("tests/fixtures/parse"));
    all.extend(fixtures("examples/example-com"));
    let mut formatted = 0;
    for path in all {
        for (name, bytes) in fixture_files(&path) {
            let text = String::from_utf8_lossy(&bytes);
            assert_format_ok(&name, &text);
            formatted += usize::from(kumoc_lang::format::format(&text).is_ok());
        }
    }
    assert!(formatted > 20, "most fixtures are formattable");
}

#[test]
fn examples_and_init_template_are_formatted() {
    for path in fixtures("examples/example-com") {
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            kumoc_lang::format::format(&text).unwrap(),
            text,
            "{} is not formatted",
            path.display()
        );
    }
}

#[test]
fn format_snapshot() {
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/parse/valid_everything.kumo")).unwrap();
    let messy = "deployment \"d\" {namespace=\"n\"   kumomta = \"2025.03.19-1d3f1f67\"\n\n\n\n  environment=staging}\npool p { source s { weight = 2 } } // trailing\n// own line\nsmtp_listener { relay_hosts = [10.0.0.0/8,\n  10.1.0.0/16] }\n";
    insta::assert_snapshot!(
        "format__valid_everything",
        kumoc_lang::format::format(&text).unwrap()
    );
    insta::assert_snapshot!("format__messy", kumoc_lang::format::format(messy).unwrap());
}

#[test]
fn lone_carriage_return_is_refused() {
    // Found by `cargo fuzz run format` (fuzz/regressions/format-lone-cr-comment.kumo): the
    // grammar reads a lone CR as a line break, the printer counted lines by LF, so the
    // comment after the CR kept `u` in the alignment run once and not twice.
    let text = "pu=4#\r#\nu=4";
    let errors = kumoc_lang::format::format(text).unwrap_err();
    assert_eq!(errors[0].code.code(), "K0001");
    assert_eq!(errors[0].span, kumoc_lang::Span::new(5, 6));
    assert_format_ok("lone CR", text);
    // CRLF stays accepted.
    assert_eq!(
        kumoc_lang::format::format("pu=4#\r\n#\r\nu=4\r\n").unwrap(),
        "pu = 4 #\n#\nu = 4\n"
    );
}

#[test]
fn comments_printed_on_their_own_line_break_the_alignment() {
    // Found by `cargo fuzz run format` (fuzz/regressions/format-comment-*.kumo): a comment
    // that starts on a statement's line but is printed on its own line (a block comment over
    // several lines, or the second comment on the line) did not end the run of `=` aligned
    // attributes, so the second formatting aligned differently from the first.
    for (text, expected) in [
        ("K0=c/*\n*/g=s", "K0 = c\n/*\n*/\ng = s\n"),
        ("a=1 /*x*/ /*y*/\nbb=2\n", "a = 1 /*x*/\n/*y*/\nbb = 2\n"),
        ("a=1 /*x*/\nbb=2\n", "a  = 1 /*x*/\nbb = 2\n"),
        // Found by CI's 30 s libFuzzer run (fuzz/regressions/format-comment-inside-attr.kumo):
        // a comment inside an attribute is printed on its own line after it.
        ("a /*x*/ = 1\nbb = 2\n", "a = 1\n/*x*/\nbb = 2\n"),
        ("a = /*x*/ 1\nbb = 2\n", "a = 1\n/*x*/\nbb = 2\n"),
    ] {
        assert_eq!(
            kumoc_lang::format::format(text).unwrap(),
            expected,
            "{text:?}"
        );
        assert_format_ok(text, text);
    }
}
