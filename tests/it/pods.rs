//! Every pod starts as the manifests run it (issue 11 §5): for every workload kumoc emits,
//! each path its process writes (`names::Workload::writes`, read from KumoMTA's source) lies
//! on a writable volume of its container, never on the read-only root, and the environment
//! that points the process there is set. The paths the emitted policy itself configures
//! (spools, logs, the TSA database, ...), read by running it in Lua 5.4 against the stub, are
//! all in that table, so the table cannot fall behind the policy.
//!
//! Checked on the example (staging and production) and on generated deployments covering
//! every combination of TSA (none, one, three replicas), sink, environment, metrics, Redis
//! and resource settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kumoc_compiler::names::Workload;
use kumoc_compiler::{Environment, Options};
use serde_json::{Value, json};

use crate::build::build_example;
use crate::lua_harness::Policy;
use crate::support::human;

/// The workload of a manifest, by its component label; `None` for objects without pods.
fn workload(obj: &Value) -> Option<Workload> {
    if obj["kind"] != "StatefulSet" && obj["kind"] != "Deployment" {
        return None;
    }
    let component = obj["metadata"]["labels"]["app.kubernetes.io/component"].as_str();
    Workload::ALL
        .into_iter()
        .find(|w| Some(w.component()) == component)
}

/// What is wrong with how `obj` (a StatefulSet or Deployment of workload `w`) runs its
/// process, against `w.writes()`. Empty when every write lands on a writable volume.
fn write_problems(w: Workload, obj: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let pod = &obj["spec"]["template"]["spec"];
    // Volumes by name: a writable kind (emptyDir, a claim template) or not.
    let mut writable_volume: BTreeMap<&str, bool> = BTreeMap::new();
    for v in pod["volumes"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or_default();
        writable_volume.insert(name, v.get("emptyDir").is_some());
    }
    for claim in obj["spec"]["volumeClaimTemplates"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = claim["metadata"]["name"].as_str().unwrap_or_default();
        let rw = claim["spec"]["accessModes"]
            .as_array()
            .is_some_and(|m| m.iter().any(|a| a == "ReadWriteOnce"));
        writable_volume.insert(name, rw);
    }
    // The process runs as a group that owns the writable volumes (fsGroup).
    let sc = &pod["securityContext"];
    if sc["fsGroup"].is_null() || sc["fsGroup"] != sc["runAsGroup"] {
        problems.push(format!(
            "fsGroup {} is not the process's group {}: the volumes are not its own",
            sc["fsGroup"], sc["runAsGroup"]
        ));
    }
    let containers = pod["containers"].as_array().cloned().unwrap_or_default();
    if containers.len() != 1 {
        problems.push(format!("{} containers, expected 1", containers.len()));
    }
    for c in &containers {
        if c["securityContext"]["readOnlyRootFilesystem"] != true {
            problems.push("the root filesystem is not read-only (the test assumes it)".into());
        }
        let env: Vec<(&str, &str)> = c["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["name"].as_str().unwrap_or_default(),
                    e["value"].as_str().unwrap_or_default(),
                )
            })
            .collect();
        let mounts: Vec<(&str, &str, bool)> = c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["mountPath"].as_str().unwrap_or_default(),
                    m["name"].as_str().unwrap_or_default(),
                    m["readOnly"] == true,
                )
            })
            .collect();
        for write in w.writes() {
            // The deepest mount containing the path decides where it lands.
            let on = mounts
                .iter()
                .filter(|(mp, _, _)| {
                    write.path == *mp
                        || write
                            .path
                            .starts_with(&format!("{}/", mp.trim_end_matches('/')))
                })
                .max_by_key(|(mp, _, _)| mp.len());
            match on {
                None => problems.push(format!(
                    "{} ({}) is on the read-only root filesystem",
                    write.path, write.what
                )),
                Some((mp, vol, true)) => problems.push(format!(
                    "{} is on volume `{vol}` mounted read-only at {mp}",
                    write.path
                )),
                Some((mp, vol, false)) => {
                    if writable_volume.get(vol) != Some(&true) {
                        problems.push(format!(
                            "{} is on volume `{vol}` ({mp}), which is not an emptyDir or a ReadWriteOnce claim",
                            write.path
                        ));
                    }
                }
            }
            if let Some(var) = write.env {
                let set: Vec<&str> = env
                    .iter()
                    .filter(|(n, _)| *n == var)
                    .map(|(_, v)| *v)
                    .collect();
                if set != [write.path] {
                    problems.push(format!(
                        "{var} is {set:?}, expected {:?}: the process would write {} elsewhere",
                        write.path, write.what
                    ));
                }
            }
        }
    }
    problems
}

