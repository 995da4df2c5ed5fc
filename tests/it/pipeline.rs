//! The front end that drops each statement's syntax tree once checked (`Trees::Drop`,
//! `kumoc build` and `kumoc check`) gives what the one that keeps every tree gives
//! (`Trees::Keep`): the same diagnostics in the same order, the same model, and (with
//! `Trees::DropWithPlaces`) the same output, places included. On every fixture and
//! example, in each environment, and on random edits of them that break things (syntax
//! errors, a release declared late, suppressions, duplicates, errors the lints must
//! drop their findings for).

use kumoc_compiler::{
    Analysis, Environment, Options, Split, Trees, analyze_split, analyze_with, emit, guess_cuts,
};

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

/// A large file is read in ranges on threads (`kumoc_compiler::Split`), cut where a
/// top-level statement probably starts, and each cut is checked by the reader of the text
/// before it. Cut anywhere (every line start, every statement start, random offsets, a
/// few cuts at once), the result is the file read whole: the same diagnostics (with their
/// fixes), model and places.
fn same_in_ranges(files: &[(String, Vec<u8>)], cuts: &[Vec<u32>], what: &str) {
    let options = Options::default();
    let whole = analyze_split(files, &options, Trees::DropWithPlaces, &Split::Never);
    let places = |a: &Analysis| a.places.as_ref().map(emit::Places::every_place);
    let model = |a: &Analysis| format!("{:?}", a.model);
    let (want_places, want_model) = (places(&whole), model(&whole));
    for at in cuts {
        let got = analyze_split(
            files,
            &options,
            Trees::DropWithPlaces,
            &Split::At(at.clone()),
        );
        assert!(
            got.diagnostics == whole.diagnostics,
            "diagnostics differ, cut at {at:?}: {what}\n{:#?}\nwhole:\n{:#?}",
            got.diagnostics,
            whole.diagnostics
        );
        assert!(
            model(&got) == want_model,
            "model differs, cut at {at:?}: {what}"
        );
        assert!(
            places(&got) == want_places,
            "places differ, cut at {at:?}: {what}"
        );
    }
}

/// Where to cut `text`: every line start and every top-level statement start, `random`
/// random offsets, the guessed cuts, and a few sets of two and three random ones.
fn cuts_of(text: &str, rng: &mut Rng, random: usize) -> Vec<Vec<u32>> {
    let mut one: Vec<u32> = vec![];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            one.push(i as u32 + 1);
        }
    }
    let shared = std::sync::Arc::new(text.to_owned());
    let mut stmts = kumoc_lang::Statements::new(&shared);
    while let Some((start, _)) = stmts.next_stmt() {
        one.push(start);
        one.push(stmts.pos());
    }
    for _ in 0..random {
        one.push(rng.below(text.len() + 1) as u32);
    }
    one.sort_unstable();
    one.dedup();
    let mut cuts: Vec<Vec<u32>> = one.into_iter().map(|c| vec![c]).collect();
    for ranges in 2..5 {
        cuts.push(guess_cuts(text, ranges));
    }
    for n in [2, 2, 3, 3] {
        cuts.push((0..n).map(|_| rng.below(text.len() + 1) as u32).collect());
    }
    cuts
}

/// Inputs whose middle holds what a cut must not be fooled by: a comment over the
/// guessed cut, a block left open before it, a string left open, the release declared
/// after it (in the `deployment` block and in an `env` overlay), a duplicate of a block of
/// the first half, suppressions on both sides, a top-level attribute, junk.
fn tricky_inputs() -> Vec<(String, String)> {
    let base = crate::scale::generated(4);
    let mid = guess_cuts(&base, 2)[0] as usize;
    let (head, tail) = base.split_at(mid);
    let deployment_first = base.find("\n}\n").unwrap() + 3;
    // The `deployment` block moved to the end, declaring a release that lacks
    // `enable_pipelining` (the fix of a misspelling depends on it).
    let late = |extra: &str| {
        format!(
            "{}{tail}{extra}{}",
            &head[deployment_first..],
            head[..deployment_first].replace("2025.03.19-1d3f1f67", "2023.08.22-4d895015")
        )
    };
    let misspelt = "\nshaping \"x.example\" {\n  enable_pipelinin = true\n}\n";
    vec![
        ("as generated".into(), base.clone()),
        (
            "a comment over the cut".into(),
            format!("{head}/* a comment\n{tail}\n*/\n"),
        ),
        (
            "a comment opened before the cut".into(),
            format!("{head}\n// kumoc-allow(KUMO-SHP008): a test\n/*\n{tail}"),
        ),
        (
            "a block left open".into(),
            format!(
                "{}queue \"x\" {{\n{mid_line}{tail}",
                head,
                mid_line = "  max_age = 1h\n"
            ),
        ),
        (
            "a string left open".into(),
            format!("{head}\nqueue \"x\" {{ max_age = \"1h\n}}\n{tail}"),
        ),
        ("junk at the cut".into(), format!("{head} }} }}\n{tail}")),
        (
            "an attribute at the top".into(),
            format!("{head}\nmax_age = 1h\n{tail}"),
        ),
        ("the release declared late".into(), late("")),
        (
            "the release declared late, with an overlay".into(),
            late("env staging {\n  deployment {\n    kumomta = \"2023.08.22-4d895015\"\n  }\n}\n"),
        ),
        (
            "findings on both sides, the release late".into(),
            format!("{misspelt}{}", late(misspelt)).replacen("max_age", "max_agee", 1),
        ),
        (
            "a duplicate across the cut".into(),
            format!("{head}\nqueue \"d0.example.com\" {{\n  max_age = 1h\n}}\n{tail}"),
        ),
        (
            "repeated top-level blocks across the cut".into(),
            format!(
                "cluster {{}}\nenv staging {{}}\n{head}\ncluster {{}}\nenv staging {{}}\n{tail}cluster {{}}\n"
            ),
        ),
        (
            "suppressions on both sides".into(),
            format!(
                "// kumoc-allow(KUMO-OPS005): metrics\n{head}\n// kumoc-allow(KUMO-SHP008): a test\n{tail}\n// kumoc-allow(KUMO-TLS001)\n"
            ),
        ),
    ]
}

