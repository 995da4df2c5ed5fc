//! Every fix produces a description that checks.
//!
//! For every diagnostic that offers a fix, across every fixture (checker fixtures, lint
//! fixtures, the example, in both environments) and across generated variants (each typed
//! value of the example and the lint fixtures replaced by mistyped values a person writes:
//! `2 hours`, `1000/3600`, `5 min`, `25GB`, `10.0.0.1/8`, ...), the fix is applied alone and
//! the result analysed again:
//!
//! * the fixed file still parses (no syntax error that was not there before);
//! * the diagnostic that offered the fix is gone (one fewer of its code);
//! * no new error appears;
//! * the fix never puts an invented value in place of the user's: every address, host name
//!   and hash in a replacement is one the user's files already hold (or the network of an
//!   address they hold, or a published KumoMTA release tag).
//!
//! Then all safe fixes, and all fixes (unsafe included), are applied together as
//! `kumoc check --fix` does, and the result may have no error the original did not have.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use kumoc_compiler::diagnostic::Diagnostic;
use kumoc_compiler::schema::Ty;
use kumoc_compiler::{Analysis, Environment, FileId, Options, Severity, analyze};

use crate::support::*;

/// One deployment to analyse: its files and the environment.
#[derive(Clone)]
struct Case {
    name: String,
    files: Vec<(String, Vec<u8>)>,
    env: Option<Environment>,
    /// For a variant: the errors of the description it was made from. A fix that restores
    /// what the variant changed may bring those back (`conection_limit` -> `connection_limit`
    /// checks the value again); they are not the fix's doing.
    base_errors: BTreeMap<(String, String), usize>,
}

impl Case {
    fn options(&self) -> Options {
        Options {
            env: self.env,
            ..Default::default()
        }
    }
    fn analyze(&self) -> Analysis {
        analyze(&self.files, &self.options())
    }
}

fn fixture_case(path: &Path, env: Option<Environment>) -> Case {
    Case {
        name: format!(
            "{}{}",
            path.strip_prefix(root()).unwrap_or(path).display(),
            if env.is_some() {
                " --env production"
            } else {
                ""
            }
        ),
        files: fixture_files(path),
        env,
        base_errors: BTreeMap::new(),
    }
}

/// The fixtures and the example, as they are.
fn base_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for dir in [
        "tests/fixtures/check",
        "tests/fixtures/lints",
        "tests/fixtures/lints/cases",
    ] {
        // `lints/cases/` holds one deployment per file, like `lints/`.
        for path in fixtures(dir).into_iter().filter(|p| !p.ends_with("cases")) {
            cases.push(fixture_case(&path, None));
        }
    }
    let example = root().join("examples/example-com");
    cases.push(fixture_case(&example, None));
    cases.push(fixture_case(&example, Some(Environment::Production)));
    cases
}

