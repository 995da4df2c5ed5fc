//! `kumoc import`: an existing KumoMTA policy in, a `.kumo` deployment out.
//!
//! * The seed chart (`tests/fixtures/import/seed-chart`) imports; the `.kumo` files and the
//!   import's diagnostics are snapshotted, `kumoc check` of the result (staging and
//!   production) too, and every defect of the chart (`docs/seed-defects.md`) must be named by
//!   one of them. Its deployment, built, passes `kumod --validate` on the chart's own release
//!   (the chart's policy does not: it passes no `http_timeout`).
//! * Round trip: for every deployment `D` of the repository that builds (the example in both
//!   environments, the lint and check fixtures, the `bench/gen.py`-shaped one of
//!   `determinism.rs`) and for generated ones (`property.rs`'s generator), `import(build(D))`
//!   is imported without warnings, checks without errors, and builds the same policy as `D`:
//!   every file of `policy/`, comments left out (`emit_canonical`). Not compared: the
//!   Kubernetes manifests, whose settings (replicas, resources, spool size, probes) a policy
//!   does not carry, and `env` overlays (one build is one environment; the import is told
//!   which, and the release, as `--environment` and `--kumomta`).

use std::collections::BTreeMap;
use std::path::Path;

use kumoc_compiler::import::{self, Imported, Input, InputFile};
use kumoc_compiler::{Analysis, Environment, Options, Severity, analyze, emit, render};

use crate::support::root;