#[test]
fn a_file_read_in_ranges_is_read_as_one_wherever_it_is_cut() {
    let mut rng = Rng::new(0x5_0117);
    for (what, text) in tricky_inputs() {
        let files = vec![("bench.kumo".to_string(), text.clone().into_bytes())];
        let cuts = cuts_of(&text, &mut rng, 16);
        same_in_ranges(&files, &cuts, &format!("{what}:\n{text}"));
    }
}

#[test]
fn a_file_read_in_ranges_is_read_as_one_after_random_edits() {
    let mut rng = Rng::new(0xc0_7c07);
    let inputs = tricky_inputs();
    for step in 0..24 {
        let (what, text) = &inputs[step % inputs.len()];
        let mut text = text.clone();
        for _ in 0..=step % 3 {
            text = edit(&mut rng, &text);
        }
        let files = vec![("bench.kumo".to_string(), text.clone().into_bytes())];
        // Every line start is too many for every edit: random offsets and the guesses.
        let mut cuts: Vec<Vec<u32>> = (0..24)
            .map(|_| vec![rng.below(text.len() + 1) as u32])
            .collect();
        cuts.extend((2..4).map(|n| guess_cuts(&text, n)));
        same_in_ranges(&files, &cuts, &format!("{what}, edited:\n{text}"));
    }
}

/// The check of each cut is what makes the ranges right: joined unchecked, the ranges of
/// the inputs above, cut where no statement starts, are not the file read whole (so the
/// tests above would fail without it).
#[test]
fn a_cut_where_no_statement_starts_is_not_joined() {
    let mut differ = 0;
    let mut cuts_tried = 0;
    for (what, text) in tricky_inputs() {
        let files = vec![("bench.kumo".to_string(), text.clone().into_bytes())];
        let options = Options::default();
        let whole = analyze_split(&files, &options, Trees::DropWithPlaces, &Split::Never);
        let shared = std::sync::Arc::new(text.clone());
        let mut stmts = kumoc_lang::Statements::new(&shared);
        let mut starts = vec![];
        while stmts.next_stmt().is_some() {
            starts.push(stmts.pos());
        }
        // The middle of each line that is no statement start.
        let mut at = vec![];
        let mut line = 0;
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                let mid = ((line + i) / 2) as u32;
                if !starts.contains(&mid) && text.is_char_boundary(mid as usize) {
                    at.push(mid);
                }
                line = i + 1;
            }
        }
        for c in at.iter().step_by(7) {
            cuts_tried += 1;
            let split = Split::At(vec![*c]);
            let checked = analyze_split(&files, &options, Trees::DropWithPlaces, &split);
            assert!(
                checked.diagnostics == whole.diagnostics,
                "{what}: cut at {c}"
            );
            let split = Split::Unchecked(vec![*c]);
            let unchecked = analyze_split(&files, &options, Trees::DropWithPlaces, &split);
            if unchecked.diagnostics != whole.diagnostics {
                differ += 1;
            }
        }
    }
    assert!(
        differ * 2 > cuts_tried,
        "unchecked cuts changed only {differ} of {cuts_tried} results"
    );
}

/// A file of at least `SPLIT_BYTES` is cut where a statement starts (the guess lands), and
/// read in ranges gives what the file read whole gives, output included.
#[test]
fn a_large_file_is_cut_where_a_statement_starts() {
    let text = crate::scale::generated(800);
    assert!(text.len() >= kumoc_compiler::SPLIT_BYTES, "{}", text.len());
    let shared = std::sync::Arc::new(text.clone());
    let mut stmts = kumoc_lang::Statements::new(&shared);
    let mut starts = vec![];
    while stmts.next_stmt().is_some() {
        starts.push(stmts.pos());
    }
    for ranges in 2..=8 {
        let cuts = guess_cuts(&text, ranges);
        assert_eq!(cuts.len(), ranges - 1, "{ranges}");
        for c in &cuts {
            assert!(starts.contains(c), "cut {c} of {ranges} ranges");
        }
    }
    let files = vec![("bench.kumo".to_string(), text.into_bytes())];
    same(&files, &Options::default(), "800 generated domains");
    let whole = analyze_split(
        &files,
        &Options::default(),
        Trees::DropWithPlaces,
        &Split::Never,
    );
    let out = |a: &Analysis| a.emit().expect("no errors").files;
    // `--jobs 1` (the default), 2, and more ranges than this machine has threads.
    for threads in [1, 2, 8] {
        let options = Options {
            threads,
            ..Options::default()
        };
        let cut = analyze_split(&files, &options, Trees::DropWithPlaces, &Split::Auto);
        assert_eq!(cut.diagnostics, whole.diagnostics, "{threads} threads");
        assert!(out(&cut) == out(&whole), "{threads} threads");
    }
}

