//! `kumoc_compiler::session`: after any sequence of edits, a session's analysis is the
//! analysis of the edited files from scratch (diagnostics, model and syntax trees), whether
//! the session re-parses the pieces itself or is handed them, as files come and go.

use kumoc_compiler::session::{Input, Session};
use kumoc_compiler::{Analysis, Options, analyze_paths};
use kumoc_lang::incremental::Pieces;

use crate::property::{self, Rng};

/// `bench/gen.py`'s deployment (as `benches/lsp.rs` writes it) of `n` domains over `files`
/// files.
fn bench(n: usize, files: usize) -> Vec<(String, String)> {
    (0..files)
        .map(|k| {
            let (from, to) = (k * n / files, (k + 1) * n / files);
            let mut s = String::new();
            if k == 0 {
                s.push_str("deployment \"bench\" {\n  namespace   = \"mail\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n\nsecret \"dkim-keys\" {}\n\n");
            }
            s.push_str(&format!("pool main-{k} {{\n"));
            for i in from..to {
                s.push_str(&format!(
                    "  source src-{i} {{\n    ehlo_domain    = \"mta{i}.example.com\"\n    source_address = 10.0.{}.{}\n  }}\n",
                    i / 250,
                    i % 250
                ));
            }
            s.push_str("}\n");
            for i in from..to {
                s.push_str(&format!(
                    "\ndomain \"d{i}.example.com\" {{\n  dkim {{\n    selector = \"s1\"\n    key      = secret(\"dkim-keys\")\n  }}\n}}\n\nqueue \"d{i}.example.com\" {{\n  egress_pool = main-{k}\n  max_age     = 2d\n}}\n\n// kumoc:allow K1010 reason: a test\nshaping \"d{i}.example.com\" {{\n  mx_rollup        = false\n  max_message_rate = {}/s\n}}\n",
                    10 + i % 90
                ));
            }
            (format!("/deploy/f{k}.kumo"), s)
        })
        .collect()
}

/// Edits a user makes, and ones that break things.
const SNIPPETS: &[&str] = &[
    "3",
    "x",
    " ",
    "\n",
    "{",
    "}",
    "\"",
    "/*",
    "*/",
    "// c\n",
    "=",
    "[",
    "main-0",
    "d1.example.com",
    "max_age = 1h\n",
    "queue \"d1.example.com\" {\n  max_age = 1h\n}\n",
    "domain \"new.example.com\" {}\n",
    "pool main-0 {}\n",
    "shaping default { max_message_rate = 5/s }\n",
    "// kumoc:allow K1010 reason: edit\n",
    "\r",
    "é",
    // Junk after a value, a release, an environment's overlay, a near miss of a field.
    "2d hours",
    "kumomta = \"2023.08.22-4d895015\"\n",
    "env staging {\n  deployment {\n    kumomta = \"2023.08.22-4d895015\"\n  }\n}\n",
    "max_mesage_rate = 5/s\n",
    // What lowering a domain or shaping block reads beyond it (`resolve::Memo`).
    "dkim_defaults { selector = \"s2\" }\n",
    "secret \"dkim-keys\" { keys = [\"d1.example.com.s1.key\"] }\n",
    "shaping \"d1.example.com\" from provider.google {}\n",
];

fn edit(rng: &mut Rng, text: &str) -> String {
    let mut a = rng.below(text.len() + 1);
    while !text.is_char_boundary(a) {
        a -= 1;
    }
    let reach = if rng.chance(10) { 400 } else { 12 };
    let mut b = (a + rng.below(reach)).min(text.len());
    while !text.is_char_boundary(b) {
        b += 1;
    }
    let insert = if rng.chance(30) {
        ""
    } else {
        SNIPPETS[rng.below(SNIPPETS.len())]
    };
    let mut new = text.to_string();
    new.replace_range(a..b, insert);
    new
}

