//! Hostile input (issue 7), through the real `kumoc` binary and the library.
//!
//! Structure: empty files, a 10 MB file, 10,000 levels of nesting, a 1 MB line, invalid
//! UTF-8, NUL bytes, CRLF and lone-CR line endings, a BOM, unterminated strings and comments
//! at the end of the file. Each either checks clean (and builds exactly like its plain
//! variant) or fails with exit status 1 and a coded error; nothing panics.
//!
//! Injection: every string the schema accepts (names, domains, selectors, headers, URLs,
//! secret names and keys, ...) is set, one at a time, to each hostile payload in the
//! example deployment. Each (field, payload) must either be rejected by `kumoc check` with a
//! coded error on the line of the value, or build so that the TOML, YAML and Lua consumers
//! read back exactly the string written and nothing else changed (see [`observe`]).
//!
//! When a string could not mean anything where it goes (a header name with a space, a
//! Secret name with `/`, a control character in an SMTP banner), the checker rejects it:
//! K2010 and K2015.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kumoc_compiler::{Analysis, Options, Severity, analyze};
use serde_json::{Value as Json, json};

use crate::lua_harness::{Arg, MessageSpec, Policy};
use crate::support::*;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A scratch directory under the system temp dir, removed on drop.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kumoc-hostile-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn kumoc(dir: &Path) -> Command {
    let mut c = Command::new(insta_cmd::get_cargo_bin("kumoc"));
    c.current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("CLICOLOR_FORCE");
    c
}

fn example_files() -> Vec<(String, Vec<u8>)> {
    fixture_files(&root().join("examples/example-com"))
        .into_iter()
        .map(|(name, bytes)| {
            let base = name.rsplit('/').next().unwrap().to_string();
            (base, bytes)
        })
        .collect()
}

fn write_dir(dir: &Path, files: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn assert_no_panic(what: &str, o: &Output) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.code().is_some_and(|c| c <= 2) && !stderr.contains("kumoc bug"),
        "{what}: kumoc crashed ({:?}): {stderr}",
        o.status
    );
}

/// `kumoc build DIR -o OUT` run in `cwd` (so provenance names are the same for every variant).
fn build_cli(cwd: &Path, dir: &str, out: &str) -> Output {
    let o = kumoc(cwd).args(["build", dir, "-o", out]).output().unwrap();
    assert_no_panic(&format!("build {dir}"), &o);
    o
}

// ---------------------------------------------------------------------------------------------
// Structure
// ---------------------------------------------------------------------------------------------

const MINIMAL: &str = "deployment \"t\" {\n  namespace   = \"n\"\n  kumomta     = \"2025.03.19-1d3f1f67\"\n  environment = staging\n}\n";

/// One malformed (or oddly formed) file and what `kumoc check` must say about it.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    /// `None`: checks clean (exit 0). `Some(code)`: exit 1 with this error code among the
    /// diagnostics (every error must have a code in any case).
    error: Option<&'static str>,
}

fn structural_cases() -> Vec<Case> {
    let ten_mb = {
        // A valid deployment padded to 10 MB: long comment lines, blank lines, block
        // comments and many small blocks, so the lexer, the parser and the checker all see it.
        let mut s = String::from(MINIMAL);
        let mut i = 0usize;
        while s.len() < 10 * 1024 * 1024 {
            match i % 4 {
                0 => s.push_str(&format!("// {}\n", "x".repeat(1000))),
                1 => s.push_str(&format!("/* {} */\n\n", "y".repeat(500))),
                2 => s.push_str(&format!(
                    "shaping \"d{i}.example.com\" {{ max_message_rate = 10/s }}\n"
                )),
                _ => s.push_str(&format!("# {}\n", "z".repeat(2000))),
            }
            i += 1;
        }
        s.into_bytes()
    };
    let deep_list = format!(
        "{MINIMAL}logging {{\n  headers = {}{}\n}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let deep_blocks = format!(
        "{MINIMAL}{}{}\n",
        "cluster {\n".repeat(10_000),
        "}\n".repeat(10_000)
    );
    let deep_unclosed = format!("{MINIMAL}x = {}\n", "f([".repeat(4_000));
    // Not nesting at all (`(` does not start a value): junk, skipped without recursion.
    let bracket_junk = format!("{MINIMAL}x = {}\n", "([{".repeat(4_000));
    let long_string = format!(
        "{MINIMAL}smtp_listener {{\n  banner = \"{}\"\n}}\n",
        "b".repeat(1024 * 1024)
    );
    let long_junk = format!("{MINIMAL}{}\n", "@!".repeat(512 * 1024));
    let long_value = format!(
        "{MINIMAL}logging {{\n  filter = {}\n}}\n",
        "q ".repeat(512 * 1024)
    );
    let mut invalid_utf8 = MINIMAL.as_bytes().to_vec();
    invalid_utf8.extend_from_slice(b"logging {\n  filter = \"kumod=\xff\xfeinfo\"\n}\n");
    let mut lone_surrogate = MINIMAL.as_bytes().to_vec();
    lone_surrogate.extend_from_slice(b"// \xed\xa0\x80 (an encoded surrogate)\n");
    let mut nul_in_string = MINIMAL.as_bytes().to_vec();
    nul_in_string.extend_from_slice(b"smtp_listener {\n  banner = \"a\0b\"\n}\n");
    let mut nul_outside = MINIMAL.as_bytes().to_vec();
    nul_outside.extend_from_slice(b"\0\0\0\nlogging {\0 filter = \"x\" }\n");
    let mut nul_in_comment = MINIMAL.as_bytes().to_vec();
    nul_in_comment.extend_from_slice(b"// a\0b\n/* \0 */\n");
    vec![
        Case {
            name: "empty",
            bytes: Vec::new(),
            error: Some("K1006"),
        },
        Case {
            name: "only_whitespace",
            bytes: b" \t\n\r\n\n".to_vec(),
            error: Some("K1006"),
        },
        Case {
            name: "only_comments",
            bytes: b"// nothing\n# here\n/* at all */\n".to_vec(),
            error: Some("K1006"),
        },
        Case {
            name: "only_bom",
            bytes: "\u{FEFF}".as_bytes().to_vec(),
            error: Some("K1006"),
        },
        Case {
            name: "bom_then_deployment",
            bytes: format!("\u{FEFF}{MINIMAL}").into_bytes(),
            error: None,
        },
        Case {
            name: "ten_megabytes",
            bytes: ten_mb,
            error: None,
        },
        Case {
            name: "nested_lists_10k",
            bytes: deep_list.into_bytes(),
            error: Some("K0009"),
        },
        Case {
            name: "nested_blocks_10k",
            bytes: deep_blocks.into_bytes(),
            error: Some("K0009"),
        },
        Case {
            name: "unclosed_brackets_12k",
            bytes: deep_unclosed.into_bytes(),
            error: Some("K0009"),
        },
        Case {
            name: "bracket_junk_12k",
            bytes: bracket_junk.into_bytes(),
            error: Some("K0004"),
        },
        Case {
            name: "one_megabyte_string_line",
            bytes: long_string.into_bytes(),
            error: None,
        },
        Case {
            name: "one_megabyte_junk_line",
            bytes: long_junk.into_bytes(),
            error: Some("K0001"),
        },
        Case {
            name: "one_megabyte_bad_value",
            bytes: long_value.into_bytes(),
            error: Some("K2001"),
        },
        Case {
            name: "invalid_utf8",
            bytes: invalid_utf8,
            error: Some("K0010"),
        },
        Case {
            name: "encoded_surrogate",
            bytes: lone_surrogate,
            error: Some("K0010"),
        },
        Case {
            name: "nul_in_string",
            bytes: nul_in_string,
            error: Some("K2015"),
        },
        Case {
            name: "nul_outside_strings",
            bytes: nul_outside,
            error: Some("K0001"),
        },
        Case {
            name: "nul_in_comment",
            bytes: nul_in_comment,
            error: None,
        },
        Case {
            name: "unterminated_string_at_eof",
            bytes: format!("{MINIMAL}logging {{ filter = \"kumod=info").into_bytes(),
            error: Some("K0005"),
        },
        Case {
            name: "unterminated_raw_string_at_eof",
            bytes: format!("{MINIMAL}logging {{ filter = 'kumod=info").into_bytes(),
            error: Some("K0005"),
        },
        Case {
            name: "unterminated_comment_at_eof",
            bytes: format!("{MINIMAL}/* the rest of the file").into_bytes(),
            error: Some("K0008"),
        },
        Case {
            name: "unterminated_escape_at_eof",
            bytes: format!("{MINIMAL}logging {{ filter = \"kumod\\").into_bytes(),
            error: Some("K0004"),
        },
        Case {
            name: "lone_cr_line_endings",
            bytes: MINIMAL.replace('\n', "\r").into_bytes(),
            error: Some("K0001"),
        },
        Case {
            name: "crlf_line_endings",
            bytes: MINIMAL.replace('\n', "\r\n").into_bytes(),
            error: None,
        },
    ]
}

