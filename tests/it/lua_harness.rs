//! Test-side consumer of the emitted policy: loads `init.lua` / `tsa_init.lua` / `sink.lua`
//! into a real Lua 5.4 (mlua, vendored, as KumoMTA embeds) with a faithful stub of KumoMTA's
//! Lua API installed (`tests/lua/kumo_stub.lua`), records every call, and rejects what
//! KumoMTA rejects (unknown functions, unknown or misspelled parameters, wrong types, bad
//! durations / rates / limits / CIDRs, options that do not exist in the target release).
//!
//! Paths: `/opt/kumomta/etc/policy/<rest>` is read from `policy_dir/<rest>`; any other
//! absolute path `/p` is read from `files_root/p` (DKIM keys, HTTP listener key files, ...);
//! a relative path is relative to `policy_dir`.
//!
//! Mode: a file whose name starts with `tsa` is loaded as a tsa-daemon policy (`require
//! 'tsa'`, events `tsa_init` / `tsa_load_shaping_data`); anything else as a kumod policy.

use std::path::{Path, PathBuf};

use kumoc_lang::units::{
    HumantimeFlavor, parse_cidr, parse_humantime, parse_ip, parse_limit, parse_rate, parse_version,
};
use mlua::{Function, Lua, MultiValue, Table, Value};
use serde_json::Value as Json;

/// The stub, pure Lua 5.4.
const STUB: &str = include_str!("../lua/kumo_stub.lua");

/// A loaded policy: the Lua state with the stub installed, and what it recorded.
pub struct Policy {
    lua: Lua,
    file: String,
}

/// An argument passed to an event handler.
#[derive(Debug, Clone)]
pub enum Arg {
    Str(String),
    Nil,
    Message(MessageSpec),
    /// Any JSON value (converted to a Lua table/scalar), e.g. a `conn_meta` table.
    Json(Json),
}

/// A message for reception events. `from_header` becomes a `From:` header (first) unless
/// `headers` already has one. `meta` values may be any JSON (e.g. a `log_record` object for
/// `should_enqueue_log_record`).
#[derive(Debug, Clone, Default)]
pub struct MessageSpec {
    pub from_header: String,
    pub sender: String,
    pub recipient: String,
    pub headers: Vec<(String, String)>,
    pub meta: Vec<(String, Json)>,
}

/// Outcome of `kumod --validate`'s `validate_config` phase.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// `kumo.validation_failed()` was called.
    pub failed: bool,
    /// What the handlers printed (`print`, `kumo.log_*`) while validating.
    pub output: Vec<String>,
}

fn lua_err(e: mlua::Error) -> String {
    // Keep the message, drop mlua's nesting noise where possible.
    match e {
        mlua::Error::CallbackError { cause, traceback } => {
            format!("{}\n{traceback}", lua_err((*cause).clone()))
        }
        mlua::Error::RuntimeError(s) => s,
        other => other.to_string(),
    }
}

/// Map a path as the policy sees it to a path on this machine.
fn remap(policy_dir: &Path, files_root: &Path, path: &str) -> PathBuf {
    if let Some(rest) = path.strip_prefix("/opt/kumomta/etc/policy/") {
        policy_dir.join(rest)
    } else if let Some(rest) = path.strip_prefix('/') {
        files_root.join(rest)
    } else {
        policy_dir.join(path)
    }
}