/// Mistyped spellings a person writes for a value of this type, as source text.
fn mistypings(ty: &Ty) -> Vec<String> {
    let variants = match ty {
        Ty::Enum(variants) => Some(*variants),
        Ty::Action => Some(kumoc_compiler::schema::ACTIONS),
        _ => None,
    };
    if let Some(variants) = variants {
        // KumoMTA's own spelling (`OpportunisticInsecure`), capitals, a letter dropped.
        let mut out = Vec::new();
        for v in variants.iter().take(6) {
            out.push(v.kumo.to_string());
            out.push(v.name.to_uppercase());
            if v.name.len() > 3 {
                out.push(format!("{}{}", &v.name[..1], &v.name[2..]));
            }
        }
        out.sort();
        out.dedup();
        return out;
    }
    let fixed: &[&str] = match ty {
        Ty::Duration => &[
            "2 hours",
            "5 min",
            "90",
            "1.5h",
            "\"1.5h\"",
            "2hours",
            "\"2 hours\"",
            "1h 30m",
            "\"1h,30m\"",
            "24H",
            "10sec",
            "\"0\"",
            "\"5 M\"",
        ],
        Ty::Rate => &[
            "1000/3600",
            "100 / s",
            "100/hours",
            "\"100/hours\"",
            "100",
            "1.5/s",
            "1k/h",
            "\"100 /s\"",
            "10/5",
        ],
        Ty::Limit => &["0", "local: 5", "10/s", "Local:5", "\"5 \""],
        Ty::Bool => &["\"true\"", "\"false\"", "yes", "True", "1"],
        Ty::Int { .. } => &["-1", "1.5", "\"10\"", "10k", "99999999999999999999"],
        Ty::Size => &["25GB", "25 Gi", "25gi", "1.5Gi", "25Gib", "0"],
        Ty::Cpu => &["1.5", "1000 m", "500M", "2 cores"],
        Ty::Percent => &["80", "80 %", "0.8", "120%"],
        Ty::Cidr => &[
            "10.0.0.1/8",
            "10/8",
            "10.0.0.256/8",
            "any",
            "\"10.0.0.0 /8\"",
            "10.0.0.0/33",
            "\"2001:db8::1/32\"",
        ],
        Ty::Ip => &["10.0.0.256", "\"10.0.0.1:25\"", "10.0.0.0/8", "\"[::1]\""],
        Ty::Version => &[
            "\"2025.03.19\"",
            "\"v2025.03.19-1d3f1f67\"",
            "\"2025-03-19\"",
            "\"2025.03.19-1D3F1F67\"",
            "\"2026.06.23\"",
            "\"2025.03.20\"",
            "\"2025.03.19-1d3f1f6\"",
            "\"2025.03.19-deadbeef\"",
        ],
        Ty::List(inner) | Ty::OneOrList(inner) => match inner {
            Ty::Cidr => &["[10.0.0.1/8]", "[any]", "[10/8, 10.1.0.0/16]"],
            _ => &[],
        },
        _ => &[],
    };
    fixed.iter().map(|m| m.to_string()).collect()
}

/// An attribute of a field: where its key and value are written, and the field's type.
struct Typed {
    file: usize,
    key: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
    field: &'static str,
    ty: &'static Ty,
}

/// Every attribute of a schema field in `case`.
fn typed_values(case: &Case) -> Vec<Typed> {
    let mut out = Vec::new();
    for (i, (_, bytes)) in case.files.iter().enumerate() {
        let text = String::from_utf8_lossy(bytes);
        let parse = kumoc_lang::parse(&text);
        let mut diags = Vec::new();
        let blocks = kumoc_compiler::check::check_file(
            FileId(0),
            &text,
            &parse.file.items,
            None,
            &mut diags,
        );
        fn walk(b: &kumoc_compiler::check::HBlock, i: usize, out: &mut Vec<Typed>) {
            for a in &b.attrs {
                if let Some(f) = a.field {
                    out.push(Typed {
                        file: i,
                        key: a.key_span.range(),
                        value: a.value_span.range(),
                        field: f.name,
                        ty: &f.ty,
                    });
                }
            }
            for c in &b.blocks {
                walk(c, i, out);
            }
        }
        for b in &blocks {
            walk(b, i, &mut out);
        }
    }
    out
}