fn read_dir(dir: &Path, shown: &str) -> Vec<InputFile> {
    let mut out: Vec<InputFile> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "lua" || x == "toml" || x == "json")
        })
        .map(|p| {
            let rel = p.file_name().unwrap().to_string_lossy().into_owned();
            InputFile {
                name: format!("{shown}/{rel}"),
                rel,
                bytes: std::fs::read(&p).unwrap(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    out
}

fn seed_input() -> Input {
    let base = root().join("tests/fixtures/import/seed-chart");
    let file = |rel: &str| InputFile {
        name: format!("seed-chart/{rel}"),
        rel: rel.rsplit('/').next().unwrap().to_string(),
        bytes: std::fs::read(base.join(rel)).unwrap(),
    };
    Input {
        policy_dir: read_dir(&base.join("kumo-configs"), "seed-chart/kumo-configs"),
        policy: "init.lua".into(),
        tsa_policy: Some("tsa_init.lua".into()),
        sink: Some(file("sink-configs/sink.lua")),
        helm_values: vec![file("values.yaml")],
        ..Input::default()
    }
}

fn kumo_files(imported: &Imported) -> Vec<(String, Vec<u8>)> {
    imported
        .files
        .iter()
        .map(|(n, t)| (format!("imported/{n}"), t.clone().into_bytes()))
        .collect()
}

fn human(a: &Analysis) -> String {
    render::human(&a.diagnostics, &a.sources, false)
}

fn codes(diags: &[kumoc_compiler::Diagnostic]) -> Vec<&'static str> {
    diags.iter().map(|d| d.code).collect()
}

/// Every defect of the seed chart (`shared/reference/kumomta.md` §12.2) and the codes that
/// name it: in the import's diagnostics, or in `kumoc check` of the imported deployment
/// (staging or production). Defects of the chart's templates, which the import does not read
/// (kumoc writes its own manifests), name no code: `docs/seed-defects.md` says what rules
/// them out.
const DEFECTS: &[(u8, &str, &[&str])] = &[
    (1, "custom get_queue_config shadows the helpers", &["K4008"]),
    (2, "invalid rate 1000/3600", &["K4014"]),
    (3, "wrong get_egress_path_config signature", &["K4003"]),
    (4, "everything trusted", &["KUMO-SEC002", "KUMO-TSA006"]),
    (5, "open SMTP relay", &["KUMO-SEC001"]),
    (6, "path traversal in basic auth", &["K4012"]),
    (7, "DKIM key in the ConfigMap", &["K4009"]),
    (8, "DKIM secret never created, key missing", &["K4009"]),
    (9, "global TLS downgrade", &["KUMO-TLS001"]),
    (10, "spool on emptyDir", &["K4004"]),
    (11, "HPA targets a Deployment", &[]),
    (12, "StatefulSets governed by ClusterIP Services", &[]),
    (13, "TSA fan-out to a load balancer", &["K4004", "K4010"]),
    (14, "TSA state on emptyDir", &["K4004"]),
    (15, "port mismatches", &["K4004"]),
    (
        16,
        "sink on by default, on port 25",
        &["KUMO-OPS001", "K4004"],
    ),
    (17, "no hardening, debug pod", &["K4004"]),
    (18, "no resources", &["KUMO-K8S003"]),
    (19, "checksum covers only init.lua", &[]),
    (
        20,
        "Redis without auth, values from env strings",
        &["KUMO-SEC008", "K4007"],
    ),
    (21, "--user kumod with runAsUser 999", &[]),
    (22, "wait-for-tsa init container", &[]),
    (23, "debug logging everywhere", &["KUMO-OPS006", "K4004"]),
    (
        24,
        "tenant headers not removed, EHLO is the pod name",
        &["KUMO-QUE006", "KUMO-DNS004"],
    ),
    (25, "names and values drift", &[]),
    (26, "version traps of 2025.03.19", &["K4013"]),
];

#[test]
fn the_seed_chart_imports_and_its_defects_are_named() {
    let imported = import::import(&seed_input());
    assert!(
        !imported.has_errors(),
        "{}",
        render::human(&imported.diagnostics, &imported.sources, false)
    );
    let mut shown = String::new();
    for (name, text) in &imported.files {
        shown.push_str(&format!("===== {name}\n{text}"));
    }
    shown.push_str("\n----- IMPORT DIAGNOSTICS\n");
    shown.push_str(&render::human(
        &imported.diagnostics,
        &imported.sources,
        false,
    ));
    insta::assert_snapshot!("import_seed_chart", shown);

    let files = kumo_files(&imported);
    let staging = analyze(&files, &Options::default());
    let production = analyze(
        &files,
        &Options {
            env: Some(Environment::Production),
            ..Options::default()
        },
    );
    // The description compiles: what is wrong with it are lint findings, each a defect.
    for a in [&staging, &production] {
        let compile: Vec<_> = a
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error && !d.code.starts_with("KUMO-"))
            .collect();
        assert!(compile.is_empty(), "{}", human(a));
    }
    insta::assert_snapshot!(
        "import_seed_chart_check",
        format!(
            "----- kumoc check (staging)\n{}\n----- kumoc check --env production\n{}",
            human(&staging),
            human(&production)
        )
    );

    let mut named: Vec<&str> = codes(&imported.diagnostics);
    named.extend(codes(&staging.diagnostics));
    named.extend(codes(&production.diagnostics));
    let mut missing = Vec::new();
    for (n, what, want) in DEFECTS {
        if !want.iter().all(|c| named.contains(c)) {
            missing.push(format!("#{n} {what}: {want:?}"));
        }
    }
    assert!(
        missing.is_empty(),
        "defects not named:\n{}",
        missing.join("\n")
    );
    assert_eq!(DEFECTS.len(), 26);

    // docs/seed-defects.md's last column says the same.
    let doc = std::fs::read_to_string(root().join("docs/seed-defects.md")).unwrap();
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
    {
        let cells: Vec<&str> = line.split(" | ").collect();
        let n: u8 = cells[0].trim_start_matches("| ").parse().unwrap();
        let last = cells.last().unwrap();
        let mut documented: Vec<String> = last
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .filter(|w| {
                w.starts_with("KUMO-")
                    || (w.len() == 5
                        && w.starts_with('K')
                        && w[1..].bytes().all(|b| b.is_ascii_digit()))
            })
            .map(str::to_string)
            .collect();
        documented.sort();
        let mut want: Vec<String> = DEFECTS
            .iter()
            .find(|d| d.0 == n)
            .unwrap()
            .2
            .iter()
            .map(|c| c.to_string())
            .collect();
        want.sort();
        assert_eq!(documented, want, "docs/seed-defects.md, defect {n}");
    }
}

/// The imported seed deployment does not inherit the chart's 2025.03.19 trap: built (its lint
/// findings set aside), its policy passes `kumod --validate` on that release, in Lua 5.4
/// against the KumoMTA stub, which fails the chart's own setup ("missing field
/// `http_timeout`", `lua_harness.rs`).
#[test]
fn the_imported_seed_passes_validation_on_its_own_release() {
    let imported = import::import(&seed_input());
    let files = kumo_files(&imported);
    let mut lint = kumoc_compiler::lints::LintConfig::default();
    for r in kumoc_compiler::lints::RULES {
        lint.overrides.insert(r.code.to_string(), None);
    }
    let a = analyze(
        &files,
        &Options {
            lint,
            ..Options::default()
        },
    );
    let out = a.emit().unwrap_or_else(|| panic!("{}", human(&a)));
    let scratch = crate::hostile::Scratch::new("import-seed-validate");
    let policy = scratch.path().join("policy");
    let files_root = scratch.path().join("files");
    for (path, content) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            std::fs::create_dir_all(&policy).unwrap();
            std::fs::write(policy.join(name), content).unwrap();
        }
    }
    // Each key where kumoc mounts it (its Secret, one file per key), as dkim_data.toml says.
    let dkim = out.get("policy/dkim_data.toml").unwrap();
    let keys: Vec<&str> = dkim
        .lines()
        .filter_map(|l| l.strip_prefix("filename = \""))
        .filter_map(|l| l.split('"').next())
        .collect();
    assert_eq!(keys.len(), 3, "{dkim}");
    for path in keys {
        assert!(
            path.starts_with("/opt/kumomta/etc/dkim/dkim-keys"),
            "{path}"
        );
        let key = files_root.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(key.parent().unwrap()).unwrap();
        std::fs::write(
            key,
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
    }
    let init = out.get("policy/init.lua").unwrap();
    assert!(init.contains("http_timeout"), "{init}");
    let p =
        crate::lua_harness::Policy::load(&policy, &files_root, "init.lua", "2025.03.19-1d3f1f67")
            .unwrap();
    let v = p.call_validate().unwrap();
    assert!(!v.failed, "validation failed: {:?}", v.output);
}