fn json_to_lua(lua: &Lua, v: &Json) -> mlua::Result<Value> {
    Ok(match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(lua.create_string(s)?),
        Json::Array(items) => {
            let t = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, json_to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
        Json::Object(map) => {
            let t = lua.create_table()?;
            for (k, item) in map {
                t.raw_set(k.as_str(), json_to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
    })
}

fn toml_to_lua(lua: &Lua, v: &toml::Value) -> mlua::Result<Value> {
    Ok(match v {
        toml::Value::String(s) => Value::String(lua.create_string(s)?),
        toml::Value::Integer(i) => Value::Integer(*i),
        toml::Value::Float(f) => Value::Number(*f),
        toml::Value::Boolean(b) => Value::Boolean(*b),
        toml::Value::Datetime(d) => Value::String(lua.create_string(d.to_string())?),
        toml::Value::Array(items) => {
            let t = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, toml_to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
        toml::Value::Table(map) => {
            let t = lua.create_table()?;
            for (k, item) in map {
                t.raw_set(k.as_str(), toml_to_lua(lua, item)?)?;
            }
            Value::Table(t)
        }
    })
}

/// Lua value to JSON: sequences become arrays, other tables objects (sorted keys), functions
/// `"<function>"`. Tables are the stub's plain data (it deep-copies what it records).
fn lua_to_json(v: &Value, depth: usize) -> Json {
    if depth > 64 {
        return Json::String("<too deep>".into());
    }
    match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string_lossy()),
        Value::Table(t) => {
            // Stub objects (Shaping, addresses, domain maps) say how they want to be shown.
            if let Some(repr) = t
                .metatable()
                .and_then(|mt| mt.raw_get::<Function>("__stub_repr").ok())
            {
                if let Ok(shown) = repr.call::<Value>(t.clone()) {
                    return lua_to_json(&shown, depth + 1);
                }
            }
            let force_array = t
                .metatable()
                .is_some_and(|mt| mt.raw_get::<bool>("__stub_array").unwrap_or(false));
            let len = t.raw_len();
            let count = t.pairs::<Value, Value>().count();
            if (len > 0 || force_array) && count == len {
                Json::Array(
                    (1..=len)
                        .map(|i| {
                            lua_to_json(&t.raw_get::<Value>(i).unwrap_or(Value::Nil), depth + 1)
                        })
                        .collect(),
                )
            } else {
                let mut map = serde_json::Map::new();
                for (k, x) in t.pairs::<Value, Value>().flatten() {
                    let key = match &k {
                        Value::String(s) => s.to_string_lossy(),
                        Value::Integer(i) => i.to_string(),
                        other => format!("<{}>", other.type_name()),
                    };
                    map.insert(key, lua_to_json(&x, depth + 1));
                }
                Json::Object(map)
            }
        }
        Value::Function(_) => Json::String("<function>".into()),
        other => Json::String(format!("<{}>", other.type_name())),
    }
}

/// Install `__rust`: file access (remapped), TOML/JSON, and KumoMTA's value grammars.
fn install_rust_helpers(
    lua: &Lua,
    policy_dir: &Path,
    files_root: &Path,
    version: &str,
    mode: &str,
    env: &[(&str, &str)],
) -> Result<(), String> {
    let kv = parse_version(version).map_err(|e| format!("bad KumoMTA version {version:?}: {e}"))?;
    let flavor: HumantimeFlavor = kv.humantime();
    let r = lua.create_table().map_err(lua_err)?;
    let set = |name: &str, f: Function| r.set(name, f).map_err(lua_err);

    r.set(
        "version",
        format!("{:04}.{:02}.{:02}", kv.year, kv.month, kv.day),
    )
    .map_err(lua_err)?;
    r.set("version_full", version).map_err(lua_err)?;
    r.set("mode", mode).map_err(lua_err)?;
    let env_table = lua.create_table().map_err(lua_err)?;
    for (k, v) in env {
        env_table.set(*k, *v).map_err(lua_err)?;
    }
    r.set("env", env_table).map_err(lua_err)?;

    let (pd, fr) = (policy_dir.to_path_buf(), files_root.to_path_buf());
    set(
        "remap",
        lua.create_function(move |_, p: String| {
            Ok(remap(&pd, &fr, &p).to_string_lossy().into_owned())
        })
        .map_err(lua_err)?,
    )?;
    let (pd, fr) = (policy_dir.to_path_buf(), files_root.to_path_buf());
    set(
        "exists",
        lua.create_function(move |_, p: String| Ok(remap(&pd, &fr, &p).is_file()))
            .map_err(lua_err)?,
    )?;
    let (pd, fr) = (policy_dir.to_path_buf(), files_root.to_path_buf());
    set(
        "read",
        lua.create_function(move |_, p: String| {
            Ok(match std::fs::read_to_string(remap(&pd, &fr, &p)) {
                Ok(s) => (Some(s), None),
                Err(e) => (None, Some(e.to_string())),
            })
        })
        .map_err(lua_err)?,
    )?;
    let (pd, fr) = (policy_dir.to_path_buf(), files_root.to_path_buf());
    set(
        "toml_load",
        lua.create_function(move |lua, p: String| {
            let text = std::fs::read_to_string(remap(&pd, &fr, &p))
                .map_err(|e| mlua::Error::RuntimeError(format!("failed to read {p}: {e}")))?;
            let v: toml::Value = toml::from_str(&text).map_err(|e| {
                mlua::Error::RuntimeError(format!("failed to parse {p} as TOML: {e}"))
            })?;
            toml_to_lua(lua, &v)
        })
        .map_err(lua_err)?,
    )?;
    set(
        "toml_parse",
        lua.create_function(|lua, s: String| {
            let v: toml::Value =
                toml::from_str(&s).map_err(|e| mlua::Error::RuntimeError(format!("TOML: {e}")))?;
            toml_to_lua(lua, &v)
        })
        .map_err(lua_err)?,
    )?;
    let (pd, fr) = (policy_dir.to_path_buf(), files_root.to_path_buf());
    set(
        "json_load",
        lua.create_function(move |lua, p: String| {
            let text = std::fs::read_to_string(remap(&pd, &fr, &p))
                .map_err(|e| mlua::Error::RuntimeError(format!("failed to read {p}: {e}")))?;
            let v: Json = serde_json::from_str(&text).map_err(|e| {
                mlua::Error::RuntimeError(format!("failed to parse {p} as JSON: {e}"))
            })?;
            json_to_lua(lua, &v)
        })
        .map_err(lua_err)?,
    )?;
    set(
        "json_parse",
        lua.create_function(|lua, s: String| {
            let v: Json = serde_json::from_str(&s)
                .map_err(|e| mlua::Error::RuntimeError(format!("JSON: {e}")))?;
            json_to_lua(lua, &v)
        })
        .map_err(lua_err)?,
    )?;
    set(
        "json_encode",
        lua.create_function(|_, (v, pretty): (Value, Option<bool>)| {
            let j = lua_to_json(&v, 0);
            let s = if pretty.unwrap_or(false) {
                serde_json::to_string_pretty(&j)
            } else {
                serde_json::to_string(&j)
            };
            s.map_err(|e| mlua::Error::RuntimeError(e.to_string()))
        })
        .map_err(lua_err)?,
    )?;
    // Grammar checks return (true) or (false, message).
    fn verdict(r: Result<(), String>) -> (bool, Option<String>) {
        match r {
            Ok(()) => (true, None),
            Err(e) => (false, Some(e)),
        }
    }
    set(
        "duration",
        lua.create_function(move |_, s: String| {
            Ok(verdict(
                parse_humantime(&s, flavor)
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
            ))
        })
        .map_err(lua_err)?,
    )?;
    set(
        "rate",
        lua.create_function(|_, s: String| {
            Ok(verdict(
                parse_rate(&s).map(|_| ()).map_err(|e| e.to_string()),
            ))
        })
        .map_err(lua_err)?,
    )?;
    set(
        "limit",
        lua.create_function(|_, s: String| {
            Ok(verdict(
                parse_limit(&s).map(|_| ()).map_err(|e| e.to_string()),
            ))
        })
        .map_err(lua_err)?,
    )?;
    set(
        "cidr",
        lua.create_function(|_, s: String| {
            Ok(verdict(
                parse_cidr(&s).map(|_| ()).map_err(|e| e.to_string()),
            ))
        })
        .map_err(lua_err)?,
    )?;
    set(
        "ip",
        lua.create_function(|_, s: String| {
            Ok(verdict(parse_ip(&s).map(|_| ()).map_err(|e| e.to_string())))
        })
        .map_err(lua_err)?,
    )?;
    set(
        "fninfo",
        lua.create_function(|_, f: Function| {
            let info = f.info();
            Ok((
                info.source.unwrap_or_else(|| "?".into()),
                info.line_defined.unwrap_or(0),
            ))
        })
        .map_err(lua_err)?,
    )?;
    lua.globals().set("__rust", r).map_err(lua_err)
}

impl Policy {
    /// Load `file` from `policy_dir` into a fresh Lua 5.4 state with the stub installed and
    /// run its top-level code (helper setup, `kumo.on` registrations), as KumoMTA would.
    pub fn load(
        policy_dir: &Path,
        files_root: &Path,
        file: &str,
        version: &str,
    ) -> Result<Policy, String> {
        Self::load_with_env(policy_dir, files_root, file, version, &[])
    }

    /// Like [`Policy::load`], with the environment that `os.getenv` sees.
    pub fn load_with_env(
        policy_dir: &Path,
        files_root: &Path,
        file: &str,
        version: &str,
        env: &[(&str, &str)],
    ) -> Result<Policy, String> {
        let mode = if file.starts_with("tsa") {
            "tsa"
        } else {
            "kumod"
        };
        let lua = Lua::new();
        install_rust_helpers(&lua, policy_dir, files_root, version, mode, env)?;
        lua.load(STUB)
            .set_name("@kumo_stub.lua")
            .exec()
            .map_err(lua_err)?;
        let path = policy_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        lua.load(text)
            .set_name(format!("@/opt/kumomta/etc/policy/{file}"))
            .exec()
            .map_err(lua_err)?;
        Ok(Policy {
            lua,
            file: file.to_string(),
        })
    }

    fn stub(&self) -> mlua::Result<Table> {
        self.lua.globals().get::<Table>("__kumo_stub")
    }

    fn arg_to_lua(&self, arg: &Arg) -> mlua::Result<Value> {
        Ok(match arg {
            Arg::Str(s) => Value::String(self.lua.create_string(s)?),
            Arg::Nil => Value::Nil,
            Arg::Json(j) => json_to_lua(&self.lua, j)?,
            Arg::Message(m) => {
                let spec = self.lua.create_table()?;
                spec.set("from_header", m.from_header.as_str())?;
                spec.set("sender", m.sender.as_str())?;
                spec.set("recipient", m.recipient.as_str())?;
                let headers = self.lua.create_table()?;
                for (i, (name, value)) in m.headers.iter().enumerate() {
                    let h = self.lua.create_table()?;
                    h.raw_set(1, name.as_str())?;
                    h.raw_set(2, value.as_str())?;
                    headers.raw_set(i + 1, h)?;
                }
                spec.set("headers", headers)?;
                let meta = self.lua.create_table()?;
                for (k, v) in &m.meta {
                    meta.set(k.as_str(), json_to_lua(&self.lua, v)?)?;
                }
                spec.set("meta", meta)?;
                let new_message: Function = self.stub()?.get("new_message")?;
                new_message.call::<Value>(spec)?
            }
        })
    }

    /// Fire an event the way kumod does (Single: the one handler; Multiple: in registration
    /// order, the first handler returning at least one value wins). Returns the handler's
    /// return values as JSON (nil -> null; no values -> empty vec; no handler -> empty vec).
    /// A `kumo.reject(code, msg)` comes back as `Err("<code> <msg>...")`.
    pub fn fire(&self, event: &str, args: Vec<Arg>) -> Result<Vec<Json>, String> {
        let mut lua_args = Vec::with_capacity(args.len());
        for a in &args {
            lua_args.push(self.arg_to_lua(a).map_err(lua_err)?);
        }
        let fire: Function = self.stub().and_then(|s| s.get("fire")).map_err(lua_err)?;
        let name = Value::String(self.lua.create_string(event).map_err(lua_err)?);
        let packed: Table = fire
            .call(MultiValue::from_iter(std::iter::once(name).chain(lua_args)))
            .map_err(lua_err)?;
        let n: usize = packed.get("n").map_err(lua_err)?;
        Ok((1..=n)
            .map(|i| lua_to_json(&packed.raw_get::<Value>(i).unwrap_or(Value::Nil), 0))
            .collect())
    }

    /// Every recorded call so far, in order: the function name (`kumo.start_esmtp_listener`,
    /// `msg:set_meta`, `sources:setup`, `dkim_signer`, `shaper.setup_publish`, ...) and its
    /// arguments as JSON.
    pub fn calls(&self) -> Vec<(String, Vec<Json>)> {
        self.calls_with_context()
            .into_iter()
            .map(|(n, a, _)| (n, a))
            .collect()
    }

    /// Like [`Policy::calls`], plus the event each call was made from (`"top-level"` for
    /// top-level policy code).
    pub fn calls_with_context(&self) -> Vec<(String, Vec<Json>, String)> {
        let Ok(calls) = self.stub().and_then(|s| s.get::<Table>("calls")) else {
            return vec![];
        };
        calls
            .sequence_values::<Table>()
            .flatten()
            .map(|c| {
                let name: String = c.get("name").unwrap_or_default();
                let n: usize = c.get("n").unwrap_or(0);
                let args = match c.get::<Table>("args") {
                    Ok(args) => (1..=n)
                        .map(|i| lua_to_json(&args.raw_get::<Value>(i).unwrap_or(Value::Nil), 0))
                        .collect(),
                    Err(_) => vec![],
                };
                let ctx: String = c.get("ctx").unwrap_or_default();
                (name, args, ctx)
            })
            .collect()
    }

    /// The arguments of every call to `name`, in order.
    pub fn calls_named(&self, name: &str) -> Vec<Vec<Json>> {
        self.calls()
            .into_iter()
            .filter(|(n, _)| n == name)
            .map(|(_, a)| a)
            .collect()
    }

    pub fn clear_calls(&self) {
        if let (Ok(stub), Ok(t)) = (self.stub(), self.lua.create_table()) {
            let _ = stub.set("calls", t);
        }
    }

    /// Names of events with handlers, in registration order (Multiple events may repeat).
    pub fn registered_events(&self) -> Vec<String> {
        let Ok(regs) = self.stub().and_then(|s| s.get::<Table>("registrations")) else {
            return vec![];
        };
        regs.sequence_values::<Table>()
            .flatten()
            .map(|r| r.get::<String>("name").unwrap_or_default())
            .collect()
    }

    /// The last message's state after the event: `{id, meta, headers: [[name, value]...],
    /// sender, recipient, signatures: [...], scheduling}` (null if no message was made).
    pub fn message_state(&self) -> Json {
        let Ok(f) = self.stub().and_then(|s| s.get::<Function>("message_state")) else {
            return Json::Null;
        };
        f.call::<Value>(())
            .map(|v| lua_to_json(&v, 0))
            .unwrap_or(Json::Null)
    }

    /// Run the `validate_config` handlers as `kumod --validate` does after `init`. Err if a
    /// handler raised (e.g. "missing field `http_timeout`" on 2025.03.19).
    pub fn call_validate(&self) -> Result<Validation, String> {
        let f: Function = self
            .stub()
            .and_then(|s| s.get("validate"))
            .map_err(lua_err)?;
        let t: Table = f.call(()).map_err(lua_err)?;
        let failed: bool = t.get("failed").map_err(lua_err)?;
        let out: Table = t.get("output").map_err(lua_err)?;
        let output = out.sequence_values::<String>().flatten().collect();
        Ok(Validation { failed, output })
    }

    /// Things KumoMTA accepts but silently ignores or that only bite later (unknown keys of
    /// RedisConnKey / SignerConfig / MemoizeParams before 2025.05.06, empty pools, ...).
    pub fn warnings(&self) -> Vec<String> {
        self.string_list("warnings")
    }

    /// Everything printed (`print`, `kumo.log_*`).
    pub fn output(&self) -> Vec<String> {
        self.string_list("output")
    }

    fn string_list(&self, key: &str) -> Vec<String> {
        self.stub()
            .and_then(|s| s.get::<Table>(key))
            .map(|t| t.sequence_values::<String>().flatten().collect())
            .unwrap_or_default()
    }

    /// The code and message of the last `kumo.reject` that escaped an event handler.
    pub fn last_rejection(&self) -> Option<(u16, String)> {
        let t: Table = self.stub().and_then(|s| s.get("last_rejection")).ok()?;
        Some((t.get("code").ok()?, t.get("message").ok()?))
    }

    /// Fake DNS for the shaping data: the MX site name and MX hosts of `domain` (by default a
    /// domain's site is the domain itself and it has no MX hosts).
    pub fn set_mx(&self, domain: &str, site: &str, hosts: &[&str]) {
        let set = || -> mlua::Result<()> {
            let mx: Table = self.stub()?.get("mx")?;
            let entry = self.lua.create_table()?;
            entry.set("site", site)?;
            entry.set("hosts", hosts.to_vec())?;
            mx.set(domain, entry)
        };
        let _ = set();
    }

    /// Evaluate a Lua expression or chunk in the policy's state (after `return`, e.g.
    /// `"return kumo.make_queue_config { max_age = '1h' }"`) and return its values as JSON.
    pub fn eval(&self, code: &str) -> Result<Vec<Json>, String> {
        let values: MultiValue = self
            .lua
            .load(code)
            .set_name("@harness-eval")
            .eval()
            .map_err(lua_err)?;
        Ok(values.iter().map(|v| lua_to_json(v, 0)).collect())
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// Self-tests of the stub
// ---------------------------------------------------------------------------------------------

const V: &str = "2025.03.19-1d3f1f67";

/// A scratch policy directory under the system temp dir, removed on drop.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let root =
            std::env::temp_dir().join(format!("kumoc-lua-harness-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("policy")).unwrap();
        std::fs::create_dir_all(root.join("files")).unwrap();
        Scratch { root }
    }
    fn policy_dir(&self) -> PathBuf {
        self.root.join("policy")
    }
    fn files_root(&self) -> PathBuf {
        self.root.join("files")
    }
    fn write(&self, name: &str, text: &str) -> &Self {
        std::fs::write(self.policy_dir().join(name), text).unwrap();
        self
    }
    fn write_abs(&self, abs: &str, text: &str) -> &Self {
        let p = self.files_root().join(abs.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }
    fn load(&self, file: &str) -> Result<Policy, String> {
        Policy::load(&self.policy_dir(), &self.files_root(), file, V)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

const SPOOLS: &str = r#"
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data', kind = 'RocksDB' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta', kind = 'RocksDB' }
"#;

fn init_with(body: &str) -> String {
    format!("local kumo = require 'kumo'\nkumo.on('init', function()\n{SPOOLS}\n{body}\nend)\n")
}

fn assert_err_contains(r: Result<impl std::fmt::Debug, String>, needles: &[&str]) {
    match r {
        Ok(v) => panic!("expected an error containing {needles:?}, got Ok({v:?})"),
        Err(e) => {
            for n in needles {
                assert!(e.contains(n), "error {e:?} does not contain {n:?}");
            }
        }
    }
}

#[test]
fn lua_harness_rejects_unknown_kumo_function() {
    let s = Scratch::new("unknown-fn");
    s.write(
        "init.lua",
        &init_with("kumo.start_smtp_listener { listen = '0.0.0.0:25' }"),
    );
    let p = s.load("init.lua").unwrap();
    assert_err_contains(
        p.fire("init", vec![]),
        &["kumo.start_smtp_listener", "no such function"],
    );
}

#[test]
fn lua_harness_rejects_misspelled_listener_param() {
    let s = Scratch::new("misspelled");
    s.write(
        "init.lua",
        &init_with("kumo.start_esmtp_listener { lisen = '0.0.0.0:25' }"),
    );
    let p = s.load("init.lua").unwrap();
    assert_err_contains(
        p.fire("init", vec![]),
        &[
            "kumo.start_esmtp_listener",
            "unknown field `lisen`",
            "`listen`",
        ],
    );
    // `peer` only exists from 2025.05.06 on
    s.write(
        "init2.lua",
        &init_with("kumo.start_esmtp_listener { peer = {} }"),
    );
    let p = s.load("init2.lua").unwrap();
    assert_err_contains(
        p.fire("init", vec![]),
        &["unknown field `peer`", "2025.05.06"],
    );
}

#[test]
fn lua_harness_rejects_string_where_number_expected() {
    let s = Scratch::new("string-number");
    s.write(
        "init.lua",
        &init_with("kumo.configure_redis_throttles { node = 'redis://r:6379/', pool_size = '10' }"),
    );
    let p = s.load("init.lua").unwrap();
    assert_err_contains(
        p.fire("init", vec![]),
        &[
            "kumo.configure_redis_throttles",
            "field `pool_size`",
            "invalid type: string \"10\", expected usize",
        ],
    );
    // unknown redis keys are ignored (with a warning), like KumoMTA does
    s.write(
        "init2.lua",
        &init_with("kumo.configure_redis_throttles { node = 'redis://r:6379/', pool_sise = 10 }"),
    );
    let p = s.load("init2.lua").unwrap();
    p.fire("init", vec![]).unwrap();
    assert!(
        p.warnings().iter().any(|w| w.contains("pool_sise")),
        "{:?}",
        p.warnings()
    );
}

#[test]
fn lua_harness_rejects_single_event_registered_twice() {
    let s = Scratch::new("single-twice");
    s.write(
        "init.lua",
        "local kumo = require 'kumo'\nkumo.on('get_egress_path_config', function() end)\nkumo.on('get_egress_path_config', function() end)\n",
    );
    assert_err_contains(
        s.load("init.lua"),
        &["get_egress_path_config event already has a handler defined at"],
    );
    // Multiple events may repeat; kumo.on inside a handler is an error
    s.write(
        "init2.lua",
        "local kumo = require 'kumo'\nkumo.on('get_queue_config', function() end)\nkumo.on('get_queue_config', function() end)\nkumo.on('smtp_server_message_received', function() kumo.on('init', function() end) end)\n",
    );
    let p = s.load("init2.lua").unwrap();
    assert_eq!(
        p.registered_events(),
        [
            "get_queue_config",
            "get_queue_config",
            "smtp_server_message_received"
        ]
    );
    assert_err_contains(
        p.fire(
            "smtp_server_message_received",
            vec![Arg::Message(MessageSpec::default()), Arg::Nil],
        ),
        &["from within the event handler 'smtp_server_message_received'"],
    );
}

#[test]
fn lua_harness_rejects_bad_rate_in_make_egress_path() {
    let s = Scratch::new("bad-rate");
    s.write(
        "init.lua",
        "local kumo = require 'kumo'\nkumo.on('get_egress_path_config', function(domain, source, site)\n  return kumo.make_egress_path { max_message_rate = '1000/3600' }\nend)\n",
    );
    let p = s.load("init.lua").unwrap();
    let args = vec![
        Arg::Str("hotmail.com".into()),
        Arg::Str("src".into()),
        Arg::Str("site".into()),
    ];
    assert_err_contains(
        p.fire("get_egress_path_config", args.clone()),
        &[
            "kumo.make_egress_path",
            "field `max_message_rate`",
            "1000/3600",
        ],
    );
    s.write(
        "init2.lua",
        "local kumo = require 'kumo'\nkumo.on('get_egress_path_config', function(domain, source, site)\n  return kumo.make_egress_path { max_message_rate = '1000/h', enable_tls = 'Required', connection_limit = 'local:5', idle_timeout = '60s' }\nend)\n",
    );
    let p = s.load("init2.lua").unwrap();
    let out = p.fire("get_egress_path_config", args).unwrap();
    assert_eq!(out[0]["max_message_rate"], "1000/h");
    assert_eq!(out[0]["connection_limit"], "local:5");
}

#[test]
fn lua_harness_rejects_setup_publish_outside_init() {
    let s = Scratch::new("setup-publish");
    let policy = "local kumo = require 'kumo'\nlocal shaping = require 'policy-extras.shaping'\nlocal shaper = shaping:setup_with_automation { publish = { 'http://tsa:8008' }, subscribe = { 'http://tsa:8008' }, extra_files = { '/opt/kumomta/etc/policy/shaping.toml' } }\nshaper.setup_publish()\n";
    s.write(
        "shaping.toml",
        "[\"gmail.com\"]\nmx_rollup = false\nconnection_limit = 5\n",
    );
    s.write("init.lua", policy);
    assert_err_contains(
        s.load("init.lua"),
        &["shaper.setup_publish must be called inside kumo.on('init'"],
    );

    // inside init it works, and the helper registered its handlers
    let ok = format!(
        "local kumo = require 'kumo'\nlocal shaping = require 'policy-extras.shaping'\nlocal shaper = shaping:setup_with_automation {{ publish = {{ 'http://tsa:8008' }}, extra_files = {{ '/opt/kumomta/etc/policy/shaping.toml' }} }}\nkumo.on('init', function()\n{SPOOLS}\n  shaper.setup_publish()\nend)\nkumo.on('get_egress_path_config', shaper.get_egress_path_config)\n"
    );
    s.write("init2.lua", &ok);
    let p = s.load("init2.lua").unwrap();
    p.fire("init", vec![]).unwrap();
    let hooks = p.calls_named("kumo.configure_log_hook");
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0][0]["name"], "http://tsa:8008.tsa.kumomta");
    let cfg = p
        .fire(
            "get_egress_path_config",
            vec![
                Arg::Str("gmail.com".into()),
                Arg::Str("s".into()),
                Arg::Str("x".into()),
            ],
        )
        .unwrap();
    assert_eq!(cfg[0]["connection_limit"], 5);
    assert_eq!(cfg[0]["refresh_strategy"], "Epoch");
    let q = p
        .fire(
            "get_queue_config",
            vec![
                Arg::Str("http://tsa:8008.tsa.kumomta".into()),
                Arg::Nil,
                Arg::Nil,
                Arg::Nil,
            ],
        )
        .unwrap();
    assert_eq!(
        q[0]["protocol"]["custom_lua"]["constructor"],
        "make.http://tsa:8008.tsa.kumomta"
    );
    // on 2025.03.19, --validate fails: the default validation_options lack http_timeout
    assert_err_contains(p.call_validate(), &["missing field `http_timeout`"]);
}

#[test]
fn lua_harness_rejects_queue_helper_not_last() {
    let s = Scratch::new("queue-not-last");
    s.write(
        "queues.toml",
        "tenant_header = 'X-Tenant'\nremove_tenant_header = true\ndefault_tenant = 'default'\n[tenant.'default']\negress_pool = 'p'\n[queue.default]\nmax_age = '24h'\n",
    );
    s.write(
        "init.lua",
        "local kumo = require 'kumo'\nlocal queue_module = require 'policy-extras.queue'\nlocal q = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }\nkumo.on('get_queue_config', function(domain) end)\n",
    );
    let p = s.load("init.lua").unwrap();
    let v = p.call_validate().unwrap();
    assert!(v.failed);
    assert!(
        v.output
            .iter()
            .any(|l| l.contains("not the last module to register for the get_queue_config")),
        "{v:?}"
    );

    s.write(
        "init2.lua",
        "local kumo = require 'kumo'\nkumo.on('get_queue_config', function(domain) end)\nlocal queue_module = require 'policy-extras.queue'\nlocal q = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }\n",
    );
    let p = s.load("init2.lua").unwrap();
    assert!(!p.call_validate().unwrap().failed);
    // the queue helper always answers, even for pseudo-domains
    let q = p
        .fire(
            "get_queue_config",
            vec![Arg::Str("example.com".into()), Arg::Nil, Arg::Nil, Arg::Nil],
        )
        .unwrap();
    assert_eq!(q[0]["max_age"], "24h");
    assert_eq!(q[0]["refresh_strategy"], "Epoch");

    // a misspelled option in [queue.D] is flagged instead of silently becoming a tenant
    s.write("bad.toml", "[queue.'gmail.com']\nmax_agee = '1h'\n");
    s.write(
        "init3.lua",
        "local queue_module = require 'policy-extras.queue'\nqueue_module:setup { '/opt/kumomta/etc/policy/bad.toml' }\n",
    );
    assert_err_contains(s.load("init3.lua"), &["max_agee", "not a queue option"]);
}

#[test]
fn lua_harness_accepts_small_correct_policy() {
    let s = Scratch::new("correct");
    s.write(
        "sources.toml",
        "[source.'ip-1']\nsource_address = '10.0.0.1'\nehlo_domain = 'mta1.example.com'\n[pool.'shared']\n[pool.'shared'.'ip-1']\nweight = 2\n",
    );
    s.write(
        "queues.toml",
        "tenant_header = 'X-Tenant'\nremove_tenant_header = true\ncampaign_header = 'X-Campaign'\nremove_campaign_header = true\ndefault_tenant = 'default'\n[tenant.'default']\negress_pool = 'shared'\n[queue.'example.net']\nrouting_domain = '[10.1.1.1]'\n",
    );
    s.write(
        "dkim_data.toml",
        "[base]\nselector = 's1'\nheaders = ['From', 'To', 'Subject']\n[domain.'example.com']\n",
    );
    s.write_abs(
        "/opt/kumomta/etc/dkim/example.com/s1.key",
        "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
    );
    s.write(
        "init.lua",
        r#"
local kumo = require 'kumo'
local sources = require 'policy-extras.sources'
local dkim_sign = require 'policy-extras.dkim_sign'
local queue_module = require 'policy-extras.queue'
sources:setup { '/opt/kumomta/etc/policy/sources.toml' }
local dkim_signer = dkim_sign:setup { '/opt/kumomta/etc/policy/dkim_data.toml' }
local queue_helper = queue_module:setup { '/opt/kumomta/etc/policy/queues.toml' }
kumo.on('init', function()
  kumo.define_spool { name = 'data', path = '/var/spool/kumomta/data', kind = 'RocksDB' }
  kumo.define_spool { name = 'meta', path = '/var/spool/kumomta/meta', kind = 'RocksDB' }
  kumo.configure_local_logs { log_dir = '/var/log/kumomta', max_segment_duration = '1m' }
  kumo.start_esmtp_listener { listen = '0.0.0.0:2500', hostname = 'mta.example.com', relay_hosts = { '127.0.0.1', '10.0.0.0/8' } }
  kumo.start_http_listener { listen = '0.0.0.0:8000', trusted_hosts = { '127.0.0.1', '::1' } }
  kumo.set_diagnostic_log_filter 'kumod=info'
end)
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 10, enable_tls = 'Opportunistic' }
end)
kumo.on('smtp_server_message_received', function(msg, conn_meta)
  msg:check_fix_conformance('MISSING_DATE_HEADER', 'MISSING_DATE_HEADER|MISSING_MESSAGE_ID_HEADER')
  queue_helper:apply(msg)
  dkim_signer(msg)
end)
"#,
    );
    let p = s.load("init.lua").unwrap();
    assert_eq!(p.fire("init", vec![]).unwrap(), Vec::<Json>::new());
    let listeners = p
        .calls_with_context()
        .into_iter()
        .filter(|(n, _, _)| n == "kumo.start_esmtp_listener")
        .collect::<Vec<_>>();
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0].2, "init");
    assert_eq!(listeners[0].1[0]["listen"], "0.0.0.0:2500");

    let msg = MessageSpec {
        from_header: "Alice <alice@example.com>".into(),
        sender: "bounce@example.com".into(),
        recipient: "bob@example.net".into(),
        headers: vec![
            ("X-Tenant".into(), "default".into()),
            ("X-Campaign".into(), "spring".into()),
        ],
        meta: vec![],
    };
    p.clear_calls();
    p.fire(
        "smtp_server_message_received",
        vec![Arg::Message(msg), Arg::Json(serde_json::json!({}))],
    )
    .unwrap();
    let st = p.message_state();
    assert_eq!(st["meta"]["tenant"], "default");
    assert_eq!(st["meta"]["campaign"], "spring");
    assert_eq!(st["meta"]["routing_domain"], "[10.1.1.1]");
    assert_eq!(st["headers"].as_array().unwrap().len(), 1, "{st}");
    let signer = p.calls_named("dkim_signer");
    assert_eq!(signer.len(), 1);
    assert_eq!(
        signer[0][0]["key"],
        "/opt/kumomta/etc/dkim/example.com/s1.key"
    );
    assert_eq!(signer[0][0]["selector"], "s1");

    // sources helper answers its events
    let src = p
        .fire("get_egress_source", vec![Arg::Str("ip-1".into())])
        .unwrap();
    assert_eq!(src[0]["source_address"], "10.0.0.1");
    let pool = p
        .fire("get_egress_pool", vec![Arg::Str("shared".into())])
        .unwrap();
    assert_eq!(pool[0]["entries"][0]["weight"], 2);

    // undefined tenant -> kumo.reject(500, ...)
    let bad = MessageSpec {
        from_header: "a@example.com".into(),
        sender: "a@example.com".into(),
        recipient: "b@example.net".into(),
        headers: vec![("X-Tenant".into(), "nope".into())],
        meta: vec![],
    };
    assert_err_contains(
        p.fire(
            "smtp_server_message_received",
            vec![Arg::Message(bad), Arg::Nil],
        ),
        &["tenant 'nope' specified by 'X-Tenant' header is not defined"],
    );
    assert_eq!(p.last_rejection().map(|r| r.0), Some(500));
    assert!(!p.call_validate().unwrap().failed);
    assert!(p.warnings().is_empty(), "{:?}", p.warnings());
}