/// The example and the lint fixtures with one typed value replaced by a mistyping.
fn variant_cases() -> Vec<Case> {
    let mut bases = vec![fixture_case(&root().join("examples/example-com"), None)];
    for dir in [
        "tests/fixtures/check",
        "tests/fixtures/lints",
        "tests/fixtures/lints/cases",
    ] {
        for path in fixtures(dir).into_iter().filter(|p| !p.ends_with("cases")) {
            bases.push(fixture_case(&path, None));
        }
    }
    let mut out = Vec::new();
    // One variant per (field, mistyping): the same mistyping of the same field elsewhere
    // exercises the same code.
    let mut seen: BTreeSet<(&'static str, String)> = BTreeSet::new();
    let replaced =
        |base: &Case, file: usize, range: std::ops::Range<usize>, with: &str, what: String| {
            let bytes = &base.files[file].1;
            let mut text = bytes[..range.start].to_vec();
            text.extend_from_slice(with.as_bytes());
            text.extend_from_slice(&bytes[range.end..]);
            let mut files = base.files.clone();
            files[file].1 = text;
            Case {
                name: format!("{} with {what}", base.name),
                files,
                env: None,
                base_errors: base.base_errors.clone(),
            }
        };
    for base in &mut bases {
        base.base_errors = errors(&base.analyze());
    }
    for base in &bases {
        for t in typed_values(base) {
            let bytes = &base.files[t.file].1;
            let original = String::from_utf8_lossy(&bytes[t.value.clone()]).into_owned();
            for m in mistypings(t.ty) {
                if !seen.insert((t.field, m.clone())) {
                    continue;
                }
                let what = format!("{} = `{original}` -> `{m}`", t.field);
                out.push(replaced(base, t.file, t.value.clone(), &m, what));
            }
            // A reference with a letter dropped: did-you-mean fixes of names.
            if let Ty::Ref(_) = t.ty {
                let name = original.trim_matches('"');
                if name.len() > 3 && name.is_ascii() {
                    let typo = format!("{}{}", &name[..1], &name[2..]);
                    if seen.insert((t.field, format!("ref {typo}"))) {
                        let what = format!("{} = `{original}` -> `{typo}`", t.field);
                        out.push(replaced(base, t.file, t.value.clone(), &typo, what));
                    }
                }
            }
            // The field's name with a letter dropped or doubled: did-you-mean fixes.
            let name = t.field;
            if name.len() > 4 {
                for typo in [
                    format!("{}{}", &name[..2], &name[3..]),
                    format!("{}{}", &name[..3], &name[2..]),
                ] {
                    if !seen.insert((t.field, format!("key {typo}"))) {
                        continue;
                    }
                    let what = format!("the key `{name}` -> `{typo}`");
                    out.push(replaced(base, t.file, t.key.clone(), &typo, what));
                }
            }
        }
    }
    // A misspelled second copy of a field already set (`retry_intervall` below
    // `retry_interval`): renaming it would only make a duplicate.
    let example = &bases[0];
    for t in typed_values(example).into_iter().take(12) {
        let bytes = &example.files[t.file].1;
        let value = String::from_utf8_lossy(&bytes[t.value.clone()]).into_owned();
        let typo = format!("{}{}", t.field, &t.field[t.field.len() - 1..]);
        let line = format!("\n  {typo} = {value}");
        let at = t.value.end..t.value.end;
        let what = format!("a second `{}` spelled `{typo}`", t.field);
        out.push(replaced(example, t.file, at, &line, what));
    }
    // A misspelled field or value that the declared release does not have: only a newer
    // release would make the "did you mean" check.
    let old = "2024.11.08-d383b033";
    let old_version = kumoc_lang::units::parse_version(old).unwrap();
    let head = format!(
        "deployment \"t\" {{\n  namespace = \"n\"\n  kumomta = \"{old}\"\n  environment = staging\n}}\n"
    );
    for f in kumoc_compiler::schema::EGRESS_FIELDS {
        let (Some(since), Some(default)) = (f.since, f.default.and_then(|d| d.lit())) else {
            continue;
        };
        if old_version.supports(since) || f.name.len() < 5 {
            continue;
        }
        let typo = format!("{}{}", &f.name[..2], &f.name[3..]);
        let default = default.to_kumo();
        let text = format!("{head}shaping default {{\n  {typo} = {default}\n}}\n");
        out.push(Case {
            name: format!("`{typo}` on {old} (`{}` is newer)", f.name),
            files: vec![("d.kumo".to_string(), text.into_bytes())],
            env: None,
            base_errors: BTreeMap::new(),
        });
    }
    for a in kumoc_compiler::schema::ACTIONS {
        if a.since.is_none_or(|s| old_version.supports(s)) {
            continue;
        }
        let text = format!(
            "{head}shaping default {{\n  automation {{\n    regex = \"x\"\n    action = {}\n    duration = 1h\n  }}\n}}\n",
            a.kumo
        );
        out.push(Case {
            name: format!("action `{}` on {old}", a.kumo),
            files: vec![("d.kumo".to_string(), text.into_bytes())],
            env: None,
            base_errors: BTreeMap::new(),
        });
    }
    for b in kumoc_compiler::schema::SHAPING.children {
        if b.since.is_none_or(|s| old_version.supports(s)) {
            continue;
        }
        let typo = format!("{}{}", &b.keyword[..2], &b.keyword[3..]);
        let text = format!("{head}shaping default {{\n  {typo} {{\n    \"x\" = 10/h\n  }}\n}}\n");
        out.push(Case {
            name: format!("block `{typo}` on {old} (`{}` is newer)", b.keyword),
            files: vec![("d.kumo".to_string(), text.into_bytes())],
            env: None,
            base_errors: BTreeMap::new(),
        });
    }
    out
}

/// The files of `case` after replacing the texts the fix changed.
fn with_texts(case: &Case, a: &Analysis, new: &BTreeMap<FileId, (String, usize)>) -> Case {
    let mut files = case.files.clone();
    for (id, (text, _)) in new {
        let name = &a.sources.get(*id).expect("a fixed file").name;
        let slot = files
            .iter_mut()
            .find(|(n, _)| n == name)
            .expect("the fixed file is one of the case's files");
        slot.1 = text.clone().into_bytes();
    }
    Case {
        files,
        ..case.clone()
    }
}

/// Lints run only on a description that compiles: a fix that removes the last compile
/// error lets them run, and what they then find was there all along.
fn lints_ran(a: &Analysis) -> bool {
    !a.diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error && !d.code.starts_with("KUMO-"))
}