/// Broken inputs: nothing is written, and the error says where.
#[test]
fn unreadable_policies_are_errors() {
    let file = |rel: &str, text: &str| InputFile {
        name: format!("broken/{rel}"),
        rel: rel.into(),
        bytes: text.as_bytes().to_vec(),
    };
    let cases: &[(&str, Vec<InputFile>, &str)] = &[
        (
            "lua syntax",
            vec![file("init.lua", "kumo.on('init', function()\n")],
            "K4001",
        ),
        (
            "missing data file",
            vec![file(
                "init.lua",
                "local sources = require 'policy-extras.sources'\nsources:setup { '/opt/kumomta/etc/policy/sources.toml' }\n",
            )],
            "K4002",
        ),
        (
            "bad toml",
            vec![
                file(
                    "init.lua",
                    "local sources = require 'policy-extras.sources'\nsources:setup { '/opt/kumomta/etc/policy/sources.toml' }\n",
                ),
                file("sources.toml", "[source.a\n"),
            ],
            "K4002",
        ),
        ("no init.lua", vec![file("other.lua", "")], "K4002"),
    ];
    for (what, files, code) in cases {
        let imported = import::import(&Input {
            policy_dir: files.clone(),
            policy: "init.lua".into(),
            ..Input::default()
        });
        assert!(imported.files.is_empty(), "{what}: files written");
        let errors: Vec<_> = imported
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        assert!(
            errors.iter().any(|d| d.code == *code && d.help.is_some()),
            "{what}: {}",
            render::human(&imported.diagnostics, &imported.sources, false)
        );
    }
}