fn same(got: &Analysis, want: &Analysis, what: &str) {
    assert_eq!(got.diagnostics, want.diagnostics, "diagnostics: {what}");
    // The sources too: the session keeps those of the files an edit did not change.
    let source = |f: &kumoc_compiler::SourceFile| {
        (
            f.name.clone(),
            f.rel.clone(),
            f.text.to_string(),
            f.is_stdlib,
            f.line_starts().to_vec(),
        )
    };
    let files = |a: &Analysis| {
        a.sources
            .iter()
            .map(|(id, f)| (id, source(f)))
            .collect::<Vec<_>>()
    };
    assert_eq!(files(got), files(want), "sources: {what}");
    assert_eq!(
        format!("{:?}", got.model),
        format!("{:?}", want.model),
        "model: {what}"
    );
    assert_eq!(got.parses.len(), want.parses.len(), "{what}");
    for (g, w) in got.parses.iter().zip(&want.parses) {
        assert_eq!(g.file, w.file, "syntax tree: {what}");
        let key = |e: &kumoc_lang::SyntaxError| (e.span, e.code, e.message.clone());
        let mut ge: Vec<_> = g.errors.iter().map(key).collect();
        let mut we: Vec<_> = w.errors.iter().map(key).collect();
        ge.sort();
        we.sort();
        assert_eq!(ge, we, "syntax errors: {what}");
    }
}

/// Edit a deployment `steps` times, analysing it each time with the session and from
/// scratch.
fn run(seed: u64, files: Vec<(String, String)>, options: &Options, steps: usize) {
    let mut rng = Rng::new(seed);
    let mut files = files;
    let mut session = Session::new();
    // The caller's pieces of each file, when it keeps them (an editor's open documents).
    let mut pieces: Vec<Option<(String, Pieces)>> = vec![None; files.len()];
    for step in 0..steps {
        if step > 0 {
            let k = rng.below(files.len());
            if rng.chance(3) && files.len() > 1 {
                files.remove(k);
                pieces.remove(k);
            } else if rng.chance(3) {
                // Sometimes under a name already given (a caller's mistake, but the
                // same analysis all the same).
                let (name, text) = files[k].clone();
                let name = if rng.chance(30) {
                    name
                } else {
                    format!("/deploy/z{step}.kumo")
                };
                let p = Some((text.clone(), Pieces::parse(&text)));
                files.push((name, text));
                pieces.push(p);
            } else {
                let new = edit(&mut rng, &files[k].1);
                pieces[k] = match pieces[k].take() {
                    Some((old, p)) if rng.chance(70) => Some((new.clone(), p.reparse(&old, &new))),
                    _ if rng.chance(30) => Some((new.clone(), Pieces::parse(&new))),
                    _ => None,
                };
                files[k].1 = new;
            }
        }
        let inputs: Vec<Input> = files
            .iter()
            .zip(&pieces)
            .map(|((name, text), p)| Input {
                name: name.clone(),
                bytes: text.clone().into_bytes(),
                path: name.clone(),
                pieces: p
                    .as_ref()
                    .filter(|_| rng.chance(50))
                    .map(|(_, p)| p.clone()),
            })
            .collect();
        let got = session.analyze(inputs, options);
        let named: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(n, t)| (n.clone(), t.clone().into_bytes()))
            .collect();
        let paths: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let want = analyze_paths(&named, &paths, options);
        same(&got, &want, &format!("seed {seed:#x}, step {step}"));
    }
}

/// The files of `examples/example-com`'s deployment, with their paths.
fn example_com() -> Vec<(String, String)> {
    let example: Vec<(String, String)> = ["deployment.kumo", "mail.kumo"]
        .iter()
        .filter_map(|f| {
            let path = format!("{}/examples/example-com/{f}", env!("CARGO_MANIFEST_DIR"));
            Some((path.clone(), std::fs::read_to_string(&path).ok()?))
        })
        .collect();
    assert_eq!(example.len(), 2);
    example
}

