//! The front end that drops each statement's syntax tree once checked (`Trees::Drop`,
//! `kumoc build` and `kumoc check`) gives what the one that keeps every tree gives
//! (`Trees::Keep`): the same diagnostics in the same order, the same model, and (with
//! `Trees::DropWithPlaces`) the same output, places included. On every fixture and
//! example, in each environment, and on random edits of them that break things (syntax
//! errors, a release declared late, suppressions, duplicates, errors the lints must
//! drop their findings for).

use kumoc_compiler::{Analysis, Environment, Options, Trees, analyze_with, emit};

use crate::property::Rng;
use crate::support::{fixture_files, fixtures, root};

fn same(files: &[(String, Vec<u8>)], options: &Options, what: &str) {
    let keep = analyze_with(files, options, Trees::Keep);
    let drop = analyze_with(files, options, Trees::Drop);
    let with_places = analyze_with(files, options, Trees::DropWithPlaces);
    let model = |a: &Analysis| format!("{:?}", a.model);
    for (got, how) in [(&drop, "Drop"), (&with_places, "DropWithPlaces")] {
        assert!(got.parses.is_empty(), "{how} keeps no tree: {what}");
        if got.diagnostics != keep.diagnostics {
            let show = |a: &Analysis| {
                a.diagnostics
                    .iter()
                    .map(|d| format!("{} {:?} {}", d.code, d.primary().map(|l| l.loc), d.message))
                    .collect::<Vec<_>>()
            };
            panic!(
                "{how} diagnostics differ for {what}:\n{:#?}\nkept trees:\n{:#?}",
                show(got),
                show(&keep)
            );
        }
        assert!(model(got) == model(&keep), "{how} model differs: {what}");
    }
    assert!(
        drop.places.is_none() && with_places.places.is_some(),
        "{what}"
    );
    if let Some(model) = keep.checked_model() {
        let want = emit::emit(model, &keep.places());
        let got = with_places.emit().expect("a model without errors");
        assert!(got.files == want.files, "output differs: {what}");
    }
}

/// A deployment's files: `(name, bytes)`.
type Files = Vec<(String, Vec<u8>)>;

/// Every fixture and example, as files.
fn corpus() -> Vec<(String, Files)> {
    let mut out = Vec::new();
    for dir in [
        "tests/fixtures/check",
        "tests/fixtures/lints",
        "tests/fixtures/parse",
        "tests/fixtures/cli",
        "tests/fixtures/dns",
        "tests/fixtures/lsp",
    ] {
        for path in fixtures(dir) {
            out.push((path.display().to_string(), fixture_files(&path)));
        }
    }
    let example = root().join("examples/example-com");
    out.push((example.display().to_string(), fixture_files(&example)));
    out
}

const ENVS: [Option<Environment>; 3] = [
    None,
    Some(Environment::Staging),
    Some(Environment::Production),
];

#[test]
fn dropping_the_trees_changes_nothing_on_the_fixtures() {
    for (what, files) in corpus() {
        for env in ENVS {
            let options = Options {
                env,
                ..Options::default()
            };
            same(&files, &options, &format!("{what} ({env:?})"));
        }
    }
}

/// Edits that break things, or move what the checks and lints read of the syntax.
const SNIPPETS: &[&str] = &[
    "x",
    "\n",
    "{",
    "}",
    "\"",
    "/*",
    "=",
    "max_age = 1h\n",
    "queue \"d1.example.com\" {\n  max_age = 1h\n}\n",
    "queue \"d1.example.com\" {\n  max_age = 1h\n}\n",
    "domain \"new.example.com\" {}\n",
    "shaping default { max_message_rate = 5/s }\n",
    "max_mesage_rate = 5/s\n",
    "connection_limit = 3\n",
    "enable_pipelinin = true\n",
    "2d hours",
    "deployment {\n  kumomta = \"2023.08.22-4d895015\"\n}\n",
    "deployment \"late\" {\n  namespace = \"m\"\n  kumomta = \"2025.03.19-1d3f1f67\"\n  environment = production\n}\n",
    "kumomta = \"2023.08.22-4d895015\"\n",
    "env staging {\n  deployment {\n    kumomta = \"2023.08.22-4d895015\"\n  }\n}\n",
    "env production {\n  shaping default {\n    enable_tls = Disabled\n  }\n}\n",
    "// kumoc-allow(KUMO-SHP008): a test\n",
    "// kumoc-allow(KUMO-TLS001)\n",
    " // kumoc-allow(K1010, KUMO-OPS001): trailing\n",
    "cluster {\n  sink {\n    enabled = true\n  }\n}\n",
    "provider p {\n  match = [\"x.example\"]\n  connection_limit = 10\n}\n",
];

fn edit(rng: &mut Rng, text: &str) -> String {
    let mut a = rng.below(text.len() + 1);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let mut b = (a + rng.below(8)).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    let insert = if rng.chance(20) {
        ""
    } else {
        SNIPPETS[rng.below(SNIPPETS.len())]
    };
    let mut new = text.to_string();
    new.replace_range(a..b, insert);
    new
}

#[test]
fn dropping_the_trees_changes_nothing_after_random_edits() {
    let mut rng = Rng::new(0x7ee5_d0e5);
    let example = root().join("examples/example-com");
    let mut inputs = vec![fixture_files(&example)];
    inputs.extend(
        fixtures("tests/fixtures/lints")
            .iter()
            .take(12)
            .map(|p| fixture_files(p)),
    );
    for files in inputs {
        for step in 0..12 {
            let mut files = files.clone();
            for _ in 0..=step % 3 {
                let i = rng.below(files.len());
                let text = String::from_utf8_lossy(&files[i].1).into_owned();
                files[i].1 = edit(&mut rng, &text).into_bytes();
            }
            let env = ENVS[rng.below(ENVS.len())];
            let options = Options {
                env,
                ..Options::default()
            };
            let what = files
                .iter()
                .map(|(n, b)| format!("--- {n}\n{}", String::from_utf8_lossy(b)))
                .collect::<String>();
            same(&files, &options, &format!("({env:?})\n{what}"));
        }
    }
}

/// The checks read the declared release, which a `deployment` block after the statements
/// that need it declares: those are checked again once it is known.
#[test]
fn a_release_declared_late_is_the_one_the_checks_read() {
    let shaping = "shaping default {\n  enable_pipelinin = true\n}\n\n";
    let deployment = "deployment \"d\" {\n  namespace   = \"mail\"\n  kumomta     = \"2023.08.22-4d895015\"\n  environment = staging\n}\n";
    let overlay = "env staging {\n  deployment {\n    kumomta = \"2025.03.19-1d3f1f67\"\n  }\n}\n";
    for files in [
        vec![("a.kumo", format!("{shaping}{deployment}"))],
        vec![
            ("a.kumo", shaping.to_string()),
            ("b.kumo", deployment.to_string()),
        ],
        vec![("a.kumo", format!("{shaping}{deployment}{overlay}"))],
        vec![("a.kumo", format!("{deployment}{shaping}{overlay}"))],
    ] {
        let files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            .map(|(n, t)| (n.to_string(), t.into_bytes()))
            .collect();
        let keep = analyze_with(&files, &Options::default(), Trees::Keep);
        assert!(
            keep.diagnostics
                .iter()
                .any(|d| d.message.contains("enable_pipelinin")),
            "{:?}",
            keep.diagnostics
        );
        for env in ENVS {
            let options = Options {
                env,
                ..Options::default()
            };
            same(&files, &options, &format!("{files:?} ({env:?})"));
        }
    }
}