/// Every `K4xxx` code is produced by some import in these tests.
#[test]
fn every_import_code_is_produced() {
    let mut seen: Vec<&str> = codes(&import::import(&seed_input()).diagnostics);
    let lua = |text: &str| Input {
        policy_dir: vec![InputFile {
            name: "x/init.lua".into(),
            rel: "init.lua".into(),
            bytes: text.as_bytes().to_vec(),
        }],
        policy: "init.lua".into(),
        ..Input::default()
    };
    seen.extend(codes(&import::import(&lua("x(")).diagnostics));
    seen.extend(codes(&import::import(&lua("")).diagnostics));
    seen.extend(codes(
        &import::import(&Input {
            policy: "none.lua".into(),
            ..lua("")
        })
        .diagnostics,
    ));
    let missing: Vec<&str> = kumoc_compiler::codes::CODES
        .iter()
        .filter(|c| c.phase == kumoc_compiler::codes::Phase::Import)
        .map(|c| c.code)
        .filter(|c| !seen.contains(c))
        .collect();
    assert!(missing.is_empty(), "no import test produces {missing:?}");
}

/// A hand-written policy in the upstream documentation's style: JSON data, several queue
/// files, a loop, the environment, shaping over the bundled presets (a domain block that
/// carries Google's settings becomes `from provider.google`), a key kumoc does not know
/// (written, so the check names it).
#[test]
fn a_hand_written_policy_imports() {
    let dir = root().join("tests/fixtures/import/handwritten");
    let imported = import::import(&Input {
        policy_dir: read_dir(&dir, "handwritten"),
        policy: "init.lua".into(),
        env: vec![("REDIS_PASSWORD".into(), "not-in-the-output".into())],
        name: Some("mail".into()),
        namespace: Some("mail".into()),
        kumomta: Some("2025.05.06-b29689af".into()),
        ..Input::default()
    });
    assert!(!imported.has_errors());
    let mut shown = String::new();
    for (name, text) in &imported.files {
        assert!(
            !text.contains("not-in-the-output"),
            "a secret value was written"
        );
        shown.push_str(&format!("===== {name}\n{text}"));
    }
    let rendered = render::human(&imported.diagnostics, &imported.sources, false);
    assert!(
        !rendered.contains("not-in-the-output"),
        "a secret value was shown"
    );
    let check = analyze(&kumo_files(&imported), &Options::default());
    shown.push_str(&format!(
        "\n----- IMPORT DIAGNOSTICS\n{rendered}\n----- kumoc check\n{}",
        human(&check)
    ));
    insta::assert_snapshot!("import_handwritten", shown);
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

fn policy_files(out: &emit::Output) -> BTreeMap<String, String> {
    out.files
        .iter()
        .filter(|(k, _)| k.starts_with("policy/"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn first_difference(want: &BTreeMap<String, String>, got: &BTreeMap<String, String>) -> String {
    for (k, w) in want {
        match got.get(k) {
            None => return format!("{k}: missing from the import's build"),
            Some(g) if g != w => {
                for (i, (a, b)) in w.lines().zip(g.lines()).enumerate() {
                    if a != b {
                        return format!("{k}:{}:\n  want: {a}\n  got:  {b}", i + 1);
                    }
                }
                return format!(
                    "{k}: {} lines wanted, {} got",
                    w.lines().count(),
                    g.lines().count()
                );
            }
            Some(_) => {}
        }
    }
    match got.keys().find(|k| !want.contains_key(*k)) {
        Some(k) => format!("{k}: only in the import's build"),
        None => "no difference".into(),
    }
}

/// `import(build(D))` and what it builds, or why the round trip fails.
fn round_trip(
    label: &str,
    files: &[(String, Vec<u8>)],
    env: Option<Environment>,
) -> Result<BTreeMap<String, String>, String> {
    let a = analyze(
        files,
        &Options {
            env,
            ..Options::default()
        },
    );
    let built = a.emit().ok_or_else(|| format!("{label}: does not build"))?;
    let want = policy_files(&emit::emit_canonical(
        a.checked_model().ok_or("no canonical output")?,
        &a.places(),
    ));
    let model = a.model.as_ref().ok_or("no model")?;
    let dir: Vec<InputFile> = built
        .files
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("policy/").map(|rel| InputFile {
                name: format!("{label}/{k}"),
                rel: rel.to_string(),
                bytes: v.clone().into_bytes(),
            })
        })
        .collect();
    let sink = dir.iter().find(|f| f.rel == "sink.lua").cloned();
    let tsa = dir
        .iter()
        .any(|f| f.rel == "tsa_init.lua")
        .then(|| "tsa_init.lua".to_string());
    let imported = import::import(&Input {
        policy_dir: dir,
        policy: "init.lua".into(),
        tsa_policy: tsa,
        sink,
        kumomta: Some(model.version.value.to_string()),
        environment: Some(model.environment.value),
        ..Input::default()
    });
    let loud: Vec<_> = imported
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .cloned()
        .collect();
    if !loud.is_empty() || imported.files.is_empty() {
        return Err(format!(
            "{label}: the import of kumoc's own policy reports:\n{}",
            render::human(&loud, &imported.sources, false)
        ));
    }
    let files2 = kumo_files(&imported);
    let b = analyze(&files2, &Options::default());
    let shown = || {
        files2
            .iter()
            .map(|(n, t)| format!("===== {n}\n{}", String::from_utf8_lossy(t)))
            .collect::<String>()
    };
    // Errors: none, except lint findings `D` has too but suppresses (a suppression is a
    // comment, which a policy does not carry).
    let unsuppressed: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                String::from_utf8_lossy(t)
                    .replace("kumoc-allow", "kumoc-allowed")
                    .into_bytes(),
            )
        })
        .collect();
    let d_findings = codes(
        &analyze(
            &unsuppressed,
            &Options {
                env,
                ..Options::default()
            },
        )
        .diagnostics,
    );
    let compile: Vec<_> = b
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error && !d_findings.contains(&d.code))
        .cloned()
        .collect();
    if !compile.is_empty() {
        return Err(format!(
            "{label}: the imported deployment does not check:\n{}\n{}",
            render::human(&compile, &b.sources, false),
            shown()
        ));
    }
    // Built with `D`'s suppressed findings allowed, as `D` was.
    let mut lint = kumoc_compiler::lints::LintConfig::default();
    for c in &d_findings {
        if c.starts_with("KUMO-") {
            lint.overrides.insert((*c).to_string(), None);
        }
    }
    let b = analyze(
        &files2,
        &Options {
            lint,
            ..Options::default()
        },
    );
    let got = policy_files(&emit::emit_canonical(
        b.checked_model()
            .ok_or_else(|| format!("{label}: the import does not build:\n{}", human(&b)))?,
        &b.places(),
    ));
    if got != want {
        return Err(format!(
            "{label}: the import builds another policy: {}\n{}",
            first_difference(&want, &got),
            shown()
        ));
    }
    Ok(imported.files)
}