/// The errors of `after` to compare with those of `before`: lint errors only when lints
/// ran on `before` too.
fn errors_comparable(before: &Analysis, after: &Analysis) -> BTreeMap<(String, String), usize> {
    let mut m = errors(after);
    if !lints_ran(before) {
        m.retain(|(code, _), _| !code.starts_with("KUMO-"));
    }
    m
}

fn errors(a: &Analysis) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for d in a
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
    {
        *m.entry((d.code.to_string(), d.message.clone()))
            .or_default() += 1;
    }
    m
}

fn syntax_errors(a: &Analysis) -> usize {
    a.diagnostics
        .iter()
        .filter(|d| d.code.starts_with("K0"))
        .count()
}

fn count_code(a: &Analysis, code: &str) -> usize {
    a.diagnostics.iter().filter(|d| d.code == code).count()
}

/// Problems with the result of applying `fix_of`'s fix to `case`.
fn check_one_fix(case: &Case, a: &Analysis, d: &Diagnostic, problems: &mut Vec<String>) {
    let Some(fix) = &d.fix else { return };
    let fixed = kumoc_compiler::fix::apply(std::slice::from_ref(d), &a.sources, true);
    if fixed.is_empty() {
        return; // a fix into the stdlib, never applied
    }
    let what = format!(
        "{}: {} `{}` ({:?} fix `{}` -> {:?})",
        case.name,
        d.code,
        d.message,
        fix.applicability,
        fix.title,
        fix.edits
            .iter()
            .map(|e| e.replacement.as_str())
            .collect::<Vec<_>>()
    );
    for e in &fix.edits {
        if let Some(token) = invented(&e.replacement, case) {
            problems.push(format!(
                "{what}: puts `{token}` in place of the user's value"
            ));
        }
    }
    let after_case = with_texts(case, a, &fixed);
    let after = after_case.analyze();
    if syntax_errors(&after) > syntax_errors(a) {
        problems.push(format!(
            "{what}: the fixed file does not parse:\n{}",
            human(&after)
        ));
        return;
    }
    // The fixed value checks: no error left on the lines the fix wrote.
    let mut edits: Vec<&kumoc_compiler::diagnostic::Edit> = fix.edits.iter().collect();
    edits.sort_by_key(|e| (e.loc.file, e.loc.span.start));
    let mut shift: BTreeMap<FileId, i64> = BTreeMap::new();
    for e in edits {
        let delta = shift.entry(e.loc.file).or_default();
        let start = (i64::from(e.loc.span.start) + *delta) as u32;
        let end = start + e.replacement.len() as u32;
        *delta += e.replacement.len() as i64 - i64::from(e.loc.span.len());
        let name = &a.sources.get(e.loc.file).unwrap().name;
        let Some((id, file)) = after.user_files().find(|(_, f)| &f.name == name) else {
            continue;
        };
        let lines = file.line_of(start)..=file.line_of(end);
        // A syntax error on the lines written (`2s hours`), or any error on the text
        // written (another item of the same list may keep its own error).
        let left = after.diagnostics.iter().find(|x| {
            x.severity == Severity::Error
                && (lints_ran(a) || !x.code.starts_with("KUMO-"))
                && x.primary().is_some_and(|l| {
                    let on_lines = lines.contains(&file.line_of(l.loc.span.start))
                        || lines.contains(&file.line_of(l.loc.span.end));
                    let on_text = l.loc.span.start < end.max(start + 1)
                        && start < l.loc.span.end.max(l.loc.span.start + 1);
                    // A syntax error the description had before it was mutated is not
                    // the fix's (a variant of the K0006 fixture keeps its bad escape).
                    let inherited = case
                        .base_errors
                        .contains_key(&(x.code.to_string(), x.message.clone()));
                    // So is any error the unmutated description has: a fix that restores
                    // the fixture's text brings its deliberate error back (K1011's pool).
                    l.loc.file == id
                        && !inherited
                        && ((x.code.starts_with("K0") && on_lines) || on_text)
                })
        });
        if let Some(x) = left {
            problems.push(format!(
                "{what}: the fixed value does not check: {} {}\n{}",
                x.code,
                x.message,
                human(&after)
            ));
            return;
        }
    }
    if count_code(&after, d.code) >= count_code(a, d.code) {
        problems.push(format!(
            "{what}: the diagnostic is still there:\n{}",
            human(&after)
        ));
        return;
    }
    let before = errors(a);
    for (key, n) in errors_comparable(a, &after) {
        let allowed = before.get(&key).copied().unwrap_or(0)
            + case.base_errors.get(&key).copied().unwrap_or(0);
        if n > allowed {
            problems.push(format!(
                "{what}: a new error appears: {} {}\n{}",
                key.0,
                key.1,
                human(&after)
            ));
            break;
        }
    }
}