#[test]
fn structural_hostile_files_are_coded_errors_or_clean() {
    let scratch = Scratch::new("structure");
    let mut failures = Vec::new();
    for case in structural_cases() {
        let file = format!("{}.kumo", case.name);
        std::fs::write(scratch.path().join(&file), &case.bytes).unwrap();
        let o = kumoc(scratch.path())
            .args(["check", &file, "--format", "json"])
            .output()
            .unwrap();
        assert_no_panic(case.name, &o);
        let diags: Vec<Json> = match serde_json::from_slice(&o.stdout) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{}: output is not JSON: {e}", case.name));
                continue;
            }
        };
        let errors: Vec<&Json> = diags.iter().filter(|d| d["severity"] == "error").collect();
        let codes: BTreeSet<&str> = errors.iter().filter_map(|d| d["code"].as_str()).collect();
        let uncoded = errors
            .iter()
            .any(|d| !d["code"].as_str().is_some_and(|c| c.starts_with('K')));
        let ok = match case.error {
            None => o.status.code() == Some(0) && errors.is_empty(),
            Some(code) => o.status.code() == Some(1) && codes.contains(code) && !uncoded,
        };
        if !ok {
            let shown: Vec<String> = diags
                .iter()
                .take(5)
                .map(|d| {
                    let msg: String = d["message"]
                        .as_str()
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect();
                    format!(
                        "{} {} {}:{} {msg}",
                        d["severity"], d["code"], d["line"], d["column"]
                    )
                })
                .collect();
            failures.push(format!(
                "{}: want {:?}, got exit {:?} with {} diagnostics: {shown:?}",
                case.name,
                case.error,
                o.status.code(),
                diags.len()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// CRLF line endings and a byte-order mark change nothing: the example built from CRLF and
/// BOM-prefixed files is byte-for-byte the build of the plain files. Lone CRs are refused
/// (line numbers, suppressions and editors count lines by LF), so nothing is written.
#[test]
fn line_endings_and_bom_build_identically() {
    let scratch = Scratch::new("endings");
    type Convert = fn(&[u8]) -> Vec<u8>;
    let variants: [(&str, Convert); 4] = [
        ("lf", |b| b.to_vec()),
        ("crlf", |b| {
            String::from_utf8_lossy(b)
                .replace('\n', "\r\n")
                .into_bytes()
        }),
        ("bom", |b| [&b"\xEF\xBB\xBF"[..], b].concat()),
        ("lone-cr", |b| {
            String::from_utf8_lossy(b).replace('\n', "\r").into_bytes()
        }),
    ];
    let mut trees = Vec::new();
    for (name, convert) in variants {
        let cwd = scratch.path().join(name);
        let files: Vec<(String, Vec<u8>)> = example_files()
            .into_iter()
            .map(|(n, b)| (n, convert(&b)))
            .collect();
        write_dir(&cwd.join("example-com"), &files);
        let o = build_cli(&cwd, "example-com", "out");
        let stderr = String::from_utf8_lossy(&o.stderr);
        if name == "lone-cr" {
            assert_eq!(o.status.code(), Some(1), "{stderr}");
            assert!(
                stderr.contains("error[K0001]: a carriage return"),
                "{stderr}"
            );
            assert!(!cwd.join("out").exists(), "nothing is written");
            continue;
        }
        assert_eq!(o.status.code(), Some(0), "{name}: {stderr}");
        trees.push((name, read_tree(&cwd.join("out"))));
    }
    let (_, lf) = &trees[0];
    assert!(lf.contains_key("policy/init.lua") && lf.len() > 10);
    for (name, tree) in &trees[1..] {
        let differ: Vec<&String> = lf
            .keys()
            .chain(tree.keys())
            .filter(|k| lf.get(*k) != tree.get(*k))
            .collect();
        assert!(
            differ.is_empty(),
            "{name}: these files differ from the LF build: {differ:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Injection
// ---------------------------------------------------------------------------------------------

/// The hostile strings, as the values they stand for (each is written into `.kumo` with the
/// language's own escapes, see [`kumo_literal`]).
fn payloads() -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> = [
        ("empty", ""),
        ("dquote", "\""),
        ("backslash", "\\"),
        ("newline", "a\nb"),
        ("cr", "a\rb"),
        ("crlf", "a\r\nb"),
        ("tab", "a\tb"),
        ("nul", "a\0b"),
        ("escape", "\u{1b}[31mred"),
        ("del", "a\u{7f}"),
        ("nel", "a\u{85}b"),
        ("line_separator", "a\u{2028}b"),
        ("bom", "\u{feff}a"),
        ("lua_long_close", "]]"),
        ("lua_long_close_eq", "]=]"),
        ("lua_long_comment", "--[["),
        ("squote", "'"),
        ("shell_expansion", "${x}"),
        ("template", "{{x}}"),
        ("hash", "#"),
        ("colon", ":"),
        ("yaml_list", "- "),
        ("yaml_anchor", "&a"),
        ("yaml_alias", "*a"),
        ("yaml_tag", "!!str"),
        ("percent", "%"),
        ("lua_pattern", "%s%d.-+*?^$"),
        ("at", "@"),
        ("backtick", "`"),
        ("pipe", "|"),
        ("gt", ">"),
        ("leading_space", " lead"),
        ("trailing_space", "trail "),
        ("only_space", " "),
        ("accent", "é"),
        ("rtl_override", "a\u{202e}b"),
        ("zero_width", "a\u{200b}b"),
        ("emoji", "📨"),
        ("lua_exec", "os.execute(\"x\")"),
        ("lua_break_out", "\")os.exit(1)--"),
        ("lua_break_out_sq", "')os.exit(1)--"),
        ("lua_break_out_long", "]]os.exit(1)--[["),
        ("toml_triple_sq", "'''"),
        ("toml_triple_dq", "\"\"\""),
        ("toml_table", "[table]"),
        ("toml_kv", "key = 1"),
        ("toml_break_out", "\"\nkey = 1\n#"),
        ("yaml_doc", "---\nkind: Secret"),
        ("yaml_break_out", "\"\n  injected: true\n#"),
        ("yaml_true", "true"),
        ("yaml_null", "null"),
        ("yaml_tilde", "~"),
        ("yaml_number", "1e3"),
        ("yaml_octal", "0o17"),
        ("yaml_yes", "yes"),
        ("html", "</script>"),
        ("path_traversal", "../../etc/passwd"),
        ("dots", ".."),
        ("slash", "a/b"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    p.push(("long_64k".into(), "a".repeat(64 * 1024)));
    p
}

/// A `.kumo` double-quoted string literal for any value.
pub(crate) fn kumo_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One place in the example deployment where a string goes.
struct Site {
    name: &'static str,
    /// `(file, anchor, replacement)`: `anchor` occurs exactly once in the file and is replaced;
    /// an empty anchor appends to the file (which may be new). `$V` in the replacement is the
    /// value, as a `.kumo` string literal.
    edits: &'static [(&'static str, &'static str, &'static str)],
    /// A valid value for the field that occurs nowhere else in the output: the baseline.
    marker: &'static str,
    /// Whether the value reaches the emitted files (`false`: only `kumoc build --secrets`
    /// reads it).
    emitted: bool,
}

const fn site(
    name: &'static str,
    marker: &'static str,
    edits: &'static [(&'static str, &'static str, &'static str)],
) -> Site {
    Site {
        name,
        edits,
        marker,
        emitted: true,
    }
}

const DEP: &str = "deployment.kumo";
const MAIL: &str = "mail.kumo";
const SECRETS: &str = "secrets.kumo";
const EXTRA: &str = "hostile.kumo";

const SHAPING_AT: &str = "  remember_broken_tls = 3d";
const TENANT_AT: &str = "tenant default-tenant {";
const EHLO_AT: &str = "    ehlo_domain = \"mta.example.com\"";

/// Every string-valued place of the schema: labels (names, domains), string fields, list
/// items, map keys, call arguments and references. `site(name, marker, edits)`.
#[rustfmt::skip]
static SITES: &[Site] = &[
    site("deployment label", "kumocmark", &[(DEP, "deployment \"example-com\"", "deployment $V")]),
    site("deployment.namespace", "kumocmark-ns", &[(DEP, "namespace   = \"kumomta\"", "namespace = $V")]),
    site("deployment.kumomta", "2025.03.19-1d3f1f67", &[(DEP, "kumomta     = \"2025.03.19-1d3f1f67\"", "kumomta = $V")]),
    site("deployment.image", "ghcr.io/kumocmark/kumomta", &[(DEP, "namespace   = \"kumomta\"", "namespace = \"kumomta\"\n  image = $V")]),
    site("cluster.mta.storage_class", "kumocmark-sc", &[(DEP, "    replicas                 = 3", "    replicas = 3\n    storage_class = $V")]),
    site("cluster.tsa.storage_class", "kumocmark-tsa-sc", &[(DEP, "    replicas = 2", "    replicas = 2\n    storage_class = $V")]),
    site("cluster.redis.url", "rediss://kumocmark.example.net:6379", &[(DEP, "url      = \"rediss://dragonfly.dragonflydb.svc.cluster.local:6379\"", "url = $V")]),
    site("cluster.redis.username", "kumocmark-user", &[(DEP, "    password = secret", "    username = $V\n    password = secret")]),
    site("cluster.redis.password secret name", "kumocmark-redis", &[(DEP, "secret(\"redis-auth\", ", "secret($V, "), (SECRETS, "secret \"redis-auth\" {", "secret $V {")]),
    site("cluster.redis.password secret key", "kumocmark-key", &[(DEP, "\"redis-auth\", \"password\")", "\"redis-auth\", $V)"), (SECRETS, "keys = [\"password\"]", "keys = [$V]")]),
    site("logging.filter", "kumocmark=info", &[(DEP, "filter = \"kumod=info\"", "filter = $V")]),
    site("logging.headers", "X-Kumocmark-Log", &[(DEP, "filter = \"kumod=info\"", "filter = \"kumod=info\"\n  headers = [$V]")]),
    site("domain label", "kumocmark.example", &[(MAIL, "domain \"example.com\" {", "domain $V {")]),
    site("domain.dkim.selector", "kumocmark-sel", &[(MAIL, "selector  = \"default\"", "selector = $V")]),
    site("domain.dkim.key secret name", "kumocmark-dkim", &[(MAIL, "secret(\"dkim-keys\", ", "secret($V, "), (SECRETS, "secret \"dkim-keys\" {", "secret $V {")]),
    site("domain.dkim.key secret key", "kumocmark.key", &[(MAIL, "\"example.com.default.key\")", "$V)"), (SECRETS, "[\"example.com.default.key\"]", "[$V]")]),
    site("dkim_defaults.selector", "kumocmark-base-sel", &[(MAIL, "  over_sign = true", "  over_sign = true\n  selector  = $V")]),
    site("dkim_defaults.headers", "X-Kumocmark-Signed", &[(MAIL, "\"Content-Type\"]", "$V]")]),
    site("pool label (and references)", "kumocmark-pool", &[(MAIL, "pool shared {", "pool $V {"), (MAIL, "  egress_pool = shared\n", "  egress_pool = $V\n"), (MAIL, "  egress_pool        = shared", "  egress_pool = $V")]),
    site("pool.source label", "kumocmark-src", &[(MAIL, "  source shared-00 {", "  source $V {")]),
    site("source.ehlo_domain", "kumocmark-ehlo.example.net", &[(MAIL, EHLO_AT, "    ehlo_domain = $V")]),
    site("source.ha_proxy_server", "192.0.2.77:5000", &[(MAIL, EHLO_AT, "    ehlo_domain = \"mta.example.com\"\n    ha_proxy_server = $V\n    ha_proxy_source_address = 192.0.2.1")]),
    site("source.socks5_proxy_server", "192.0.2.78:1080", &[(MAIL, EHLO_AT, "    ehlo_domain = \"mta.example.com\"\n    socks5_proxy_server = $V\n    socks5_proxy_source_address = 192.0.2.3")]),
    site("source.socks5_proxy_username", "kumocmark-socks-user", &[(MAIL, EHLO_AT, "    ehlo_domain = \"mta.example.com\"\n    socks5_proxy_server = \"192.0.2.2:1080\"\n    socks5_proxy_source_address = 192.0.2.3\n    socks5_proxy_username = $V")]),
    site("tenancy.tenant_header", "X-Kumocmark-Tenant", &[(MAIL, "tenant_header          = \"X-Tenant\"", "tenant_header = $V")]),
    site("tenancy.campaign_header", "X-Kumocmark-Campaign", &[(MAIL, "campaign_header        = \"X-Campaign\"", "campaign_header = $V")]),
    site("tenancy.scheduling_header", "X-Kumocmark-Schedule", &[(MAIL, "tenant_header          = \"X-Tenant\"", "tenant_header = \"X-Tenant\"\n  scheduling_header = $V")]),
    site("tenant label (and default_tenant)", "kumocmark-tenant", &[(MAIL, "default_tenant         = default-tenant", "default_tenant = $V"), (MAIL, TENANT_AT, "tenant $V {")]),
    site("tenant.require_authz", "kumocmark-authz", &[(MAIL, TENANT_AT, "tenant default-tenant {\n  // kumoc-allow(KUMO-QUE007): the value's round trip is what is tested\n  require_authz = [$V]")]),
    site("tenant.provider_name", "kumocmark-tenant-provider", &[(MAIL, TENANT_AT, "tenant default-tenant {\n  provider_name = $V")]),
    site("tenant.campaign label", "kumocmark-campaign", &[(MAIL, TENANT_AT, "tenant default-tenant {\n  campaign $V {\n    overall_max_message_rate = 10/s\n  }")]),
    site("queue.provider_name", "kumocmark-queue-provider", &[(MAIL, "  max_retry_interval = 4h", "  max_retry_interval = 4h\n  provider_name = $V")]),
    site("queue label", "kumocmark-q.example.net", &[(EXTRA, "", "queue $V {\n  max_age = 2h\n}\n")]),
    site("queue.routing_domain", "kumocmark-route.example.net", &[(EXTRA, "", "queue \"q.example.net\" {\n  routing_domain = $V\n}\n")]),
    site("queue.tenant label", "kumocmark-qtenant", &[(EXTRA, "", "tenant $V {}\nqueue \"q.example.net\" {\n  tenant $V {\n    max_age = 3h\n  }\n}\n")]),
    site("queue.tenant.campaign label", "kumocmark-qcampaign", &[(EXTRA, "", "queue \"q.example.net\" {\n  tenant default-tenant {\n    campaign $V {\n      max_age = 4h\n    }\n  }\n}\n")]),
    site("shaping.openssl_cipher_list", "kumocmark-ciphers", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  openssl_cipher_list = $V")]),
    site("shaping.openssl_cipher_suites", "kumocmark-suites", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  openssl_cipher_suites = $V")]),
    site("shaping.openssl_options", "kumocmark-options", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  openssl_options = $V")]),
    site("shaping.rustls_cipher_suites", "kumocmark-rustls", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  rustls_cipher_suites = [$V]")]),
    site("shaping.smtp_auth_plain_username", "kumocmark-auth-user", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  smtp_auth_plain_username = $V")]),
    site("shaping.provider_name", "kumocmark-shaping-provider", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  provider_name = $V")]),
    site("shaping.readyq_pool_name", "kumocmark-readyq", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  readyq_pool_name = $V")]),
    site("shaping.ehlo_domain", "kumocmark-shaping-ehlo.example.net", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  ehlo_domain = $V")]),
    site("pool.source label (and shaping.source)", "kumocmark-shaping-src", &[(MAIL, "  source shared-00 {", "  source $V {"), (MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  source $V {\n    max_message_rate = 5/s\n  }")]),
    site("shaping.additional_connection_limits key", "kumocmark-limit", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  additional_connection_limits {\n    $V = 10\n  }")]),
    site("shaping.additional_message_rate_throttles key", "kumocmark-throttle", &[(MAIL, SHAPING_AT, "  remember_broken_tls = 3d\n  additional_message_rate_throttles {\n    $V = 10/s\n  }")]),
    site("shaping label", "kumocmark-s", &[(EXTRA, "", "shaping $V {\n  max_message_rate = 10/s\n}\n")]),
    site("shaping.automation.regex", "kumocmark-regex", &[(EXTRA, "", "shaping \"auto.example.net\" {\n  automation {\n    regex    = $V\n    action   = suspend\n    duration = 1h\n  }\n}\n")]),
    site("shaping.automation set_config string", "kumocmark-set-config", &[(EXTRA, "", "shaping \"auto.example.net\" {\n  automation {\n    regex    = \"x\"\n    action   = set_config(provider_name = $V)\n    duration = 1h\n  }\n}\n")]),
    site("provider label", "kumocmark-provider", &[(EXTRA, "", "provider $V {\n  match = [domain_suffix(\".p.example.net\")]\n}\n")]),
    site("provider.match mx_suffix", ".kumocmark-mx.example.net", &[(EXTRA, "", "provider \"p1\" {\n  match = [mx_suffix($V)]\n}\n")]),
    site("provider.match domain_suffix", ".kumocmark-ds.example.net", &[(EXTRA, "", "provider \"p1\" {\n  match = [domain_suffix($V)]\n}\n")]),
    site("provider.match host_name", "kumocmark-hn.example.net", &[(EXTRA, "", "provider \"p1\" {\n  match = [host_name($V)]\n}\n")]),
    site("smtp_listener.hostname", "kumocmark-host.example.net", &[(MAIL, "hostname    = \"mta.example.com\"", "hostname = $V")]),
    site("smtp_listener.banner", "kumocmark banner", &[(MAIL, "hostname    = \"mta.example.com\"", "hostname = \"mta.example.com\"\n  banner = $V")]),
    site("http_listener.users secret name", "kumocmark-users", &[(MAIL, "secret(\"http-listener-keys\")", "secret($V)"), (SECRETS, "secret \"http-listener-keys\" {}", "secret $V {}")]),
    site("secret.keys (API user names)", "kumocmark-alice", &[(SECRETS, "secret \"http-listener-keys\" {}", "secret \"http-listener-keys\" {\n  keys = [$V]\n}")]),
    Site { emitted: false, ..site("secret.files key", "kumocmark-file-key", &[(SECRETS, "secret \"redis-auth\" {", "secret \"redis-auth\" {\n  files {\n    $V = \"redis.pass\"\n  }")]) },
    Site { emitted: false, ..site("secret.files path", "kumocmark/redis.pass", &[(SECRETS, "secret \"redis-auth\" {", "secret \"redis-auth\" {\n  files {\n    password = $V\n  }")]) },
];

/// Where the value was written: (file, 1-based line).
type Places = Vec<(String, usize)>;

/// The example with `value` at `site`, and the lines where it went.
fn with_value(site: &Site, value: &str) -> (Vec<(String, Vec<u8>)>, Places) {
    const HOLE: &str = "\u{1}HOLE\u{1}";
    let mut files: BTreeMap<String, String> = example_files()
        .into_iter()
        .map(|(n, b)| (n, String::from_utf8(b).unwrap()))
        .collect();
    for (file, anchor, replacement) in site.edits {
        let text = files.entry(file.to_string()).or_default();
        let replacement = replacement.replace("$V", HOLE);
        if anchor.is_empty() {
            text.push_str(&replacement);
        } else {
            assert_eq!(
                text.matches(anchor).count(),
                1,
                "{}: `{anchor}` must occur once in {file}",
                site.name
            );
            *text = text.replacen(anchor, &replacement, 1);
        }
    }
    let literal = kumo_literal(value);
    let mut places = Vec::new();
    let files = files
        .into_iter()
        .map(|(name, text)| {
            for (at, _) in text.match_indices(HOLE) {
                places.push((name.clone(), text[..at].matches('\n').count() + 1));
            }
            let text = text.replace(HOLE, &literal);
            (name, text.into_bytes())
        })
        .collect();
    (files, places)
}

/// What happened to one (site, value).
enum Outcome {
    /// Error diagnostics: (code, file, line) of each primary label.
    Rejected(Vec<(String, String, usize)>),
    /// Built: everything the consumers read back (see [`observe`]).
    Built(Box<Observed>),
}

fn run_case(
    files: &[(String, Vec<u8>)],
    scratch: &Path,
    baseline: Option<(&Observed, &str)>,
) -> Result<Outcome, String> {
    let analysis = analyze(files, &Options::default());
    if analysis.has_errors() {
        let errors = analysis
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| {
                let (file, line) = d.primary().map_or((String::new(), 0), |l| {
                    let f = analysis.sources.get(l.loc.file).unwrap();
                    (
                        analysis.sources.name(l.loc.file).to_string(),
                        f.line_col(l.loc.span.start).0,
                    )
                });
                (d.code.to_string(), file, line)
            })
            .collect();
        return Ok(Outcome::Rejected(errors));
    }
    observe(&analysis, scratch, baseline).map(|o| Outcome::Built(Box::new(o)))
}

/// What a build looked like to its consumers, and the policy texts it came from.
pub(crate) struct Observed {
    pub(crate) tree: Json,
    texts: BTreeMap<String, String>,
}

/// The policy files each Lua policy reads (itself and the helper data it loads).
fn lua_inputs(file: &str) -> &'static [&'static str] {
    match file {
        "init.lua" => &[
            "policy/init.lua",
            "policy/sources.toml",
            "policy/dkim_data.toml",
            "policy/queues.toml",
            "policy/shaping.toml",
        ],
        "tsa_init.lua" => &["policy/tsa_init.lua", "policy/shaping.toml"],
        _ => &["policy/sink.lua"],
    }
}

/// Everything the consumers of a build read back, as one JSON tree: each TOML file as the
/// `toml` crate parses it, each YAML file as serde_norway parses it (one document each; the
/// ConfigMaps' copies of the policy are checked byte for byte and elided), and what the Lua
/// policies do in a real Lua 5.4 under the KumoMTA stub: every call they make with its
/// arguments, what each event returns, the globals they leave, warnings and output.
///
/// With a `baseline` (and its marker), a `tsa_init.lua` or `sink.lua` whose inputs are the
/// baseline's, byte for byte, and whose run never saw the marker is not run again.
pub(crate) fn observe(
    analysis: &Analysis,
    scratch: &Path,
    baseline: Option<(&Observed, &str)>,
) -> Result<Observed, String> {
    let out = analysis
        .emit()
        .ok_or("no output from an error-free analysis")?;
    let mut tree = serde_json::Map::new();
    for (path, text) in &out.files {
        let value = if path.ends_with(".toml") {
            let v: toml::Value = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
            serde_json::to_value(v).unwrap()
        } else if path.ends_with(".yaml") {
            // One document: serde_norway refuses a stream of several.
            let mut v: Json = serde_norway::from_str(text).map_err(|e| format!("{path}: {e}"))?;
            // The policy ConfigMaps hold the policy files; the dashboard's holds its JSON,
            // which must parse.
            if v["kind"] == "ConfigMap" && v["metadata"]["labels"]["grafana_dashboard"] == "1" {
                for (name, copy) in v["data"].as_object_mut().into_iter().flatten() {
                    let text = copy.as_str().unwrap_or_default();
                    let dash: Json = serde_json::from_str(text)
                        .map_err(|e| format!("{path}: data.{name} is not JSON: {e}"))?;
                    *copy = dash;
                }
            } else if v["kind"] == "ConfigMap" {
                for (name, copy) in v["data"].as_object_mut().into_iter().flatten() {
                    let original = out.get(&format!("policy/{name}"));
                    if copy.as_str() != original {
                        return Err(format!("{path}: data.{name} is not policy/{name}"));
                    }
                    *copy = json!("<policy file>");
                }
            }
            if let Some(c) =
                v.pointer_mut("/spec/template/metadata/annotations/kumoc.dev~1policy-checksum")
            {
                *c = json!("<checksum>");
            }
            v
        } else {
            json!("<lua>")
        };
        tree.insert(path.clone(), value);
    }
    let policy_dir = scratch.join("policy");
    let files_root = scratch.join("files");
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(&policy_dir).unwrap();
    for (path, text) in &out.files {
        if let Some(name) = path.strip_prefix("policy/") {
            std::fs::write(policy_dir.join(name), text).unwrap();
        }
    }
    let model = analysis.model.as_ref().ok_or("no model")?;
    mount_secrets(model, &tree, &files_root)?;
    let version = model.version.value.to_string();
    let mut lua = serde_json::Map::new();
    for file in ["init.lua", "tsa_init.lua", "sink.lua"] {
        if out.get(&format!("policy/{file}")).is_none() {
            continue;
        }
        let reuse = baseline.and_then(|(b, marker)| {
            let same = lua_inputs(file)
                .iter()
                .all(|f| b.texts.get(*f).map(String::as_str) == out.get(f));
            let run = &b.tree["lua"][file];
            (file != "init.lua" && same && !run.to_string().contains(marker)).then(|| run.clone())
        });
        let run = match reuse {
            Some(run) => run,
            None => run_lua(model, &policy_dir, &files_root, file, &version)
                .map_err(|e| format!("{file}: {e}"))?,
        };
        lua.insert(file.to_string(), run);
    }
    tree.insert("lua".into(), Json::Object(lua));
    unshard(&mut tree);
    let texts = out
        .files
        .into_iter()
        .filter(|(k, _)| k.starts_with("policy/"))
        .collect();
    Ok(Observed {
        tree: Json::Object(tree),
        texts,
    })
}

/// The shard of a helper's data file: `policy/dkim_data-3-of-8.toml` → `dkim_data`.
fn shard_stem(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next()?.strip_suffix(".toml")?;
    let (rest, count) = name.rsplit_once("-of-")?;
    let (stem, i) = rest.rsplit_once('-')?;
    (count.bytes().all(|b| b.is_ascii_digit()) && i.bytes().all(|b| b.is_ascii_digit()))
        .then_some(stem)
}

fn merge_tables(into: &mut Json, from: Json) {
    match (into, from) {
        (Json::Object(a), Json::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) => merge_tables(slot, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// A long value can make a data file large enough to be sharded (`kumomta::shard`). What
/// the consumers read is the same; the observation is made independent of the layout: the
/// shards' tables merged into the file they came from (each table is in one shard), the
/// shards' ConfigMaps folded into the policy ConfigMap (its name without the layout
/// digest), the projected policy volume as the plain one, and the helpers' lists of shard
/// files as the one file.
fn unshard(map: &mut serde_json::Map<String, Json>) {
    let shards: Vec<String> = map
        .keys()
        .filter(|k| k.starts_with("policy/") && shard_stem(k).is_some())
        .cloned()
        .collect();
    if shards.is_empty() {
        return;
    }
    let mut stems = BTreeSet::new();
    for path in &shards {
        let stem = shard_stem(path).unwrap().to_string();
        let value = map.remove(path).unwrap();
        let whole = map
            .entry(format!("policy/{stem}.toml"))
            .or_insert_with(|| json!({}));
        merge_tables(whole, value);
        stems.insert(stem);
    }
    map.retain(|k, _| !(k.starts_with("k8s/configmap-policy-") && k.contains("-of-")));
    if let Some(cm) = map.get_mut("k8s/configmap-policy.yaml") {
        if let Some(name) = cm["metadata"]["name"].as_str() {
            let plain = name.rsplit_once('-').map_or(name, |(a, _)| a).to_string();
            cm["metadata"]["name"] = json!(plain);
        }
        for stem in &stems {
            cm["data"][format!("{stem}.toml")] = json!("<policy file>");
        }
    }
    if let Some(resources) = map
        .get_mut("k8s/kustomization.yaml")
        .and_then(|k| k["resources"].as_array_mut())
    {
        resources.retain(|r| {
            !r.as_str()
                .is_some_and(|r| r.starts_with("configmap-policy-") && r.contains("-of-"))
        });
    }
    let plain_name = map
        .get("k8s/configmap-policy.yaml")
        .map(|cm| cm["metadata"]["name"].clone());
    for (k, v) in map.iter_mut() {
        if !k.starts_with("k8s/statefulset-") {
            continue;
        }
        if let Some(vols) = v
            .pointer_mut("/spec/template/spec/volumes")
            .and_then(Json::as_array_mut)
        {
            for vol in vols.iter_mut().filter(|v| v["name"] == "policy") {
                *vol = json!({ "name": "policy", "configMap": { "name": plain_name.clone() } });
            }
        }
    }
    fn lists(v: &mut Json) {
        match v {
            Json::Array(items) => {
                // Each run of one helper's shard files becomes its one file.
                let mut out: Vec<Json> = Vec::new();
                let mut run: Option<String> = None;
                for mut item in std::mem::take(items) {
                    let stem = item.as_str().and_then(shard_stem).map(str::to_string);
                    match stem {
                        Some(stem) if run.as_deref() == Some(stem.as_str()) => {}
                        Some(stem) => {
                            out.push(json!(format!("/opt/kumomta/etc/policy/{stem}.toml")));
                            run = Some(stem);
                        }
                        None => {
                            run = None;
                            lists(&mut item);
                            out.push(item);
                        }
                    }
                }
                *items = out;
            }
            Json::Object(m) => m.values_mut().for_each(lists),
            _ => {}
        }
    }
    if let Some(lua) = map.get_mut("lua") {
        lists(lua);
    }
}

/// The Secret files a kumod pod sees: each item of each projected Secret volume of the MTA
/// StatefulSet at its mount path (a PEM key, so DKIM signers load), and each declared key of
/// a whole-Secret volume (the API users). Item paths must be relative and stay inside the
/// mount, as Kubernetes requires.
fn mount_secrets(
    model: &kumoc_compiler::Deployment,
    tree: &serde_json::Map<String, Json>,
    files_root: &Path,
) -> Result<(), String> {
    let Some(sts) = tree.get("k8s/statefulset-mta.yaml") else {
        return Ok(());
    };
    let spec = &sts["spec"]["template"]["spec"];
    let mounts = spec["containers"][0]["volumeMounts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let items: Vec<String> = if let Some(sources) = volume["projected"]["sources"].as_array() {
            sources
                .iter()
                .flat_map(|s| s["secret"]["items"].as_array().cloned().unwrap_or_default())
                .map(|i| i["path"].as_str().unwrap_or("").to_string())
                .collect()
        } else if let Some(name) = volume["secret"]["secretName"].as_str() {
            model
                .secrets
                .iter()
                .filter(|s| s.name == name)
                .flat_map(|s| s.keys.iter().cloned())
                .collect()
        } else {
            continue;
        };
        let Some(mount) = mounts.iter().find(|m| m["name"] == volume["name"]) else {
            return Err(format!("volume {} is not mounted", volume["name"]));
        };
        let dir = mount["mountPath"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches('/');
        for path in items {
            if path.is_empty()
                || path.starts_with('/')
                || path.split('/').any(|s| s == ".." || s.is_empty())
            {
                return Err(format!("Kubernetes rejects the Secret item path {path:?}"));
            }
            let file = files_root.join(dir).join(&path);
            std::fs::create_dir_all(file.parent().unwrap())
                .and_then(|()| std::fs::write(&file, PEM))
                .map_err(|e| format!("cannot mount the Secret item {path:?}: {e}"))?;
        }
    }
    Ok(())
}

/// The content of every mounted Secret file: a PEM key (DKIM), also a fine password.
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";

/// An error as a stable string: its first line, without Lua line numbers.
fn stable_error(e: &str) -> String {
    let first = e.lines().next().unwrap_or("");
    let mut out = String::new();
    let mut rest = first;
    while let Some(at) = rest.find(".lua:") {
        out.push_str(&rest[..at + 5]);
        rest = rest[at + 5..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

fn arg_json(a: &Arg) -> Json {
    match a {
        Arg::Str(s) => json!(s),
        Arg::Nil => Json::Null,
        Arg::Json(j) => j.clone(),
        Arg::Message(m) => json!({
            "from": m.from_header,
            "sender": m.sender,
            "recipient": m.recipient,
            "headers": m.headers,
        }),
    }
}

fn run_lua(
    model: &kumoc_compiler::Deployment,
    policy_dir: &Path,
    files_root: &Path,
    file: &str,
    version: &str,
) -> Result<Json, String> {
    let p = Policy::load(policy_dir, files_root, file, version)?;
    let mut results = Vec::new();
    let mut fire = |event: &str, args: Vec<Arg>| {
        let shown: Vec<Json> = args.iter().map(arg_json).collect();
        let r = match p.fire(event, args) {
            Ok(v) => json!({ "ok": v }),
            Err(e) => json!({ "err": stable_error(&e) }),
        };
        results.push(json!([event, shown, r]));
    };
    match file {
        "init.lua" => {
            fire("init", vec![]);
            // The stdlib files come first in an analysis.
            let stdlib = kumoc_compiler::stdlib::FILES.len();
            let user_written = |loc: kumoc_compiler::diagnostic::Loc| loc.file.0 as usize >= stdlib;
            let header = |name: &str| match model.tenancy.get(name).map(|s| &s.value) {
                Some(kumoc_compiler::value::Typed::Str(h)) => Some(h.clone()),
                _ => None,
            };
            let tenant = model.tenants.first().map(|t| t.name.clone());
            let campaign = model
                .tenants
                .iter()
                .flat_map(|t| t.campaigns.iter())
                .next()
                .map(|c| c.name.clone());
            let mut destinations: Vec<String> = model
                .queues
                .iter()
                .filter(|q| user_written(q.loc))
                .map(|q| q.key.as_str().to_string())
                .chain(
                    model
                        .shaping
                        .iter()
                        .filter(|s| user_written(s.loc))
                        .map(|s| s.key.as_str().to_string()),
                )
                .filter(|k| k != "default")
                .collect();
            destinations.push("gmail.com".into());
            destinations.sort();
            destinations.dedup();
            let mut senders: Vec<String> = model
                .domains
                .iter()
                .map(|d| d.name.replace('*', "w"))
                .collect();
            senders.push("example.net".into());
            for from in &senders {
                for event in ["smtp_server_message_received", "http_message_generated"] {
                    let mut headers = vec![("Subject".to_string(), "hi".to_string())];
                    if let (Some(h), Some(t)) = (header("tenant_header"), &tenant) {
                        headers.push((h.as_str().to_owned(), t.clone()));
                    }
                    if let (Some(h), Some(c)) = (header("campaign_header"), &campaign) {
                        headers.push((h.as_str().to_owned(), c.clone()));
                    }
                    let msg = MessageSpec {
                        from_header: format!("News <news@{from}>"),
                        sender: "bounces@example.com".into(),
                        recipient: "someone@gmail.com".into(),
                        headers,
                        meta: vec![],
                    };
                    fire(event, vec![Arg::Message(msg), Arg::Json(json!({}))]);
                }
            }
            for pool in &model.pools {
                fire("get_egress_pool", vec![Arg::Str(pool.name.clone())]);
            }
            for source in &model.sources {
                fire("get_egress_source", vec![Arg::Str(source.name.clone())]);
                for dest in &destinations {
                    let d = Arg::Str(dest.clone());
                    fire(
                        "get_egress_path_config",
                        vec![d.clone(), Arg::Str(source.name.clone()), d],
                    );
                }
            }
            let mut tenants: Vec<Arg> = vec![Arg::Nil];
            tenants.extend(model.tenants.iter().map(|t| Arg::Str(t.name.clone())));
            for dest in &destinations {
                for t in &tenants {
                    fire(
                        "get_queue_config",
                        vec![Arg::Str(dest.clone()), t.clone(), Arg::Nil, Arg::Nil],
                    );
                }
            }
            for secret in &model.secrets {
                if model.http_listener.get("users").is_some_and(|u| {
                    matches!(&u.value, kumoc_compiler::value::Typed::Secret(r) if r.name == secret.name)
                }) {
                    // The password is the file's content without its final newline (which
                    // the policy strips), so every declared user can log in.
                    for user in &secret.keys {
                        fire(
                            "http_server_validate_auth_basic",
                            vec![Arg::Str(user.clone()), Arg::Str(PEM.trim_end().into())],
                        );
                    }
                }
            }
        }
        "tsa_init.lua" => {
            fire("tsa_init", vec![]);
            fire("tsa_load_shaping_data", vec![]);
        }
        _ => fire("init", vec![]),
    }
    let validation = if file == "init.lua" {
        match p.call_validate() {
            Ok(v) => json!({ "failed": v.failed, "output": v.output }),
            Err(e) => json!({ "err": stable_error(&e) }),
        }
    } else {
        Json::Null
    };
    let globals = p
        .eval(
            "local t = {} for k in pairs(_G) do t[#t + 1] = tostring(k) end table.sort(t) return t",
        )
        .map_err(|e| format!("listing globals: {e}"))?;
    let calls: Vec<Json> = p.calls().into_iter().map(|(n, a)| json!([n, a])).collect();
    Ok(json!({
        "results": results,
        "validate": validation,
        "calls": calls,
        "globals": globals,
        "warnings": p.warnings(),
        "output": p.output(),
    }))
}

/// `v` with `from` replaced by `to` in every string and every object key.
fn substitute(v: &Json, from: &str, to: &str) -> Json {
    match v {
        Json::String(s) => Json::String(s.replace(from, to)),
        Json::Array(items) => Json::Array(items.iter().map(|i| substitute(i, from, to)).collect()),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, x)| (k.replace(from, to), substitute(x, from, to)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Arrays sorted (names sort differently once substituted; what matters is the content).
fn canonical(v: &Json) -> Json {
    match v {
        Json::Array(items) => {
            let mut items: Vec<Json> = items.iter().map(canonical).collect();
            items.sort_by_cached_key(|i| i.to_string());
            Json::Array(items)
        }
        Json::Object(map) => {
            Json::Object(map.iter().map(|(k, x)| (k.clone(), canonical(x))).collect())
        }
        other => other.clone(),
    }
}

fn short(v: &Json) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        format!("{}…", s.chars().take(120).collect::<String>())
    } else {
        s
    }
}

/// The first few places where `got` differs from `want`.
fn differences(want: &Json, got: &Json, path: &str, out: &mut Vec<String>) {
    if out.len() >= 3 || want == got {
        return;
    }
    match (want, got) {
        (Json::Object(a), Json::Object(b)) => {
            for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => differences(x, y, &format!("{path}/{k}"), out),
                    (x, y) => out.push(format!(
                        "{path}/{}: want {}, got {}",
                        short(&json!(k)),
                        x.map_or("nothing".into(), short),
                        y.map_or("nothing".into(), short)
                    )),
                }
                if out.len() >= 3 {
                    return;
                }
            }
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                differences(x, y, &format!("{path}[{i}]"), out);
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            let missing = a.iter().find(|x| !b.contains(x));
            let extra = b.iter().find(|y| !a.contains(y));
            out.push(format!(
                "{path}: {} items, want {}; missing {}, extra {}",
                b.len(),
                a.len(),
                missing.map_or("nothing".into(), short),
                extra.map_or("nothing".into(), short)
            ));
        }
        _ => out.push(format!("{path}: want {}, got {}", short(want), short(got))),
    }
}

/// Tallies of one site's cases.
#[derive(Default)]
struct Tally {
    rejected: usize,
    built: usize,
    failures: Vec<String>,
}

/// Every payload at one site: the baseline (the marker) first, then each payload against it.
fn run_site(site: &Site, payloads: &[(String, String)], scratch: &Path) -> Tally {
    let mut t = Tally::default();
    let only_payload = std::env::var("KUMOC_HOSTILE_PAYLOAD").ok();
    let (files, _) = with_value(site, site.marker);
    let baseline = match run_case(&files, scratch, None) {
        Ok(Outcome::Built(observed)) => observed,
        Ok(Outcome::Rejected(errors)) => {
            t.failures.push(format!(
                "{}: the baseline {:?} is rejected: {errors:?}",
                site.name, site.marker
            ));
            return t;
        }
        Err(e) => {
            t.failures.push(format!(
                "{}: the baseline {:?} fails: {e}",
                site.name, site.marker
            ));
            return t;
        }
    };
    let reached = baseline.tree.to_string().contains(site.marker);
    if reached != site.emitted {
        let how = if reached {
            "unexpectedly reaches"
        } else {
            "never reaches"
        };
        t.failures
            .push(format!("{}: the value {how} the output", site.name));
    }
    for (pname, value) in payloads {
        if only_payload.as_ref().is_some_and(|o| o != pname) {
            continue;
        }
        let (files, places) = with_value(site, value);
        let case = format!("{} × {pname}", site.name);
        match run_case(&files, scratch, Some((&baseline, site.marker))) {
            Err(e) => t.failures.push(format!("{case}: {e}")),
            Ok(Outcome::Rejected(errors)) => {
                t.rejected += 1;
                let at_value = errors.iter().any(|(code, file, line)| {
                    code.starts_with('K') && places.iter().any(|(f, l)| f == file && l == line)
                });
                if !at_value {
                    t.failures.push(format!(
                        "{case}: rejected, but not at the value (written at {places:?}): {errors:?}"
                    ));
                }
            }
            Ok(Outcome::Built(observed)) => {
                t.built += 1;
                let want = canonical(&substitute(&baseline.tree, site.marker, value));
                let got = canonical(&observed.tree);
                if want != got {
                    let mut diff = Vec::new();
                    differences(&want, &got, "", &mut diff);
                    t.failures.push(format!(
                        "{case}: built, but read back differently: {}",
                        diff.join("; ")
                    ));
                }
            }
        }
    }
    t
}

/// Every site × every payload: rejected with a coded error on the value's line, or built
/// and read back exactly (see [`observe`]). One run lists every failing (site, payload).
/// `KUMOC_HOSTILE_SITE=banner KUMOC_HOSTILE_PAYLOAD=nul` narrows it down.
#[test]
fn every_string_field_rejects_or_round_trips_every_payload() {
    let scratch = Scratch::new("inject");
    let payloads = payloads();
    let only_site = std::env::var("KUMOC_HOSTILE_SITE").ok();
    let sites: Vec<&Site> = SITES
        .iter()
        .filter(|s| {
            only_site
                .as_ref()
                .is_none_or(|o| s.name.contains(o.as_str()))
        })
        .collect();
    assert!(
        serde_norway::from_str::<Json>("a: 1\n---\nkind: Secret\n").is_err(),
        "an injected second YAML document is caught"
    );
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let (next, sites, payloads) = (&next, &sites, &payloads);
                let dir = scratch.path().join(format!("worker-{w}"));
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(site) = sites.get(i) else { break };
                        mine.push((i, run_site(site, payloads, &dir)));
                    }
                    mine
                })
            })
            .collect();
        let mut all: Vec<(usize, Tally)> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, t)| t).collect()
    });
    for (site, t) in sites.iter().zip(&tallies) {
        eprintln!(
            "{:>3} rejected {:>3} built  {}",
            t.rejected, t.built, site.name
        );
    }
    let rejected: usize = tallies.iter().map(|t| t.rejected).sum();
    let built: usize = tallies.iter().map(|t| t.built).sum();
    let failures: Vec<&String> = tallies.iter().flat_map(|t| &t.failures).collect();
    eprintln!(
        "{} sites × {} payloads: {rejected} rejected with a coded error at the value, {built} built and read back exactly",
        sites.len(),
        payloads.len()
    );
    assert!(rejected > 0 && built > 0, "both outcomes are exercised");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