/// The paths a policy configures for its process to write, read from the calls it makes
/// when its start-up event runs.
fn policy_paths(p: &Policy, w: Workload) -> Vec<String> {
    let event = if w == Workload::Tsa {
        "tsa_init"
    } else {
        "init"
    };
    p.clear_calls();
    p.fire(event, vec![])
        .unwrap_or_else(|e| panic!("{w:?}: {event} fails: {e}"));
    let mut paths = Vec::new();
    for (name, args) in p.calls() {
        let arg = args.first().cloned().unwrap_or(Value::Null);
        match name.as_str() {
            "kumo.define_spool" => paths.push(arg["path"].clone()),
            "kumo.configure_local_logs" => {
                paths.push(arg["log_dir"].clone());
                for (_, r) in arg["per_record"].as_object().into_iter().flatten() {
                    paths.push(r["log_dir"].clone());
                }
            }
            "tsa.configure_tsa_db_path" | "kumo.configure_accounting_db_path" => paths.push(arg),
            _ => {}
        }
    }
    paths
        .into_iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

/// A scratch directory with the build's policy files and the files its Secrets mount.
pub(crate) struct Pod {
    root: PathBuf,
}

impl Pod {
    pub(crate) fn new(out: &kumoc_compiler::emit::Output, tag: &str) -> Self {
        let root = std::env::temp_dir().join(format!("kumoc-pods-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, content) in &out.files {
            if let Some(name) = path.strip_prefix("policy/") {
                write(&root.join("policy").join(name), content);
            }
        }
        // Every file a Secret volume puts in the MTA pod, so `init` can read it.
        for (file, text) in &out.files {
            if !file.ends_with(".yaml") || !file.starts_with("k8s/statefulset-mta") {
                continue;
            }
            let obj: Value = serde_norway::from_str(text).unwrap();
            let pod = &obj["spec"]["template"]["spec"];
            let c = &pod["containers"][0];
            for v in pod["volumes"].as_array().into_iter().flatten() {
                let Some(mount) = c["volumeMounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|m| m["name"] == v["name"])
                else {
                    continue;
                };
                let at = mount["mountPath"].as_str().unwrap().trim_start_matches('/');
                for src in v["projected"]["sources"].as_array().into_iter().flatten() {
                    for item in src["secret"]["items"].as_array().into_iter().flatten() {
                        let rel = item["path"].as_str().unwrap();
                        write(&root.join("files").join(at).join(rel), "secret\n");
                    }
                }
            }
        }
        Self { root }
    }

    pub(crate) fn load(&self, w: Workload, version: &str) -> Policy {
        Policy::load(
            &self.root.join("policy"),
            &self.root.join("files"),
            w.policy(),
            version,
        )
        .unwrap_or_else(|e| panic!("{} does not load: {e}", w.policy()))
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

/// Check one build: every workload against the table, and the table against the policy.
/// Returns the workloads seen.
fn check_build(out: &kumoc_compiler::emit::Output, version: &str, tag: &str) -> Vec<Workload> {
    let pod = Pod::new(out, tag);
    let mut seen = Vec::new();
    for (file, text) in &out.files {
        if !file.starts_with("k8s/") || !file.ends_with(".yaml") {
            continue;
        }
        let obj: Value = serde_norway::from_str(text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let Some(w) = workload(&obj) else { continue };
        seen.push(w);
        let problems = write_problems(w, &obj);
        assert!(
            problems.is_empty(),
            "{tag}: {file} ({w:?}):\n{}",
            problems.join("\n")
        );
        // The policy writes only where the table says.
        let policy = pod.load(w, version);
        let paths = policy_paths(&policy, w);
        assert!(
            !paths.is_empty(),
            "{tag}: {w:?}: the policy configures no path?"
        );
        for p in paths {
            assert!(
                w.writes()
                    .iter()
                    .any(|t| p == t.path || p.starts_with(&format!("{}/", t.path))),
                "{tag}: {} writes {p}, which {w:?}'s table (names::Workload::writes) does not list",
                w.policy()
            );
        }
    }
    seen.sort();
    seen
}

const VERSION: &str = "2025.03.19-1d3f1f67";

#[test]
fn example_workloads_write_only_to_writable_volumes() {
    let staging = build_example(None);
    assert_eq!(
        check_build(&staging, VERSION, "staging"),
        [Workload::Mta, Workload::Tsa, Workload::Sink]
    );
    let production = build_example(Some(Environment::Production));
    assert_eq!(
        check_build(&production, VERSION, "production"),
        [Workload::Mta, Workload::Tsa]
    );
}

/// A deployment built from one choice per dimension.
fn generated(
    tsa: usize,
    sink: bool,
    production: bool,
    metrics: bool,
    redis: bool,
    resources: usize,
) -> String {
    let env = if production { "production" } else { "staging" };
    let mut text = format!(
        "deployment \"gen\" {{\n  namespace = \"mail\"\n  kumomta = \"{VERSION}\"\n  environment = {env}\n}}\n\
         pool main {{\n  source main-00 {{\n    ehlo_domain = \"mta.example.com\"\n  }}\n}}\n\
         queue default {{\n  egress_pool = main\n}}\n\
         smtp_listener {{\n  relay_hosts = [10.244.0.0/16]\n}}\n"
    );
    if redis {
        text.push_str("secret \"redis\" {\n  keys = [\"password\"]\n}\n");
    }
    let res = match resources {
        0 => "",
        1 => "resources {\n requests {\n cpu = 250m\n memory = 64Mi\n }\n }\n",
        _ => "resources {\n limits {\n cpu = 1\n memory = 512Mi\n }\n }\n",
    };
    text.push_str(
        "cluster {\n  pod_cidr = 10.244.0.0/16\n  mta {\n    replicas = 2\n    spool = 30Gi\n  }\n",
    );
    match tsa {
        0 => {}
        1 => text.push_str(&format!("  tsa {{\n    replicas = 1\n{res}  }}\n")),
        _ => text.push_str(&format!(
            "  tsa {{\n    replicas = 3\n    storage = 2Gi\n{res}  }}\n"
        )),
    }
    text.push_str(&format!("  sink {{\n    enabled = {sink}\n{res}  }}\n"));
    if redis {
        text.push_str("  redis {\n    url = \"rediss://redis.mail.svc.cluster.local:6379\"\n    password = secret(\"redis\", \"password\")\n  }\n");
    }
    if metrics {
        text.push_str("  metrics {\n    scraper_cidrs = [10.244.7.0/24]\n  }\n");
    } else {
        text.push_str("  metrics {\n    enabled = false\n  }\n");
    }
    text.push_str("}\n");
    text
}

#[test]
fn generated_workloads_write_only_to_writable_volumes() {
    let mut builds = 0;
    let mut seen = std::collections::BTreeSet::new();
    for tsa in 0..3 {
        for sink in [false, true] {
            for production in [false, true] {
                for (metrics, redis) in [(false, false), (true, true), (true, false)] {
                    // The sink in production is an error (KUMO-OPS001): nothing is built.
                    if sink && production {
                        continue;
                    }
                    let resources = (tsa + usize::from(sink) + builds) % 3;
                    let text = generated(tsa, sink, production, metrics, redis, resources);
                    let a = kumoc_compiler::analyze(
                        &[("gen.kumo".to_string(), text.into_bytes())],
                        &Options::default(),
                    );
                    assert!(!a.has_errors(), "{}", human(&a));
                    let out = a.emit().unwrap();
                    let tag = format!("gen{builds}");
                    let ws = check_build(&out, VERSION, &tag);
                    assert_eq!(ws.contains(&Workload::Tsa), tsa > 0, "{tag}");
                    assert_eq!(ws.contains(&Workload::Sink), sink, "{tag}");
                    seen.extend(ws);
                    builds += 1;
                }
            }
        }
    }
    assert_eq!(builds, 27);
    assert_eq!(
        seen.len(),
        Workload::ALL.len(),
        "every workload was checked"
    );
}

fn container(o: &mut Value) -> &mut Value {
    &mut o["spec"]["template"]["spec"]["containers"][0]
}

/// The check fails on each way a pod can go wrong: a missing variable, a read-only mount,
/// a path left on the root filesystem, a Secret volume where a write goes.
#[test]
fn the_write_check_can_fail() {
    let out = build_example(None);
    let sink: Value = serde_norway::from_str(out.get("k8s/deployment-sink.yaml").unwrap()).unwrap();
    assert!(write_problems(Workload::Sink, &sink).is_empty());

    // The sink before this fix: no KUMO_NODE_ID_PATH.
    let mut no_env = sink.clone();
    container(&mut no_env)["env"] = json!([{ "name": "TMPDIR", "value": "/tmp" }]);
    let p = write_problems(Workload::Sink, &no_env);
    assert!(p.iter().any(|p| p.contains("KUMO_NODE_ID_PATH")), "{p:?}");

    let mut read_only = sink.clone();
    for m in container(&mut read_only)["volumeMounts"]
        .as_array_mut()
        .unwrap()
    {
        if m["name"] == "logs" {
            m["readOnly"] = json!(true);
        }
    }
    let p = write_problems(Workload::Sink, &read_only);
    assert!(
        p.iter()
            .any(|p| p.contains("read-only at /var/log/kumomta")),
        "{p:?}"
    );

    let mut unmounted = sink.clone();
    container(&mut unmounted)["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["name"] != "tmp");
    let p = write_problems(Workload::Sink, &unmounted);
    assert!(
        p.iter()
            .any(|p| p.contains("/tmp") && p.contains("root filesystem")),
        "{p:?}"
    );

    let mut secret = sink.clone();
    for v in secret["spec"]["template"]["spec"]["volumes"]
        .as_array_mut()
        .unwrap()
    {
        if v["name"] == "spool" {
            *v = json!({ "name": "spool", "secret": { "secretName": "x" } });
        }
    }
    let p = write_problems(Workload::Sink, &secret);
    assert!(p.iter().any(|p| p.contains("not an emptyDir")), "{p:?}");

    let mut group = sink;
    group["spec"]["template"]["spec"]["securityContext"]["fsGroup"] = json!(2000);
    assert!(!write_problems(Workload::Sink, &group).is_empty());
}

/// TSA and sink pods always carry resource requests (kumoc's defaults fill what the user left
/// out, never above a limit the user wrote); the MTA's come from `.kumo` (KUMO-K8S003).
#[test]
fn every_pod_requests_resources() {
    for (tsa_res, want_cpu, want_mem) in [
        (0, Some("100m"), Some("128Mi")),
        (1, Some("250m"), Some("64Mi")),
        // Limits only: Kubernetes copies them into the requests; kumoc adds none.
        (2, None, None),
    ] {
        let text = generated(1, true, false, false, false, tsa_res);
        let a = kumoc_compiler::analyze(
            &[("gen.kumo".to_string(), text.into_bytes())],
            &Options::default(),
        );
        let out = a.emit().unwrap();
        for (file, default_mem) in [
            ("k8s/statefulset-tsa.yaml", "128Mi"),
            ("k8s/deployment-sink.yaml", "256Mi"),
        ] {
            let obj: Value = serde_norway::from_str(out.get(file).unwrap()).unwrap();
            let r = &obj["spec"]["template"]["spec"]["containers"][0]["resources"];
            let mem = want_mem.map(|m| if m == "128Mi" { default_mem } else { m });
            assert_eq!(
                r["requests"]["cpu"].as_str(),
                want_cpu,
                "{file} {tsa_res}: {r}"
            );
            assert_eq!(
                r["requests"]["memory"].as_str(),
                mem,
                "{file} {tsa_res}: {r}"
            );
            if tsa_res == 2 {
                assert_eq!(r["limits"]["memory"], "512Mi");
            }
        }
        crate::k8s::validate_all(
            &out.files
                .iter()
                .filter(|(k, _)| k.starts_with("k8s/") && !k.ends_with("kustomization.yaml"))
                .map(|(k, v)| (k.clone(), serde_norway::from_str(v).unwrap()))
                .collect(),
        );
    }
}

/// `docs/pods.md`, generated from the table. `KUMOC_UPDATE_DOCS=1 cargo test --test it
/// pod_writes_doc` rewrites it; otherwise a stale page fails the test.
#[test]
fn pod_writes_doc_is_fresh() {
    let mut doc = String::from(
        "# Where the pods write\n\n\
         Generated from `Workload::writes` (`compiler/src/names.rs`) by \
         `KUMOC_UPDATE_DOCS=1 cargo test --test it pod_writes_doc`; read from KumoMTA's source \
         (`KumoCorp/kumomta` unless another project is named).\n\n\
         Every container kumoc emits runs with a read-only root filesystem, as uid and gid 999 \
         with fsGroup 999 and no capabilities. Each path below lies on a writable volume of its \
         container (an emptyDir, or the pod's ReadWriteOnce claim), and where the process \
         would write elsewhere by default, the variable in the second column is set to the \
         path. `tests/it/pods.rs` checks both on the example and on generated deployments, and \
         checks that every path the emitted policy configures is in this table.\n\n\
         Volumes: the MTA's spool is its per-pod claim `spool` and the TSA's its claim `data` \
         (both at `/var/spool/kumomta`); the sink's spool, and every pod's `/var/log/kumomta` \
         and `/tmp`, are emptyDirs. An emptyDir is created mode 0777; a claim's root gets \
         group 999, group-writable with the setgid bit (the kubelet applies fsGroup for the \
         volume drivers that support it). Files the process creates are 999:999 with its \
         umask; as `fsGroupChangePolicy` is `OnRootMismatch`, a volume is not re-chowned on \
         later starts, so the uid is a constant rather than a setting. Secret volumes are \
         0440 (group 999) and the policy ConfigMap 0644: readable, never written.\n",
    );
    for w in Workload::ALL {
        let process = if w == Workload::Tsa {
            "tsa-daemon"
        } else {
            "kumod"
        };
        doc.push_str(&format!(
            "\n## {} (`{process} --policy {}`)\n\n| path | set by | what | written by |\n|---|---|---|---|\n",
            match w {
                Workload::Mta => "MTA",
                Workload::Tsa => "TSA",
                Workload::Sink => "Sink",
            },
            w.policy()
        ));
        for write in w.writes() {
            doc.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                write.path,
                write
                    .env
                    .map_or("the policy, or the default".to_string(), |e| format!(
                        "`{e}`"
                    )),
                write.what.replace('|', "\\|"),
                write.source.replace('|', "\\|"),
            ));
        }
    }
    doc.push_str(
        "\nNot written, so not mounted: diagnostic logs go to stderr (no `--diag-log-dir`); the \
         self-signed listener certificate is made in memory \
         (`crates/kumo-server-common/src/tls_helpers.rs`); the policy-extras helpers only read \
         their data files, and TSA publishing queues its records in the spool; a jemalloc heap \
         profile is written to the working directory only when `MALLOC_CONF` enables profiling \
         (`crates/kumo-server-memory/src/lib.rs`), which kumoc does not.\n",
    );
    let path = crate::support::root().join("docs/pods.md");
    if std::env::var_os("KUMOC_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &doc).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap_or_default(),
        doc,
        "docs/pods.md is stale: run `KUMOC_UPDATE_DOCS=1 cargo test --test it pod_writes_doc`"
    );
}

/// kumod applies the diagnostic log filter in `init`; a filter tracing-subscriber rejects
/// fails `init`, and the pod never starts. tracing-subscriber splits the filter on `,` and
/// trims nothing, so `kumod=info, lua=info` fails on ` lua=info`: the checker refuses it
/// (K2015), and the stub, like kumod, rejects it if it gets through.
#[test]
fn a_log_filter_kumod_rejects_is_a_compile_error() {
    let mut files: Vec<(String, Vec<u8>)> =
        crate::support::fixture_files(&crate::support::root().join("examples/example-com"));
    for (name, bytes) in &mut files {
        if name.ends_with("deployment.kumo") {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let edited = text.replace(
                "filter = \"kumod=info\"",
                "filter = \"kumod=info, lua=warn\"",
            );
            assert_ne!(edited, text);
            *bytes = edited.into_bytes();
        }
    }
    let a = kumoc_compiler::analyze(&files, &Options::default());
    let errors: Vec<&str> = a
        .diagnostics
        .iter()
        .filter(|d| d.severity == kumoc_compiler::Severity::Error)
        .map(|d| d.code)
        .collect();
    assert_eq!(errors, ["K2015"], "{}", human(&a));
    // The stub rejects what tracing-subscriber rejects, and accepts what it accepts.
    let out = build_example(None);
    let pod = Pod::new(&out, "filter");
    let p = pod.load(Workload::Mta, VERSION);
    p.fire("init", vec![]).unwrap();
    for (filter, ok) in [
        ("kumod=info, lua=info", false),
        (" kumod=info", false),
        ("kumod = info", false),
        ("kumod=loud", false),
        ("kumod", true),
        ("kumod=", true),
        ("4", true),
        ("kumod=5,[smtp]=debug", true),
        ("kumod=info,,lua=warn,", true),
    ] {
        let r = p.eval(&format!(
            "return pcall(kumo.set_diagnostic_log_filter, '{filter}')"
        ));
        assert_eq!(r.unwrap()[0], json!(ok), "{filter:?}");
    }
}