/// Every safe fix (then every fix) applied together: no error that was not there.
fn check_all_fixes(case: &Case, a: &Analysis, unsafe_fixes: bool, problems: &mut Vec<String>) {
    let fixed = kumoc_compiler::fix::apply(&a.diagnostics, &a.sources, unsafe_fixes);
    if fixed.is_empty() {
        return;
    }
    let after = with_texts(case, a, &fixed).analyze();
    let before = errors(a);
    let before_codes: BTreeSet<&str> = a.diagnostics.iter().map(|d| d.code).collect();
    for (key, n) in errors_comparable(a, &after) {
        // Fixes applied together may change a message that names another value; a code
        // that was not there at all is a new error.
        let allowed = before.get(&key).copied().unwrap_or(0)
            + case.base_errors.get(&key).copied().unwrap_or(0);
        if n > allowed && !before_codes.contains(key.0.as_str()) {
            problems.push(format!(
                "{} (all {} fixes): a new error appears: {} {}\n{}",
                case.name,
                if unsafe_fixes {
                    "safe and unsafe"
                } else {
                    "safe"
                },
                key.0,
                key.1,
                human(&after)
            ));
            break;
        }
    }
}

/// A token of `replacement` that looks like an address, a host name or a hash and that the
/// user never wrote: an invented example.
fn invented(replacement: &str, case: &Case) -> Option<String> {
    let source: String = case
        .files
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect::<Vec<_>>()
        .join("\n");
    let releases: Vec<&str> = kumoc_lang::units::RELEASES.iter().map(|r| r.tag).collect();
    let written_ips: Vec<std::net::IpAddr> = source
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .filter_map(|t| t.parse().ok())
        .collect();
    // Addresses keep their `/prefix`; paths are split into their parts.
    let tokens = replacement
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '_' | '/')))
        .flat_map(|t| {
            if t.split('/')
                .next()
                .is_some_and(|a| a.parse::<std::net::IpAddr>().is_ok())
            {
                vec![t]
            } else {
                t.split('/').collect()
            }
        });
    for token in tokens {
        let token = token.trim_matches(|c: char| matches!(c, '.' | ':' | '-' | '/'));
        // A value the user wrote, in another case (`.MX.Example.net` -> `.mx.example.net`), is
        // theirs, not an example.
        let written = source.contains(token)
            || source
                .to_ascii_lowercase()
                .contains(&token.to_ascii_lowercase());
        if token.is_empty() || written || releases.contains(&token) {
            continue;
        }
        let addr = token.split('/').next().unwrap_or(token);
        if let Ok(ip) = addr.parse::<std::net::IpAddr>() {
            // The network of an address the user wrote is derived, not invented.
            let derived = kumoc_lang::units::parse_cidr(token).is_ok()
                && written_ips.iter().any(|w| {
                    kumoc_lang::units::parse_cidr(&format!(
                        "{w}/{}",
                        token.split('/').nth(1).unwrap_or("32")
                    ))
                    .is_err()
                        && kumoc_lang::units::parse_cidr(token).is_ok_and(|c| c.contains(*w))
                });
            if !derived {
                return Some(ip.to_string());
            }
            continue;
        }
        let host_like = token.contains('.')
            && token.chars().any(|c| c.is_ascii_alphabetic())
            && token.split('.').all(|l| !l.is_empty())
            && !token.contains(':');
        let hash_like = token.len() >= 8
            && token.chars().all(|c| c.is_ascii_hexdigit())
            && token.chars().any(|c| c.is_ascii_digit())
            && token.chars().any(|c| c.is_ascii_alphabetic());
        if host_like || hash_like {
            return Some(token.to_string());
        }
    }
    None
}