#[test]
fn the_example_round_trips_in_both_environments() {
    let files = crate::support::fixture_files(&root().join("examples/example-com"));
    for env in [None, Some(Environment::Production)] {
        let imported = round_trip(&format!("example-com ({env:?})"), &files, env).unwrap();
        if env.is_none() {
            // What the example's own build reads back as (compare examples/example-com).
            let shown: String = imported
                .iter()
                .map(|(n, t)| format!("===== {n}\n{t}"))
                .collect();
            insta::assert_snapshot!("import_example_com_build", shown);
        }
    }
}

#[test]
fn every_buildable_deployment_round_trips() {
    let mut failures = Vec::new();
    let all = crate::determinism::buildable();
    for (label, files, env) in &all {
        if let Err(e) = round_trip(label, files, *env) {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} fail:\n\n{}",
        failures.len(),
        all.len(),
        failures
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// Deployments from `property.rs`'s generator (hostile names and boundary values included):
/// each that builds round-trips. `KUMOC_IMPORT_ITERATIONS` runs more cases.
#[test]
fn generated_deployments_round_trip() {
    let n: u64 = std::env::var("KUMOC_IMPORT_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(150);
    let seed = std::env::var("KUMOC_PROPERTY_SEED")
        .ok()
        .and_then(|v| u64::from_str_radix(v.trim_start_matches("0x"), 16).ok())
        .unwrap_or(crate::property::DEFAULT_SEED);
    let mut built = 0;
    let mut failures = Vec::new();
    for i in 0..n {
        // `kumoc import` does not import log hooks (K4004): the webhooks are left out.
        let case = crate::property::generate(seed, i).without_webhooks();
        let files = case.texts();
        let a = analyze(
            &files,
            &Options {
                env: case.env,
                ..Options::default()
            },
        );
        if a.has_errors() {
            continue;
        }
        built += 1;
        if let Err(e) = round_trip(&format!("case {i}"), &files, case.env) {
            failures.push(e);
        }
    }
    assert!(built * 3 >= n as usize, "only {built} of {n} cases build");
    assert!(
        failures.is_empty(),
        "{} of {built} generated deployments fail (seed {seed:#x}; replay one with KUMOC_PROPERTY_CASE in property.rs):\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(3)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

fn kumoc() -> std::process::Command {
    let mut c = std::process::Command::new(insta_cmd::get_cargo_bin("kumoc"));
    c.env("NO_COLOR", "1").env_remove("CLICOLOR_FORCE");
    c
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            copy_dir(&p, &to.join(p.file_name().unwrap()));
        } else {
            std::fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
        }
    }
}

/// `kumoc import` writes NEWDIR under `build -o`'s rules: only a directory it wrote (an
/// import of the same deployment) is replaced, never one holding an input, never a build
/// output (nor does `build` replace an import).
#[test]
fn the_command_imports_the_seed_chart_and_owns_its_output() {
    let scratch = crate::hostile::Scratch::new("import-cli");
    let chart = scratch.path().join("chart");
    copy_dir(&root().join("tests/fixtures/import/seed-chart"), &chart);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let out = scratch.path().join("imported");
    let import = |to: &Path| {
        kumoc()
            .args(["import", &s(&chart.join("kumo-configs")), "--sink"])
            .arg(chart.join("sink-configs"))
            .arg("--helm-values")
            .arg(chart.join("values.yaml"))
            .arg("-o")
            .arg(to)
            .output()
            .unwrap()
    };
    let o = import(&out);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning[K4008]") && stderr.contains("import: 0 errors"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("wrote 4 files to "));
    let marker = std::fs::read_to_string(out.join(".kumoc-output")).unwrap();
    assert!(marker.contains("kind = \"import\"") && marker.contains("deployment = \"kumomta\""));
    // What the library imports, byte for byte.
    let lib = import::import(&seed_input());
    for (name, text) in &lib.files {
        assert_eq!(
            &std::fs::read_to_string(out.join(name)).unwrap(),
            text,
            "{name}"
        );
    }
    // Its own output is replaced; `kumoc check` on it names the defects (exit 1: errors).
    assert_eq!(import(&out).status.code(), Some(0));
    let check = kumoc().arg("check").arg(&out).output().unwrap();
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("KUMO-SEC001"));

    // Refused, nothing touched: an input's directory, a directory kumoc did not write, a
    // build output; and `build` refuses an import.
    let other = scratch.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("keep.txt"), "mine").unwrap();
    let built = scratch.path().join("built");
    let b = kumoc()
        .arg("build")
        .arg(root().join("examples/example-com"))
        .arg("-o")
        .arg(&built)
        .output()
        .unwrap();
    assert_eq!(b.status.code(), Some(0));
    for (to, why) in [
        (chart.join("kumo-configs"), "holds the input"),
        (chart.clone(), "holds the input"),
        (other.clone(), "kumoc did not write it"),
        (built.clone(), "`kumoc build`"),
    ] {
        let o = import(&to);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", to.display());
        assert!(stderr.contains(why), "{}: {stderr}", to.display());
    }
    assert_eq!(
        std::fs::read_to_string(other.join("keep.txt")).unwrap(),
        "mine"
    );
    let b = kumoc()
        .arg("build")
        .arg(root().join("examples/example-com"))
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(b.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&b.stderr).contains("`kumoc import`"));

    // JSON diagnostics on stdout; a broken policy writes nothing (exit 1).
    let j = kumoc()
        .args(["import", "--json", &s(&chart.join("kumo-configs"))])
        .arg("-o")
        .arg(scratch.path().join("json"))
        .output()
        .unwrap();
    let diags: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert!(
        diags
            .as_array()
            .is_some_and(|a| a.iter().any(|d| d["code"] == "K4012"))
    );
    std::fs::write(
        chart.join("kumo-configs/init.lua"),
        "kumo.on('init', function()\n",
    )
    .unwrap();
    let broken = scratch.path().join("broken");
    let o = import(&broken);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("K4001"));
    assert!(!broken.exists());
}