#[test]
fn a_session_after_edits_is_a_fresh_analysis() {
    run(0x5e55_1011, bench(30, 1), &Options::default(), 120);
    run(0x5e55_1012, bench(40, 4), &Options::default(), 120);
    let example = example_com();
    run(0x5e55_1013, example, &Options::default(), 80);
    for seed in 0..6u64 {
        let case = property::generate(0x5e55_0000 + seed, seed);
        let files: Vec<(String, String)> = case
            .texts()
            .into_iter()
            .map(|(n, b)| (format!("/g/{n}"), String::from_utf8_lossy(&b).into_owned()))
            .collect();
        let options = Options {
            env: case.env,
            ..Options::default()
        };
        run(0x5e55_2000 + seed, files, &options, 40);
    }
}

/// The session keeps each top-level statement's checks across edits: edits that move
/// statements, make and break duplicates, put junk after a value, change the declared
/// release (in the `deployment` block or an environment's overlay), and change the file
/// ids, each give a fresh analysis.
#[test]
fn checks_kept_across_edits_are_a_fresh_analysis() {
    let files = bench(20, 2);
    let (f0, f1) = (files[0].1.clone(), files[1].1.clone());
    let queue = "queue \"d15.example.com\" {\n  egress_pool = main-1\n  max_age     = 1h\n}\n";
    let old = "\"2023.08.22-4d895015\"";
    let overlay = format!("env staging {{\n  deployment {{\n    kumomta = {old}\n  }}\n}}\n");
    let moved = {
        // The first queue of the file, moved to its end.
        let at = f1.find("\nqueue ").expect("a queue");
        let end = at + f1[at..].find("}\n").expect("its end") + 2;
        let mut t = f1.clone();
        let q = t[at..end].to_string();
        t.replace_range(at..end, "");
        t.push_str(&q);
        t
    };
    let steps: Vec<Vec<(String, String)>> = vec![
        vec![(f0.clone(), f1.clone())],
        // A duplicate at the start: every statement after it moves.
        vec![(f0.clone(), format!("{queue}{f1}"))],
        vec![(
            f0.clone(),
            f1.replacen("max_age     = 2d", "max_age     = 2 hours", 1),
        )],
        vec![(
            f0.clone(),
            f1.replacen("max_message_rate", "max_mesage_rate", 2),
        )],
        vec![(
            f0.replace("\"2025.03.19-1d3f1f67\"", old),
            f1.replacen("max_message_rate", "max_mesage_rate", 2),
        )],
        vec![(
            f0.clone(),
            format!(
                "{}{overlay}",
                f1.replacen("max_message_rate", "max_mesage_rate", 2)
            ),
        )],
        vec![(f0.clone(), format!("{f1}{queue}"))],
        vec![(f0.clone(), moved.clone())],
        vec![(f0.clone(), f1.clone())],
    ]
    .into_iter()
    .flat_map(|v| {
        v.into_iter()
            .map(|(a, b)| vec![(files[0].0.clone(), a), (files[1].0.clone(), b)])
    })
    .collect();
    let mut session = Session::new();
    let mut steps = steps;
    // The first file leaves the deployment, and comes back: the other's id changes.
    steps.push(vec![(files[1].0.clone(), moved)]);
    steps.push(files.clone());
    for (i, step) in steps.iter().enumerate() {
        let got = session.analyze(inputs(step), &Options::default());
        let named: Vec<(String, Vec<u8>)> = step
            .iter()
            .map(|(n, t)| (n.clone(), t.clone().into_bytes()))
            .collect();
        let paths: Vec<String> = step.iter().map(|(n, _)| n.clone()).collect();
        let want = analyze_paths(&named, &paths, &Options::default());
        same(&got, &want, &format!("step {i}"));
        if i == 1 {
            assert!(
                got.diagnostics
                    .iter()
                    .any(|d| d.message.contains("defined twice")),
                "the duplicate is found"
            );
        }
    }
}