fn run(cases: &[Case]) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut fixes = 0;
    for case in cases {
        let a = case.analyze();
        for d in &a.diagnostics {
            if d.fix.is_some() {
                fixes += 1;
                check_one_fix(case, &a, d, &mut problems);
            }
        }
        if a.diagnostics.iter().any(|d| d.fix.is_some()) {
            check_all_fixes(case, &a, false, &mut problems);
            check_all_fixes(case, &a, true, &mut problems);
        }
    }
    problems.sort();
    problems.dedup();
    (fixes, problems)
}

fn report(what: &str, fixes: usize, problems: &[String]) {
    eprintln!("{what}: {fixes} fixes applied and re-checked");
    assert!(
        problems.is_empty(),
        "{what}: {} of {fixes} fixes do not check:\n\n{}",
        problems.len(),
        problems
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn fixes_in_fixtures_produce_descriptions_that_check() {
    let (fixes, problems) = run(&base_cases());
    assert!(
        fixes > 20,
        "only {fixes} fixes found: the test lost its inputs"
    );
    report("fixtures", fixes, &problems);
}

#[test]
fn fixes_of_mistyped_values_produce_descriptions_that_check() {
    let cases = variant_cases();
    eprintln!("{} mistyped variants", cases.len());
    assert!(cases.len() > 100, "only {} variants", cases.len());
    let (fixes, problems) = run(&cases);
    assert!(
        fixes > 50,
        "only {fixes} fixes found: the test lost its inputs"
    );
    report("mistyped values", fixes, &problems);
}