/// The front end keeps a file's checked blocks in chunks (of 1,024) and finds the top-level
/// duplicates over them: a block repeated across chunks, three times, in ranges read on
/// threads, is reported and dropped as the kept trees' checks do.
#[test]
fn duplicates_across_the_front_ends_chunks_are_found() {
    let mut text = crate::scale::generated(400);
    let start = text.find("\ndomain ").expect("a domain") + 1;
    let len = text[start..].find("\n}\n").expect("its end") + 3;
    let domain = text[start..start + len].to_string();
    let second = text[start + len..].find("\ndomain ").expect("another") + start + len + 1;
    let len2 = text[second..].find("\n}\n").expect("its end") + 3;
    let other = text[second..second + len2].to_string();
    for _ in 0..2 {
        text.push('\n');
        text.push_str(&domain);
    }
    text.push('\n');
    text.push_str(&other);
    text.push_str("\ndeployment \"again\" {}\n");
    let cuts: Vec<Vec<u32>> = (2..=3).map(|n| guess_cuts(&text, n)).collect();
    let files = vec![("dups.kumo".to_string(), text.into_bytes())];
    let analysis = analyze_with(&files, &Options::default(), Trees::Drop);
    let twice = analysis
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("is defined twice"))
        .count();
    assert_eq!(twice, 4, "{:#?}", analysis.diagnostics);
    same(&files, &Options::default(), "repeated blocks");
    same_in_ranges(&files, &cuts, "repeated blocks");
}

/// With two threads, `domain`, `queue` and `shaping` blocks in the thousands are walked and
/// lowered in two halves (`resolve`), the second on a thread of its own, and what it did is
/// put where one thread would have done it. With findings of the walk (unknown names) and
/// of the lowering (undeclared secret keys) in both halves, a pool used in both halves, and
/// a top-level block written after the middle, the diagnostics (with the uses counted), the
/// model and the output are one thread's.
#[test]
fn resolve_in_halves_is_resolve_on_one_thread() {
    // 3 blocks a domain: 2,700 in all, over `SPLIT_BLOCKS` (2,048).
    let mut text = crate::scale::generated(900);
    let queue = |i: usize| format!("queue \"d{i}.example.com\" {{\n  egress_pool = main");
    for (i, pool) in [
        (10, "spare"),
        (100, "nosuch"),
        (700, "spare"),
        (850, "nosuch"),
    ] {
        let edited = format!("queue \"d{i}.example.com\" {{\n  egress_pool = {pool}");
        text = text.replacen(&queue(i), &edited, 1);
    }
    // Each secret declares one key: every other domain's derived key name is unknown.
    for j in 0..2 {
        text = text.replacen(
            &format!("secret \"dkim-keys-{j:03}\" {{}}"),
            &format!("secret \"dkim-keys-{j:03}\" {{ keys = [\"only.key\"] }}"),
            1,
        );
    }
    // A top-level block among the second half's, and an empty pool after all of them.
    text = text.replacen(
        "\ndomain \"d600.example.com\"",
        "\nsecret \"late\" { keys = [\"a\"] }\n\ndomain \"d600.example.com\"",
        1,
    );
    text.push_str("\npool spare {\n}\n");
    let files = vec![("bench.kumo".to_string(), text.into_bytes())];
    let analyze = |threads| {
        let options = Options {
            threads,
            ..Options::default()
        };
        analyze_split(&files, &options, Trees::DropWithPlaces, &Split::Never)
    };
    let one = analyze(1);
    let count = |code: &str| {
        one.diagnostics
            .iter()
            .filter(|d| d.code.ends_with(code))
            .count()
    };
    // The unknown pools, and every domain's key (the halves' findings and the walk's).
    assert_eq!(count("K1005"), 2, "{:#?}", one.diagnostics);
    assert_eq!(count("K1010"), 900, "{:#?}", one.diagnostics.first());
    assert!(
        one.diagnostics
            .iter()
            .any(|d| d.message.contains("pool `spare` cannot send")
                && d.primary()
                    .is_some_and(|p| p.message.contains("(and 1 more place)"))),
        "{:#?}",
        one.diagnostics
    );
    let two = analyze(2);
    assert!(two.diagnostics == one.diagnostics, "{:#?}", two.diagnostics);
    assert!(format!("{:?}", two.model) == format!("{:?}", one.model));
}