/// Nothing panics on any input: the seed's and the hand-written policy's files, each cut,
/// spliced and sprinkled with Lua and TOML metacharacters, imported again and again.
#[test]
fn mutated_policies_never_panic() {
    let mut rng = crate::property::Rng::new(0x1b0_7e57);
    let pieces = [
        "(",
        ")",
        "{",
        "}",
        "[[",
        "]]",
        "--[==[",
        "'",
        "\"",
        "\\",
        "..",
        "=",
        ",",
        "\n",
        "os.getenv(",
        "kumo.on(",
        "function",
        "end",
        "[",
        "]",
        "\"\"\"",
        "'''",
        "#",
        "local",
        "\u{e9}",
        "\\u{",
        "0x",
        "[source.",
        "[[default.automation]]",
        "= {",
        "nil",
        ":",
        "::",
    ];
    let bases = [seed_input(), {
        let dir = root().join("tests/fixtures/import/handwritten");
        Input {
            policy_dir: read_dir(&dir, "handwritten"),
            policy: "init.lua".into(),
            ..Input::default()
        }
    }];
    for i in 0..300 {
        let mut input = bases[i % 2].clone();
        let n = input.policy_dir.len();
        for _ in 0..1 + rng.below(3) {
            let f = &mut input.policy_dir[rng.below(n)];
            let len = f.bytes.len();
            let at = rng.below(len + 1);
            match rng.below(4) {
                0 => f.bytes.truncate(at),
                1 => {
                    let end = (at + rng.below(200)).min(len);
                    f.bytes.drain(at..end);
                }
                2 => {
                    let p = rng.pick(&pieces);
                    f.bytes.splice(at..at, p.bytes());
                }
                _ => {
                    let end = (at + rng.below(300)).min(len);
                    let dup = f.bytes[at..end].to_vec();
                    f.bytes.splice(at..at, dup);
                }
            }
        }
        let result = std::panic::catch_unwind(|| import::import(&input));
        let imported = result.unwrap_or_else(|_| panic!("case {i} panicked"));
        for d in &imported.diagnostics {
            assert!(
                d.help.is_some() && d.labels.iter().any(|l| l.primary),
                "case {i}: {}",
                d.message
            );
        }
        // What is written is formatted .kumo that parses.
        for (name, text) in &imported.files {
            assert!(
                kumoc_lang::parse(text).errors.is_empty(),
                "case {i}: {name}"
            );
        }
    }
}