/// The session keeps what resolve lowered of each unchanged `domain`, `queue` and
/// `shaping` block (`resolve::Memo`): edits of what a domain's lowering reads beyond its
/// block (`dkim_defaults`, the secret's declared keys), of a block a preset starts, and
/// edits that move blocks, each give a fresh analysis; and a memo kept stale (the blocks
/// an edit moved keeping their old locations) does not.
#[test]
fn lowered_parts_kept_across_edits_are_a_fresh_analysis() {
    let files = bench(20, 2);
    let (f0, f1) = (files[0].1.clone(), files[1].1.clone());
    // A domain whose DKIM selector comes from `dkim_defaults`.
    let bare = "domain \"bare.example.com\" {\n  dkim {\n    key = secret(\"dkim-keys\")\n  }\n}\n";
    let defaults = |s: &str| format!("dkim_defaults {{\n  selector = \"{s}\"\n}}\n");
    let preset =
        "shaping \"d12.example.com\" from provider.google {\n  max_message_rate = 10/min\n}\n";
    let f1b = f1.replacen(
        "\nshaping \"d12.example.com\"",
        "\nshaping \"d12.example.org\"",
        1,
    );
    let steps: Vec<(String, String)> = vec![
        (f0.clone(), format!("{f1}{bare}{}", defaults("s1"))),
        (f0.clone(), format!("{f1}{bare}{}", defaults("s2"))),
        // The secret declares keys: the derived key names are checked again.
        (
            f0.replace(
                "secret \"dkim-keys\" {}",
                "secret \"dkim-keys\" {\n  keys = [\"d0.example.com.s1.key\"]\n}",
            ),
            format!("{f1}{bare}{}", defaults("s2")),
        ),
        (f0.clone(), format!("{f1}{bare}{}", defaults("s2"))),
        // Every key from Vault: every domain's key is refused.
        (
            f0.clone(),
            format!(
                "{f1}{bare}dkim_defaults {{\n  selector = \"s2\"\n  vault_mount = \"dkim\"\n}}\n"
            ),
        ),
        (f0.clone(), format!("{f1}{bare}{}", defaults("s2"))),
        (f0.clone(), format!("{f1b}{preset}")),
        (
            f0.clone(),
            format!("{f1b}{}", preset.replace("google", "yahoo")),
        ),
        // Everything after the edit moves.
        (f0.clone(), format!("// moved\n{f1b}")),
        (f0.clone(), f1.clone()),
    ];
    let mut session = Session::new();
    let analyse = |session: &mut Session, (a, b): &(String, String)| {
        let step = vec![
            (files[0].0.clone(), a.clone()),
            (files[1].0.clone(), b.clone()),
        ];
        let got = session.analyze(inputs(&step), &Options::default());
        let named: Vec<(String, Vec<u8>)> = step
            .iter()
            .map(|(n, t)| (n.clone(), t.clone().into_bytes()))
            .collect();
        let paths: Vec<String> = step.iter().map(|(n, _)| n.clone()).collect();
        (got, analyze_paths(&named, &paths, &Options::default()))
    };
    for (i, step) in steps.iter().enumerate() {
        let (got, want) = analyse(&mut session, step);
        same(&got, &want, &format!("step {i}"));
        assert!(got.model.is_some(), "step {i}: a model");
    }
    // A memo kept although its block moved: the model holds the old locations (and so
    // do the findings on it).
    session.keep_moved_memos_once = true;
    let (got, want) = analyse(&mut session, &(f0.clone(), format!("// moved\n{f1}")));
    assert_ne!(
        format!("{:?}", got.model),
        format!("{:?}", want.model),
        "a stale memo shows"
    );
    // Only once: the next analysis is a fresh one again.
    let (got, want) = analyse(&mut session, &(f0.clone(), format!("// moved!\n{f1}")));
    same(&got, &want, "after the stale memo");
}

/// The session's inputs for `files` (name, text), without pieces.
fn inputs(files: &[(String, String)]) -> Vec<Input> {
    files
        .iter()
        .map(|(n, t)| Input {
            name: n.clone(),
            bytes: t.clone().into_bytes(),
            path: n.clone(),
            pieces: None,
        })
        .collect()
}

/// An edit inside one statement of a large file re-parses that file per statement; files
/// it did not touch keep their trees.
#[test]
fn an_edit_reuses_what_it_did_not_touch() {
    let files = bench(200, 4);
    let mut session = Session::new();
    session.analyze(inputs(&files), &Options::default());
    let stdlib = kumoc_compiler::stdlib::FILES.len();
    assert_eq!(session.last.parsed, stdlib + 4);
    let mut edited = files.clone();
    edited[2].1 = edited[2]
        .1
        .replacen("max_age     = 2d", "max_age     = 3d", 1);
    session.analyze(inputs(&edited), &Options::default());
    assert_eq!((session.last.parsed, session.last.kept), (1, stdlib + 3));
    edited[2].1 = edited[2]
        .1
        .replacen("max_age     = 2d", "max_age     = 30d", 1);
    session.analyze(inputs(&edited), &Options::default());
    assert_eq!(
        (session.last.parsed, session.last.updated, session.last.kept),
        (0, 1, stdlib + 3)
    );
}

/// A diagnostic as a user sees it: code, message, where (all its places).
fn shown(d: &kumoc_compiler::Diagnostic) -> String {
    format!("{d:?}")
}

/// The diagnostics of a full analysis of `text` (one file among `others`) whose primary
/// label is in it, and its file id.
fn full_of(
    name: &str,
    text: &str,
    others: &[(String, String)],
) -> (Analysis, kumoc_compiler::FileId) {
    let mut named: Vec<(String, Vec<u8>)> = others
        .iter()
        .map(|(n, t)| (n.clone(), t.clone().into_bytes()))
        .collect();
    named.push((name.to_string(), text.as_bytes().to_vec()));
    let paths: Vec<String> = named.iter().map(|(n, _)| n.clone()).collect();
    let a = analyze_paths(&named, &paths, &Options::default());
    let id = a
        .user_files()
        .find(|(_, f)| f.name == name)
        .map(|(id, _)| id)
        .expect("the file");
    (a, id)
}

fn of_file(a: &Analysis, id: kumoc_compiler::FileId) -> Vec<kumoc_compiler::Diagnostic> {
    a.diagnostics
        .iter()
        .filter(|d| d.primary().is_some_and(|l| l.loc.file == id))
        .cloned()
        .collect()
}

/// A diagnostic of the old text moved to the new one (`a`: the common prefix, `s`: the
/// common suffix of the two texts), or `None` when one of its places is in the changed
/// bytes.
fn moved(
    d: &kumoc_compiler::Diagnostic,
    id: kumoc_compiler::FileId,
    (a, old_len, new_len, s): (usize, usize, usize, usize),
) -> Option<kumoc_compiler::Diagnostic> {
    let mut d = d.clone();
    let by = new_len as i64 - old_len as i64;
    let mut locs: Vec<&mut kumoc_compiler::source::Loc> =
        d.labels.iter_mut().map(|l| &mut l.loc).collect();
    if let Some(f) = &mut d.fix {
        locs.extend(f.edits.iter_mut().map(|e| &mut e.loc));
    }
    for loc in locs {
        if loc.file != id {
            continue;
        }
        let (st, en) = (loc.span.start as usize, loc.span.end as usize);
        if en <= a && st < a.max(1) {
            continue;
        }
        if st >= old_len - s {
            loc.span.start = (st as i64 + by) as u32;
            loc.span.end = (en as i64 + by) as u32;
            continue;
        }
        return None;
    }
    Some(d)
}

/// Quick diagnostics (`session::Baseline::quick`) never flicker: a diagnostic the full
/// analysis showed before an edit and shows after it (at the same place, moved by the
/// edit) is among the quick ones published in between; and after an edit inside one
/// statement that changes no finding, they are the full analysis's.
#[test]
fn quick_diagnostics_never_hide_what_the_full_analysis_shows_again() {
    use kumoc_compiler::session::Baseline;
    let example = example_com();
    // Seed, files, the one edited.
    type Case = (u64, Vec<(String, String)>, usize);
    let cases: Vec<Case> = vec![
        (0x9c1, bench(30, 1), 0),
        (0x9c2, bench(40, 4), 2),
        (0x9c3, example.clone(), 1),
        (0x9c4, example, 0),
    ];
    let (mut quick, mut total) = (0, 0);
    for (seed, files, k) in cases {
        let mut rng = Rng::new(seed);
        let others: Vec<(String, String)> = files
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != k)
            .map(|(_, f)| f.clone())
            .collect();
        let name = files[k].0.clone();
        let mut base = files[k].1.clone();
        let mut base_pieces = Pieces::parse(&base);
        let (full, id) = full_of(&name, &base, &others);
        let mut baseline = Baseline::of(&full, id, &Options::default());
        let mut before = of_file(&full, id);
        for step in 0..60 {
            // One to three edits since the baseline, each re-parsed from the one before.
            let (mut text, mut pieces) = (base.clone(), base_pieces.clone());
            for _ in 0..1 + rng.below(3) {
                let new = edit(&mut rng, &text);
                pieces = pieces.reparse(&text, &new);
                text = new;
            }
            let (full, id) = full_of(&name, &text, &others);
            let after = of_file(&full, id);
            total += 1;
            if let Some(q) =
                baseline.quick((&base, &base_pieces), (&text, &pieces), &Options::default())
            {
                quick += 1;
                let (bo, bn) = (base.as_bytes(), text.as_bytes());
                let a = bo.iter().zip(bn).take_while(|(x, y)| x == y).count();
                let room = bo.len().min(bn.len()) - a;
                let s = bo
                    .iter()
                    .rev()
                    .zip(bn.iter().rev())
                    .take(room)
                    .take_while(|(x, y)| x == y)
                    .count();
                let again: Vec<&kumoc_compiler::Diagnostic> = after
                    .iter()
                    .filter(|d| {
                        before
                            .iter()
                            .filter_map(|o| moved(o, id, (a, bo.len(), bn.len(), s)))
                            .any(|o| o == **d)
                    })
                    .collect();
                for d in again {
                    assert!(
                        q.contains(d),
                        "seed {seed:#x} step {step}: {} shown before and after, not in between:\n{}",
                        shown(d),
                        q.iter().map(shown).collect::<Vec<_>>().join("\n")
                    );
                }
            }
            // Sometimes the full analysis of this version is published: the next baseline.
            if rng.chance(40) {
                baseline = Baseline::of(&full, id, &Options::default());
                before = after;
                base = text;
                base_pieces = pieces;
            }
        }
    }
    // Random edits break statements, and a broken statement's resolve findings stop the
    // quick diagnostics until the next full analysis: about a quarter get them.
    assert!(
        quick * 5 > total,
        "quick diagnostics for {quick} of {total} edits"
    );

    // The common edit: a value in one statement; nothing else changes.
    let files = bench(30, 1);
    let (name, text) = files[0].clone();
    let pieces = Pieces::parse(&text);
    let (full, id) = full_of(&name, &text, &[]);
    let baseline = Baseline::of(&full, id, &Options::default());
    let at = text.find("max_age     = 2d").expect("a queue") + "max_age     = ".len();
    for (new_value, also) in [("3", ""), ("9x", "an error")] {
        let mut new = text.clone();
        new.replace_range(at..at + 1, new_value);
        let new_pieces = pieces.reparse(&text, &new);
        let (full, id) = full_of(&name, &new, &[]);
        let q = baseline
            .quick((&text, &pieces), (&new, &new_pieces), &Options::default())
            .expect("quick diagnostics");
        assert_eq!(q, of_file(&full, id), "{new_value} ({also})");
    }
}
