//! The recognizer: what a policy's Lua means, in `.kumo` terms, without running it.
//!
//! It walks the syntax tree of `init.lua` (and `tsa_init.lua`, `sink.lua`) looking for the
//! patterns KumoMTA's documentation and helpers use (`shared/reference/kumomta.md` §6,
//! `notes/research-16-day-two.md` §1): the helpers' `setup` calls, the `init` handler's
//! spools, logs, Redis throttles and listeners, TSA publishing, the reception handlers
//! (conformance, queue helper, sink routing, DKIM signing) and HTTP basic auth. It writes
//! what it recognises into the `.kumo` blocks, and everything else (custom handlers, loops,
//! `dofile`, parameters kumoc has no place for, values that are not literals) is reported
//! with its line: nothing is dropped silently.
//!
//! kumoc's own policy is recognised exactly: its helper functions (basic auth, the secret
//! reader, the metrics ACL) are compared token by token with what this kumoc emits
//! ([`Idioms`]), so `kumoc import` of a `kumoc build` gives back the same deployment.

use std::collections::{BTreeMap, BTreeSet};

use kumoc_lang::Span;

use super::eval::{self, Env, EnvUse, Eval, Scope, Unknown};
use super::lua::{self, Expr, ExprKind, Field, FuncBody, Stmt, StmtKind, Tok};
use super::values::{self, Raw};
use super::write::KVal;
use super::{Cx, DEPLOYMENT_FILE, SecretUse, Sev};
use crate::codes;
use crate::diagnostic::{Diagnostic, Loc, Severity};
use crate::names;
use crate::schema::{self, BlockSchema, Ty};
use crate::source::FileId;

/// The conformance flags kumoc's reception handlers pass (`emit/kumomta/policy.rs`).
pub const KUMOC_CHECKS: &str =
    "MISSING_COLON_VALUE|NON_CANONICAL_LINE_ENDINGS|NAME_ENDS_WITH_SPACE|LINE_TOO_LONG";
pub const KUMOC_FIXES: &str =
    "MISSING_DATE_HEADER|MISSING_MESSAGE_ID_HEADER|MISSING_MIME_VERSION|NON_CANONICAL_LINE_ENDINGS";

/// kumoc's own Lua idioms, as tokens: found in the policy, they mean what kumoc emits them for.
#[derive(Debug, Default, Clone)]
pub struct Idioms {
    pub valid_user: Option<Vec<Tok>>,
    pub basic_auth: Option<Vec<Tok>>,
    pub read_secret: Option<Vec<Tok>>,
    pub metrics_acl: Option<Vec<Tok>>,
    /// The IP warm-up: `warmup_limit` and the egress path handler around the shaper.
    pub warmup_limit: Option<Vec<Tok>>,
    pub warmup_handler: Option<Vec<Tok>>,
}

/// The tokens of `text[span]` (spans dropped), for comparing code.
pub fn tokens_of(text: &str, span: Span) -> Option<Vec<Tok>> {
    let part = text.get(span.range())?;
    lua::tokenize(part)
        .ok()
        .map(|t| t.into_iter().map(|t| t.tok).collect())
}

impl Idioms {
    /// Find the idioms in a policy kumoc emitted.
    pub fn from_policy(text: &str) -> Idioms {
        let mut out = Idioms::default();
        let Ok(ast) = lua::parse(text) else {
            return out;
        };
        for s in &ast {
            match &s.kind {
                StmtKind::LocalFunction(n, body) if n == "valid_user" => {
                    out.valid_user = tokens_of(text, body.span);
                }
                StmtKind::LocalFunction(n, body) if n == "warmup_limit" => {
                    out.warmup_limit = tokens_of(text, body.span);
                }
                StmtKind::Call(call) => {
                    let Some((event, handler)) = on_call(call) else {
                        continue;
                    };
                    let ExprKind::Function(f) = &handler.kind else {
                        continue;
                    };
                    match event.as_str() {
                        "http_server_validate_auth_basic" => {
                            out.basic_auth = tokens_of(text, f.span);
                        }
                        "get_acl_definition" => out.metrics_acl = tokens_of(text, f.span),
                        "get_egress_path_config" => out.warmup_handler = tokens_of(text, f.span),
                        "init" => {
                            for st in &f.body {
                                if let StmtKind::LocalFunction(n, b) = &st.kind {
                                    if n == "read_secret" {
                                        out.read_secret = tokens_of(text, b.span);
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// `kumo.on('event', handler)`: the event and the handler.
fn on_call(e: &Expr) -> Option<(String, &Expr)> {
    let ExprKind::Call(callee, args) = &e.kind else {
        return None;
    };
    if callee.dotted().as_deref() != Some("kumo.on") {
        return None;
    }
    match args.as_slice() {
        [ev, handler] => Some((ev.as_str()?, handler)),
        _ => None,
    }
}

/// A data file a helper is set up with: the path as written, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub path: String,
    pub span: Span,
}

/// Where `validation_options` and `load_validation_options` are, and whether each has
/// `http_timeout`.
type Validation = (Option<(Span, bool)>, Option<(Span, bool)>);

/// Where a make_* function's fields are described.
type FieldsOf = Box<dyn Fn(&str) -> Option<&'static schema::Field>>;

/// What the shaping helper was set up with.
#[derive(Debug, Clone, Default)]
pub struct ShapingSetup {
    pub span: Span,
    /// `setup_with_automation` (with TSA options) rather than `setup`.
    pub automation: bool,
    pub extra_files: Vec<FileRef>,
    /// KumoMTA's bundled `shaping.toml` is loaded first (no `no_default_files = true`).
    pub default_files: bool,
    pub publish: Option<(Vec<String>, Span)>,
    pub subscribe: Option<(Vec<String>, Span)>,
    pub pre_filter: Option<bool>,
    pub cache_ttl: Option<KVal>,
}

/// A listener's port, and where it is set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Port {
    pub port: u16,
    pub span: Span,
}

/// What the MTA policy says beyond the blocks it wrote.
#[derive(Debug, Clone, Default)]
pub struct Mta {
    pub file: FileId,
    pub sources_files: Vec<FileRef>,
    pub dkim_files: Vec<FileRef>,
    pub queue_files: Vec<FileRef>,
    pub shaping: Option<ShapingSetup>,
    pub setup_publish: bool,
    pub smtp_port: Option<Port>,
    pub http_port: Option<Port>,
    /// A second HTTP listener that only sets `trusted_hosts`: the metrics listener.
    pub metrics: Option<(Port, Vec<String>)>,
    /// `msg:set_meta('routing_domain', HOST)` in the reception handlers: all mail goes there.
    pub sink_host: Option<(String, Span)>,
    /// The policy reads API users' passwords from files under the users directory.
    pub users: Option<(Vec<String>, Span)>,
    /// A custom get_queue_config handler (where).
    pub custom_queue_config: Option<Span>,
    /// Files run with `dofile` (not imported; their literal values are checked).
    pub dofiles: Vec<String>,
    /// kumoc's IP warm-up schedules: source, day 0's first second (UTC), daily volumes.
    pub warmups: Vec<(String, i64, Vec<i64>)>,
}

/// What the TSA policy says.
#[derive(Debug, Clone, Default)]
pub struct Tsa {
    pub file: FileId,
    pub port: Option<Port>,
    pub trusted_hosts: Option<(Vec<String>, Span)>,
    pub shaping_files: Option<(Vec<FileRef>, Span)>,
}

/// What the sink policy says.
#[derive(Debug, Clone, Default)]
pub struct Sink {
    pub file: FileId,
    pub port: Option<Port>,
    pub relay_hosts: Option<(Vec<String>, Span)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Mta,
    Tsa,
    Sink,
}

/// What a name is bound to.
#[derive(Debug, Clone)]
enum Bind<'a> {
    Value(Option<Raw>),
    Func(&'a FuncBody),
    Module(String),
    Shaper,
    /// The `get_egress_path_config` function `shaping:setup(files)` returns.
    ShaperFn,
    Signer,
    QueueHelper,
    /// `kumo.memoize(kumo.shaping.load, ...)`.
    ShapingLoad,
    /// kumoc's `read_secret(path)`.
    ReadSecret,
    /// Something else (a memoized function, a value that is not a literal).
    Other,
}

/// Statements of one body that are not imported, reported together.
struct Dropped {
    what: String,
    spans: Vec<(Span, String)>,
}

struct Walker<'a, 'c> {
    cx: &'c mut Cx,
    file: FileId,
    text: String,
    env: &'c Env,
    idioms: &'c Idioms,
    role: Role,
    scopes: Vec<BTreeMap<String, Bind<'a>>>,
    globals: BTreeMap<String, Bind<'a>>,
    env_reported: BTreeSet<(u32, u32)>,
    /// Evaluating a secret: environment values are never shown.
    secret_context: bool,
    mta: Mta,
    tsa: Tsa,
    sink: Sink,
    /// `get_queue_config` registrants in order: (what, where).
    queue_config: Vec<(&'static str, Span)>,
    http_listeners: usize,
    smtp_listeners: usize,
    /// Handlers registered, by event (for duplicates).
    events: BTreeMap<String, Span>,
    /// Custom `get_queue_config` handlers (by start) that end by returning a config.
    answers_all: BTreeSet<u32>,
    /// How deep local functions are being read in place.
    inline_depth: usize,
    /// The spools `init` defines.
    spools: BTreeSet<String>,
}

impl Scope for Walker<'_, '_> {
    fn constant(&self, name: &str) -> Option<Option<Raw>> {
        match self.lookup(name)? {
            Bind::Value(v) => Some(v.clone()),
            _ => None,
        }
    }
}

/// Read the MTA policy.
pub fn mta(cx: &mut Cx, file: FileId, env: &Env, idioms: &Idioms) -> Mta {
    let Some(ast) = parse(cx, file) else {
        return Mta {
            file,
            ..Mta::default()
        };
    };
    let mut w = Walker::new(cx, file, env, idioms, Role::Mta);
    w.top(&ast);
    w.finish_mta();
    w.mta
}

/// Read the TSA policy.
pub fn tsa(cx: &mut Cx, file: FileId, env: &Env, idioms: &Idioms) -> Tsa {
    let Some(ast) = parse(cx, file) else {
        return Tsa {
            file,
            ..Tsa::default()
        };
    };
    let mut w = Walker::new(cx, file, env, idioms, Role::Tsa);
    w.top(&ast);
    w.tsa
}

/// Read the sink policy.
pub fn sink(cx: &mut Cx, file: FileId, env: &Env, idioms: &Idioms) -> Sink {
    let Some(ast) = parse(cx, file) else {
        return Sink {
            file,
            ..Sink::default()
        };
    };
    let mut w = Walker::new(cx, file, env, idioms, Role::Sink);
    w.top(&ast);
    w.sink
}

fn parse(cx: &mut Cx, file: FileId) -> Option<Vec<Stmt>> {
    let text = cx.sources.get(file)?.text.clone();
    cx.used.insert(file);
    match lua::parse(&text) {
        Ok(ast) => Some(ast),
        Err(e) => {
            cx.push(
                Diagnostic::new(
                    codes::IMPORT_LUA_SYNTAX,
                    format!("cannot read {}: {}", cx.sources.name(file), e.message),
                    Loc::new(file, e.span),
                    e.message.clone(),
                )
                .with_help("this is not Lua 5.4 that KumoMTA would load: fix the syntax error, then import again"),
            );
            None
        }
    }
}

/// `"0.0.0.0:2500"` → 2500, and whether it listens on every address.
fn listen_port(s: &str) -> Option<(u16, bool)> {
    let (host, port) = s.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let all = matches!(host, "0.0.0.0" | "[::]" | "::" | "");
    Some((port, all))
}

fn raw_strings(raw: &Raw) -> Option<Vec<String>> {
    match raw {
        Raw::List(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect(),
        Raw::Str(s) => Some(vec![s.clone()]),
        _ => None,
    }
}

impl<'a, 'c> Walker<'a, 'c> {
    fn new(cx: &'c mut Cx, file: FileId, env: &'c Env, idioms: &'c Idioms, role: Role) -> Self {
        let text = cx
            .sources
            .get(file)
            .map(|f| f.text.to_string())
            .unwrap_or_default();
        Walker {
            cx,
            file,
            text,
            env,
            idioms,
            role,
            scopes: vec![BTreeMap::new()],
            globals: BTreeMap::new(),
            env_reported: BTreeSet::new(),
            secret_context: false,
            mta: Mta {
                file,
                ..Mta::default()
            },
            tsa: Tsa {
                file,
                ..Tsa::default()
            },
            sink: Sink {
                file,
                ..Sink::default()
            },
            queue_config: Vec::new(),
            http_listeners: 0,
            smtp_listeners: 0,
            events: BTreeMap::new(),
            answers_all: BTreeSet::new(),
            inline_depth: 0,
            spools: BTreeSet::new(),
        }
    }

    fn loc(&self, span: Span) -> Loc {
        Loc::new(self.file, span)
    }

    fn push(&mut self, d: Diagnostic) {
        self.cx.push(d);
    }

    fn lookup(&self, name: &str) -> Option<&Bind<'a>> {
        self.scopes
            .iter()
            .rev()
            .find_map(|s| s.get(name))
            .or_else(|| self.globals.get(name))
    }

    fn bind(&mut self, name: &str, b: Bind<'a>) {
        if let Some(s) = self.scopes.last_mut() {
            s.insert(name.to_string(), b);
        }
    }

    /// Evaluate, reporting the environment variables read.
    fn value(&mut self, e: &Expr) -> Eval {
        let mut uses = Vec::new();
        let r = eval::eval(e, &*self, self.env, &mut uses);
        for u in uses {
            self.report_env(&u);
        }
        r
    }

    fn report_env(&mut self, u: &EnvUse) {
        if !self.env_reported.insert((u.span.start, u.span.end)) {
            return;
        }
        let label = match (&u.value, self.secret_context) {
            (Some(_), true) => format!("set in {}: its value is not copied", u.origin),
            (Some(v), false) => format!("imported as {v:?}, from {}", u.origin),
            (None, _) => {
                "not set in the environment given: the policy's default is imported".to_string()
            }
        };
        let help = if self.secret_context {
            "kumoc's policy reads no environment variables, and a secret is never copied: it becomes a `secret(...)` reference (see K4009)".to_string()
        } else {
            format!(
                "kumoc's policy reads no environment variables: the value is written into the .kumo files. To import another value, pass `--env-var {}=VALUE` (or the Helm values that set it)",
                u.name
            )
        };
        let d = Diagnostic::new(
            codes::IMPORT_ENVIRONMENT_VALUE,
            format!(
                "`{}` is read from the environment when KumoMTA starts",
                u.name
            ),
            self.loc(u.span),
            label,
        )
        .with_help(help);
        self.push(d);
    }

    /// A value for a field, or a diagnostic when it is not a literal.
    fn field_value(&mut self, e: &Expr, what: &str, default: &str) -> Option<Raw> {
        match self.value(e) {
            Ok(v) => v,
            Err(Unknown(at)) => {
                let mut d = Diagnostic::new(
                    codes::IMPORT_NOT_A_LITERAL,
                    format!("{what} is not a literal"),
                    self.loc(at),
                    "computed when the policy runs",
                )
                .with_help(format!(
                    "the import reads literals, tables of literals and `os.getenv(\"X\") or LITERAL`; {default}: write the value into the .kumo file"
                ));
                if at != e.span {
                    d = d.with_secondary(self.loc(e.span), "the value");
                }
                self.push(d);
                None
            }
        }
    }

    /// The fields of a table argument (`{ a = 1 }`): name, where the name is, the value.
    fn fields(&mut self, e: &'a Expr, what: &str) -> Option<Vec<(String, Span, &'a Expr)>> {
        match &e.kind {
            ExprKind::Table(fields) => {
                let mut out = Vec::new();
                for f in fields {
                    match f {
                        Field::Named(n, at, v) => out.push((n.clone(), *at, v)),
                        Field::Keyed(k, v) => match k.as_str() {
                            Some(n) => out.push((n, k.span, v)),
                            None => self.unknown_param(k.span, what),
                        },
                        Field::Item(v) => self.unknown_param(v.span, what),
                    }
                }
                Some(out)
            }
            ExprKind::Name(n) => {
                // A local table built elsewhere: only its literal value is known.
                let _ = n;
                self.push(
                    Diagnostic::new(
                        codes::IMPORT_NOT_A_LITERAL,
                        format!("the parameters of {what} are not a table literal"),
                        self.loc(e.span),
                        "a variable",
                    )
                    .with_help("the import reads the table written at the call; write the parameters there, or into the .kumo file"),
                );
                None
            }
            _ => {
                self.push(
                    Diagnostic::new(
                        codes::IMPORT_NOT_A_LITERAL,
                        format!("the parameters of {what} are not a table literal"),
                        self.loc(e.span),
                        "computed when the policy runs",
                    )
                    .with_help("the import reads the table written at the call; write the parameters into the .kumo file"),
                );
                None
            }
        }
    }

    fn unknown_param(&mut self, at: Span, what: &str) {
        self.push(
            Diagnostic::new(
                codes::IMPORT_SETTING_NOT_DESCRIBED,
                format!("a parameter of {what} that kumoc has no place for"),
                self.loc(at),
                "not imported",
            )
            .with_help("kumoc describes the parameters it can check; this one is left out of the .kumo files"),
        );
    }

    fn not_imported(&mut self, at: Span, message: String, label: &str, help: &str) {
        self.push(
            Diagnostic::new(
                codes::IMPORT_SETTING_NOT_DESCRIBED,
                message,
                self.loc(at),
                label.to_string(),
            )
            .with_help(help.to_string()),
        );
    }

    fn flush(&mut self, d: Dropped) {
        let Some(((first, first_what), rest)) = d.spans.split_first() else {
            return;
        };
        let n = d.spans.len();
        let mut diag = Diagnostic::new(
            codes::IMPORT_CODE_NOT_DESCRIBED,
            if n == 1 {
                format!("code in {} that kumoc does not describe", d.what)
            } else {
                format!("{n} statements in {} that kumoc does not describe", d.what)
            },
            self.loc(*first),
            first_what.clone(),
        )
        .with_help("not imported: kumoc writes the policy itself, so custom Lua has no place in .kumo; if it matters, describe its effect with .kumo settings");
        for (at, what) in rest.iter().take(24) {
            diag = diag.with_secondary(self.loc(*at), what.clone());
        }
        if rest.len() > 24 {
            diag = diag.with_note(format!("and {} more", rest.len() - 24));
        }
        self.push(diag);
    }

    // ----- the top level ------------------------------------------------------------------

    fn top(&mut self, ast: &'a [Stmt]) {
        for s in ast {
            self.top_stmt(s);
        }
    }

    fn top_stmt(&mut self, s: &'a Stmt) {
        match &s.kind {
            StmtKind::Local(names, exprs) => {
                for (i, name) in names.iter().enumerate() {
                    match exprs.get(i) {
                        Some(e) => {
                            let b = self.top_binding(e, s.span);
                            self.bind(name, b);
                        }
                        None => self.bind(name, Bind::Value(None)),
                    }
                }
            }
            StmtKind::LocalFunction(name, body) => self.bind(name, Bind::Func(body)),
            StmtKind::Function(path, None, body) if path.len() == 1 => {
                if let Some(n) = path.first() {
                    self.globals.insert(n.clone(), Bind::Func(body));
                }
            }
            StmtKind::Assign(targets, exprs) if targets.len() == 1 && exprs.len() == 1 => {
                match (&targets[0].kind, exprs.first()) {
                    (ExprKind::Name(n), Some(e)) => {
                        let b = self.top_binding(e, s.span);
                        self.globals.insert(n.clone(), b);
                    }
                    _ => self.top_dropped(s, "an assignment"),
                }
            }
            StmtKind::Call(e) => self.top_call(e, s),
            StmtKind::If(arms, otherwise) => match self.branch(arms, otherwise.as_ref()) {
                Ok(Some(block)) => self.top(block),
                Ok(None) => {}
                Err(at) => {
                    self.top_dropped_at(s.span, at, "a condition not known before the policy runs")
                }
            },
            _ => self.top_dropped(s, "a statement"),
        }
    }

    /// The branch of an `if` whose condition holds (conditions must be statically known).
    fn branch(
        &mut self,
        arms: &'a [(Expr, Vec<Stmt>)],
        otherwise: Option<&'a Vec<Stmt>>,
    ) -> Result<Option<&'a [Stmt]>, Span> {
        for (cond, block) in arms {
            match self.value(cond) {
                Ok(v) if !matches!(v, None | Some(Raw::Bool(false))) => return Ok(Some(block)),
                Ok(_) => {}
                Err(Unknown(at)) => return Err(at),
            }
        }
        Ok(otherwise.map(Vec::as_slice))
    }

    fn top_dropped(&mut self, s: &Stmt, what: &str) {
        self.top_dropped_at(s.span, s.span, what);
    }

    fn top_dropped_at(&mut self, stmt: Span, at: Span, what: &str) {
        let mut d = Diagnostic::new(
            codes::IMPORT_CODE_NOT_DESCRIBED,
            format!("{what} at the top of the policy that kumoc does not describe"),
            self.loc(at),
            "not imported",
        )
        .with_help("kumoc writes the policy itself, so custom Lua has no place in .kumo; if it matters, describe its effect with .kumo settings");
        if stmt != at {
            d = d.with_secondary(self.loc(stmt), "this statement");
        }
        self.push(d);
    }

    /// What `local NAME = e` binds, handling the helpers' setup calls.
    fn top_binding(&mut self, e: &'a Expr, stmt: Span) -> Bind<'a> {
        match &e.kind {
            ExprKind::Call(callee, args) if callee.dotted().as_deref() == Some("require") => {
                match args.first().and_then(Expr::as_str) {
                    Some(m) => {
                        self.require(&m, e.span);
                        Bind::Module(m)
                    }
                    None => Bind::Other,
                }
            }
            ExprKind::Method(obj, method, args) => self.setup(obj, method, args, e.span),
            ExprKind::Call(callee, args) if callee.dotted().as_deref() == Some("kumo.memoize") => {
                match args.first().and_then(Expr::dotted).as_deref() {
                    Some("kumo.shaping.load") => Bind::ShapingLoad,
                    _ => Bind::Other,
                }
            }
            ExprKind::Call(callee, _) if callee.dotted().as_deref() == Some("dofile") => {
                self.dofile(e);
                Bind::Other
            }
            ExprKind::Function(f) => Bind::Func(f),
            _ => match self.value(e) {
                Ok(v) => Bind::Value(v),
                Err(_) => {
                    if contains_call(e) {
                        self.top_dropped_at(stmt, e.span, "a computed value");
                    }
                    Bind::Other
                }
            },
        }
    }

    fn require(&mut self, module: &str, at: Span) {
        let known = matches!(
            module,
            "kumo"
                | "tsa"
                | "policy-extras.sources"
                | "policy-extras.dkim_sign"
                | "policy-extras.shaping"
                | "policy-extras.queue"
                | "policy-extras.policy_utils"
                | "policy-extras.log_hooks"
                | "policy-extras.listener_domains"
        );
        if !known {
            self.push(
                Diagnostic::new(
                    codes::IMPORT_CODE_NOT_DESCRIBED,
                    format!("the module `{module}` is Lua kumoc does not describe"),
                    self.loc(at),
                    "not imported",
                )
                .with_help(
                    "what the module does is not read; describe its effect with .kumo settings",
                ),
            );
        }
    }

    fn dofile(&mut self, e: &Expr) {
        let path = match &e.kind {
            ExprKind::Call(_, args) => args.first().and_then(Expr::as_str),
            _ => None,
        };
        if let Some(p) = &path {
            self.mta.dofiles.push(p.clone());
        }
        self.push(
            Diagnostic::new(
                codes::IMPORT_CODE_NOT_DESCRIBED,
                match &path {
                    Some(p) => format!("`dofile` runs {p}, Lua kumoc does not describe"),
                    None => "`dofile` runs Lua kumoc does not describe".to_string(),
                },
                self.loc(e.span),
                "not imported",
            )
            .with_help("the file is not read; describe its effect with .kumo settings (its handlers and values are not part of the import)"),
        );
    }

    fn module_of(&self, obj: &Expr) -> Option<String> {
        match obj.dotted().and_then(|n| self.lookup(&n).cloned()) {
            Some(Bind::Module(m)) => Some(m),
            _ => None,
        }
    }

    /// `X:setup(...)` and friends on the helper modules; what the result is bound to.
    fn setup(&mut self, obj: &'a Expr, method: &str, args: &'a [Expr], at: Span) -> Bind<'a> {
        let module = self.module_of(obj).unwrap_or_default();
        match (module.as_str(), method) {
            ("policy-extras.sources", "setup") => {
                self.mta.sources_files = self.file_list(args.first(), "the sources helper");
                Bind::Other
            }
            ("policy-extras.dkim_sign", "setup") => {
                self.mta.dkim_files = self.file_list(args.first(), "the DKIM helper");
                Bind::Signer
            }
            ("policy-extras.queue", "setup") => {
                self.mta.queue_files = self.file_list(args.first(), "the queue helper");
                self.queue_config.push(("queue", at));
                Bind::QueueHelper
            }
            ("policy-extras.queue", "setup_with_options") => {
                if let Some(opts) = args.first() {
                    if let Some(fields) = self.fields(opts, "the queue helper's options") {
                        for (name, nat, v) in fields {
                            match name.as_str() {
                                "file_names" => {
                                    self.mta.queue_files =
                                        self.file_list(Some(v), "the queue helper")
                                }
                                "skip_queue_config_hook" => {
                                    if self.field_value(
                                        v,
                                        "skip_queue_config_hook",
                                        "it is taken as false",
                                    ) == Some(Raw::Bool(true))
                                    {
                                        self.not_imported(nat, "the queue helper's get_queue_config handler is skipped".into(), "not imported", "kumoc always registers the queue helper's handler, last");
                                    }
                                }
                                _ => self.unknown_param(nat, "the queue helper's options"),
                            }
                        }
                    }
                }
                self.queue_config.push(("queue", at));
                Bind::QueueHelper
            }
            ("policy-extras.shaping", "setup_with_automation") => {
                self.shaping_setup(args.first(), at);
                self.queue_config.push(("shaping", at));
                Bind::Shaper
            }
            ("policy-extras.shaping", "setup") => {
                let files = self.file_list(args.first(), "the shaping helper");
                self.mta.shaping = Some(ShapingSetup {
                    span: at,
                    automation: false,
                    extra_files: files,
                    default_files: true,
                    ..ShapingSetup::default()
                });
                self.release_check(at, None);
                Bind::ShaperFn
            }
            ("policy-extras.log_hooks", m) => {
                self.queue_config.push(("log_hooks", at));
                self.not_imported(
                    at,
                    format!("a log hook (`log_hooks:{m}`) is not imported"),
                    "not imported",
                    "kumoc has no place for log hooks (webhooks): configure them outside kumoc, or ask for a .kumo block",
                );
                Bind::Other
            }
            ("policy-extras.listener_domains", _) => {
                self.not_imported(
                    at,
                    "inbound listener domains (`listener_domains`) are not imported".into(),
                    "not imported",
                    "kumoc has no place for listener domains yet: the MTA accepts mail only from `smtp_listener.relay_hosts`",
                );
                Bind::Other
            }
            _ => {
                self.push(
                    Diagnostic::new(
                        codes::IMPORT_CODE_NOT_DESCRIBED,
                        format!("`:{method}` is a call kumoc does not describe"),
                        self.loc(at),
                        "not imported",
                    )
                    .with_help("only the policy-extras helpers' setup calls are read"),
                );
                Bind::Other
            }
        }
    }

    /// A list of data files: `{ "/path/a.toml", ... }`.
    fn file_list(&mut self, e: Option<&'a Expr>, what: &str) -> Vec<FileRef> {
        let Some(e) = e else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match &e.kind {
            ExprKind::Table(fields) => {
                for f in fields {
                    match f {
                        Field::Item(item) => match self.value(item) {
                            Ok(Some(Raw::Str(p))) => out.push(FileRef {
                                path: p,
                                span: item.span,
                            }),
                            Ok(_) | Err(_) if matches!(item.kind, ExprKind::Table(_)) => {
                                self.not_imported(
                                    item.span,
                                    format!("inline data for {what} is not imported"),
                                    "a Lua table instead of a file",
                                    "move the data into a TOML file the helper reads, then import again",
                                );
                            }
                            _ => {
                                self.push(
                                    Diagnostic::new(
                                        codes::IMPORT_NOT_A_LITERAL,
                                        format!("a file of {what} is not a literal"),
                                        self.loc(item.span),
                                        "computed when the policy runs",
                                    )
                                    .with_help(
                                        "write the path as a string literal, then import again",
                                    ),
                                );
                            }
                        },
                        _ => self.unknown_param(e.span, what),
                    }
                }
            }
            _ => match self.value(e) {
                Ok(Some(Raw::List(items))) => {
                    for i in items {
                        if let Raw::Str(p) = i {
                            out.push(FileRef {
                                path: p,
                                span: e.span,
                            });
                        }
                    }
                }
                _ => {
                    self.push(
                        Diagnostic::new(
                            codes::IMPORT_NOT_A_LITERAL,
                            format!("the files of {what} are not a literal list"),
                            self.loc(e.span),
                            "computed when the policy runs",
                        )
                        .with_help("write the list of paths at the call, then import again"),
                    );
                }
            },
        }
        out
    }

    fn shaping_setup(&mut self, opts: Option<&'a Expr>, at: Span) {
        let mut setup = ShapingSetup {
            span: at,
            automation: true,
            default_files: true,
            ..ShapingSetup::default()
        };
        let mut validation: Option<(Span, bool)> = None;
        let mut load_validation: Option<(Span, bool)> = None;
        if let Some(fields) = opts.and_then(|o| self.fields(o, "the shaping helper's options")) {
            for (name, nat, v) in fields {
                match name.as_str() {
                    "extra_files" => {
                        setup.extra_files = self.file_list(Some(v), "the shaping helper")
                    }
                    "no_default_files" => {
                        if self.field_value(
                            v,
                            "no_default_files",
                            "the bundled shaping file is taken as loaded",
                        ) == Some(Raw::Bool(true))
                        {
                            setup.default_files = false;
                        }
                    }
                    "publish" | "subscribe" => {
                        let urls = match self.field_value(
                            v,
                            &format!("`{name}`"),
                            "TSA is taken as not used",
                        ) {
                            Some(raw) => raw_strings(&raw).unwrap_or_default(),
                            None => Vec::new(),
                        };
                        let entry = Some((urls, v.span));
                        if name == "publish" {
                            setup.publish = entry;
                        } else {
                            setup.subscribe = entry;
                        }
                    }
                    "pre_filter" => {
                        if let Some(Raw::Bool(b)) =
                            self.field_value(v, "`pre_filter`", "kumoc's default (true) is kept")
                        {
                            setup.pre_filter = Some(b);
                        }
                    }
                    "cache_ttl" => {
                        if let Some(raw) =
                            self.field_value(v, "`cache_ttl`", "kumoc's default (1m) is kept")
                        {
                            setup.cache_ttl =
                                values::convert(&Ty::Duration, &raw, self.cx.flavor).ok();
                        }
                    }
                    "validation_options" | "load_validation_options" => {
                        let has_timeout = matches!(&v.kind, ExprKind::Table(fs) if fs.iter().any(|f| matches!(f, Field::Named(n, _, _) if n == "http_timeout")));
                        if name == "validation_options" {
                            validation = Some((v.span, has_timeout));
                        } else {
                            load_validation = Some((v.span, has_timeout));
                        }
                        let differs = !self.is_kumoc_validation(v);
                        if differs {
                            self.not_imported(
                                nat,
                                format!("the shaping helper's `{name}` are not imported"),
                                "kumoc writes its own",
                                "kumoc passes validation options that warn about DNS and overlaps and fail on unreadable local files (with `http_timeout` on releases that need it)",
                            );
                        }
                    }
                    _ => self.unknown_param(nat, "the shaping helper's options"),
                }
            }
        }
        self.release_check(at, Some((validation, load_validation)));
        self.mta.shaping = Some(setup);
    }

    /// Whether a validation options table is the one kumoc writes (any release).
    fn is_kumoc_validation(&mut self, e: &Expr) -> bool {
        let Ok(Some(Raw::Table(t))) = self.value(e) else {
            return false;
        };
        let want: &[(&str, Raw)] = &[
            ("aliased_site", Raw::Str("Warn".into())),
            ("dns_fail", Raw::Str("Warn".into())),
            ("null_mx", Raw::Str("Warn".into())),
            ("provider_overlap", Raw::Str("Warn".into())),
            ("local_load", Raw::Str("Error".into())),
            ("remote_load", Raw::Str("Ignore".into())),
            ("skip_remote", Raw::Bool(true)),
        ];
        let rest: Vec<&(String, Raw)> = t
            .iter()
            .filter(|(k, v)| !(k == "http_timeout" && *v == Raw::Str("5s".into())))
            .collect();
        rest.len() == want.len()
            && want
                .iter()
                .all(|(k, v)| rest.iter().any(|(rk, rv)| rk == k && rv == v))
    }

    /// KumoMTA before 2025.05.06 requires `http_timeout` in any shaping validation options,
    /// including the helper's own default (`shared/reference/kumomta.md` §5.4).
    fn release_check(&mut self, at: Span, options: Option<Validation>) {
        if self
            .cx
            .version
            .supports(kumoc_lang::units::Feature::OptionalHttpTimeout)
        {
            return;
        }
        let (validation, load) = options.unwrap_or((None, None));
        let mut problems = Vec::new();
        match validation {
            None => problems.push((at, "no `validation_options`: the helper's default has no `http_timeout`, so `kumod --validate` fails".to_string())),
            Some((span, false)) => problems.push((span, "`validation_options` without `http_timeout`: `kumod --validate` fails".to_string())),
            Some((_, true)) => {}
        }
        if let Some((span, false)) = load {
            problems.push((
                span,
                "`load_validation_options` without `http_timeout`: loading the shaping data fails"
                    .to_string(),
            ));
        }
        for (span, label) in problems {
            self.push(
                Diagnostic::new(
                    codes::IMPORT_RELEASE_REJECTS_POLICY,
                    format!("KumoMTA {} rejects this shaping setup", self.cx.version),
                    self.loc(span),
                    label,
                )
                .with_help("KumoMTA before 2025.05.06-b29689af fails with \"missing field `http_timeout`\" (shared/reference/kumomta.md §5.4); the imported deployment is not affected: kumoc writes the validation options with `http_timeout` itself"),
            );
        }
    }

    fn top_call(&mut self, e: &'a Expr, s: &'a Stmt) {
        if let Some((event, handler)) = on_call(e) {
            self.event(&event, handler, e.span);
            return;
        }
        match &e.kind {
            ExprKind::Method(obj, method, args) => {
                let _ = self.setup(obj, method, args, e.span);
            }
            ExprKind::Call(callee, args) => match callee.dotted().as_deref() {
                Some("require") => {
                    if let Some(m) = args.first().and_then(Expr::as_str) {
                        self.require(&m, e.span);
                    }
                }
                Some("dofile") => self.dofile(e),
                _ => self.top_dropped(s, "a call"),
            },
            _ => self.top_dropped(s, "a statement"),
        }
    }

    // ----- events ---------------------------------------------------------------------------

    /// The function a handler expression names.
    fn handler_body(&self, h: &'a Expr) -> Option<&'a FuncBody> {
        match &h.kind {
            ExprKind::Function(f) => Some(f),
            ExprKind::Name(n) => match self.lookup(n) {
                Some(Bind::Func(f)) => Some(*f),
                _ => None,
            },
            _ => None,
        }
    }

    fn event(&mut self, event: &str, handler: &'a Expr, at: Span) {
        if let Some(first) = self.events.get(event).copied() {
            if !matches!(
                event,
                "get_queue_config"
                    | "should_enqueue_log_record"
                    | "throttle_insert_ready_queue"
                    | "requeue_message"
                    | "validate_config"
                    | "pre_init"
                    | "get_acl_definition"
            ) {
                self.push(
                    Diagnostic::new(codes::IMPORT_CODE_NOT_DESCRIBED, format!("a second `{event}` handler"), self.loc(at), "KumoMTA refuses to load this")
                        .with_secondary(self.loc(first), "the first one")
                        .with_help("`kumo.on` takes one handler per event for this event: the policy does not load (\"event already has a handler defined\"); only the first is imported"),
                );
                return;
            }
        }
        self.events.entry(event.to_string()).or_insert(at);
        // A helper's setup call as the handler: `kumo.on('get_egress_path_config',
        // shaping:setup { ... })` (the setup reports what it does not import itself).
        if let ExprKind::Method(obj, method, args) = &handler.kind {
            let b = self.setup(obj, method, args, handler.span);
            if !(event == "get_egress_path_config" && matches!(b, Bind::ShaperFn)) {
                if !matches!(b, Bind::Other) {
                    self.custom_handler(event, handler, at);
                }
            }
            return;
        }
        match (self.role, event) {
            (Role::Mta | Role::Sink, "init") => match self.handler_body(handler) {
                Some(f) => self.init_body(f),
                None => self.custom_handler(event, handler, at),
            },
            (Role::Tsa, "tsa_init") => match self.handler_body(handler) {
                Some(f) => self.tsa_init(f),
                None => self.custom_handler(event, handler, at),
            },
            (Role::Tsa, "tsa_load_shaping_data") => self.tsa_shaping(handler, at),
            (Role::Mta, "get_egress_path_config") => self.egress_handler(handler, at),
            (Role::Mta, "get_queue_config") => self.queue_handler(handler, at),
            (Role::Mta | Role::Sink, "smtp_server_message_received" | "http_message_generated") => {
                match self.handler_body(handler) {
                    Some(f) => self.reception(event, f),
                    None => self.custom_handler(event, handler, at),
                }
            }
            (Role::Mta, "http_server_validate_auth_basic") => self.basic_auth(handler, at),
            (Role::Mta, "get_acl_definition") => self.acl(handler, at),
            (Role::Mta, "get_listener_domain") => self.not_imported(
                at,
                "inbound listener domains (`get_listener_domain`) are not imported".into(),
                "not imported",
                "kumoc has no place for listener domains yet: the MTA accepts mail only from `smtp_listener.relay_hosts`",
            ),
            _ => self.custom_handler(event, handler, at),
        }
    }

    fn custom_handler(&mut self, event: &str, handler: &Expr, at: Span) {
        let logs_only = self.handler_body(handler).is_some_and(logs_only);
        self.push(
            Diagnostic::new(
                codes::IMPORT_CODE_NOT_DESCRIBED,
                format!("a custom `{event}` handler"),
                self.loc(at),
                if logs_only {
                    "it only logs: not imported"
                } else {
                    "not imported"
                },
            )
            .with_help("kumoc writes its own handlers; this one's code has no place in .kumo"),
        );
    }

    fn egress_handler(&mut self, handler: &'a Expr, at: Span) {
        let shaper = |w: &Self, e: &Expr| -> bool {
            match &e.kind {
                ExprKind::Index(obj, key) => {
                    key.as_str().as_deref() == Some("get_egress_path_config")
                        && obj
                            .dotted()
                            .is_some_and(|n| matches!(w.lookup(&n), Some(Bind::Shaper)))
                }
                ExprKind::Name(n) => matches!(w.lookup(n), Some(Bind::ShaperFn)),
                _ => false,
            }
        };
        if shaper(self, handler) {
            return;
        }
        // A function that only forwards its arguments to the shaper is the same.
        if let Some(f) = self.handler_body(handler) {
            if let [
                Stmt {
                    kind: StmtKind::Return(values),
                    ..
                },
            ] = f.body.as_slice()
            {
                if let [
                    Expr {
                        kind: ExprKind::Call(callee, args),
                        ..
                    },
                ] = values.as_slice()
                {
                    let forwards = args.len() == f.params.len()
                        && args
                            .iter()
                            .zip(&f.params)
                            .all(|(a, p)| matches!(&a.kind, ExprKind::Name(n) if n == p));
                    if forwards && shaper(self, callee) {
                        return;
                    }
                }
            }
        }
        if self.warmup_handler(handler) {
            return;
        }
        let params = self
            .handler_body(handler)
            .map(|f| f.params.join(", "))
            .unwrap_or_default();
        self.push(
            Diagnostic::new(
                codes::IMPORT_CODE_NOT_DESCRIBED,
                "a custom `get_egress_path_config` handler",
                self.loc(at),
                if params.is_empty() { "not imported".to_string() } else { format!("not imported; called with ({params})") },
            )
            .with_help("kumoc registers the shaping helper's handler as is; KumoMTA calls it with (routing_domain, egress_source, site_name). Describe per-domain and per-source settings with `shaping` blocks and their `source` blocks"),
        );
    }

    /// kumoc's IP warm-up handler (its `warmup_limit` and the `WARMUP` table beside it):
    /// the schedules are read back from the table.
    fn warmup_handler(&mut self, handler: &'a Expr) -> bool {
        let handler_ok = self
            .handler_body(handler)
            .is_some_and(|f| self.is_idiom(f.span, self.idioms.warmup_handler.as_ref()));
        let limit_ok = matches!(self.lookup("warmup_limit"), Some(Bind::Func(f)) if self.is_idiom(f.span, self.idioms.warmup_limit.as_ref()));
        let Some(Bind::Value(Some(Raw::Table(entries)))) = self.lookup("WARMUP") else {
            return false;
        };
        if !(handler_ok && limit_ok) {
            return false;
        }
        let mut out = Vec::new();
        for (source, schedule) in entries {
            let start = match schedule.get("start") {
                Some(Raw::Int(n)) => *n,
                _ => return false,
            };
            let Some(Raw::List(ramp)) = schedule.get("ramp") else {
                return false;
            };
            let ramp: Option<Vec<i64>> = ramp
                .iter()
                .map(|r| match r {
                    Raw::Int(n) => Some(*n),
                    _ => None,
                })
                .collect();
            let Some(ramp) = ramp else { return false };
            out.push((source.clone(), start, ramp));
        }
        self.mta.warmups = out;
        true
    }

    fn queue_handler(&mut self, handler: &'a Expr, at: Span) {
        let answers_all = self
            .handler_body(handler)
            .is_some_and(|f| matches!(f.body.last(), Some(Stmt { kind: StmtKind::Return(v), .. }) if !v.is_empty() && !matches!(v[0].kind, ExprKind::Nil)));
        self.queue_config.push(("custom", at));
        self.mta.custom_queue_config.get_or_insert(at);
        if answers_all {
            self.answers_all.insert(at.start);
        }
    }

    /// Report custom `get_queue_config` handlers against the helpers' order.
    fn finish_mta(&mut self) {
        let pos = |kind: &str, list: &[(&str, Span)]| list.iter().position(|(k, _)| *k == kind);
        let list = self.queue_config.clone();
        let queue = pos("queue", &list);
        let shaping = pos("shaping", &list);
        for (i, (kind, at)) in list.iter().enumerate() {
            if *kind != "custom" {
                continue;
            }
            let shadows: Vec<&str> = [("the shaping helper", shaping), ("the queue helper", queue)]
                .iter()
                .filter(|(_, p)| p.is_some_and(|p| p > i))
                .map(|(n, _)| *n)
                .collect();
            let message = if shadows.is_empty() {
                "a custom `get_queue_config` handler registered after the queue helper never runs"
                    .to_string()
            } else {
                format!(
                    "a custom `get_queue_config` handler registered before {}",
                    shadows.join(" and ")
                )
            };
            let mut d = Diagnostic::new(
                codes::IMPORT_QUEUE_CONFIG_SHADOWED,
                message,
                self.loc(*at),
                if shadows.is_empty() {
                    "the queue helper answers first, for every queue"
                } else if self.answers_all.contains(&at.start) {
                    "it returns a config for every queue: the helpers after it never run"
                } else {
                    "the first handler that returns a config wins"
                },
            )
            .with_help("not imported: kumoc registers the shaping helper, then the queue helper last, and nothing else, so `queues.toml` and TSA publishing always take effect; routing to the sink is `cluster.sink.enabled`, pools are `egress_pool` in `queue` and `tenant` blocks");
            if !shadows.is_empty() {
                d = d.with_note("whenever it returns a config, the helpers after it never run for that queue: `queues.toml` settings (pools, max_age, tenants) are ignored, and the TSA publisher queues are routed like mail, which breaks TSA publishing (shared/reference/kumomta.md §0, §5.5)");
            }
            self.push(d);
        }
        if let Some(q) = queue {
            if let Some((kind, at)) = list
                .get(q + 1..)
                .and_then(|rest| rest.iter().find(|(k, _)| *k != "custom"))
            {
                self.push(
                    Diagnostic::new(codes::IMPORT_QUEUE_CONFIG_SHADOWED, format!("the {kind} helper is set up after the queue helper"), self.loc(*at), "registers get_queue_config after the queue helper")
                        .with_help("KumoMTA's `--validate` fails: \"queue.lua is in use, but it is not the last module to register for the get_queue_config event\"; kumoc sets the queue helper up last"),
                );
            }
        }
    }

    // ----- init -----------------------------------------------------------------------------

    fn body(
        &mut self,
        stmts: &'a [Stmt],
        dropped: &mut Dropped,
        on_call: &mut dyn FnMut(&mut Self, &'a Expr, &'a Stmt) -> bool,
    ) {
        for s in stmts {
            match &s.kind {
                StmtKind::Call(e) => {
                    // A local function of the policy: its body is read in place.
                    if let ExprKind::Call(callee, args) = &e.kind {
                        if let (ExprKind::Name(n), true) = (&callee.kind, args.is_empty()) {
                            if let Some(Bind::Func(f)) = self.lookup(n).cloned() {
                                if self.inline_depth < 4 {
                                    self.inline_depth += 1;
                                    self.scopes.push(BTreeMap::new());
                                    self.body(&f.body, dropped, on_call);
                                    self.scopes.pop();
                                    self.inline_depth -= 1;
                                    continue;
                                }
                            }
                        }
                    }
                    if !on_call(self, e, s) {
                        dropped.spans.push((s.span, describe_call(e)));
                    }
                }
                StmtKind::Local(names, exprs) => {
                    for (i, n) in names.iter().enumerate() {
                        let b = match exprs.get(i) {
                            Some(Expr {
                                kind: ExprKind::Function(f),
                                ..
                            }) => Bind::Func(f),
                            Some(e) => match self.value(e) {
                                Ok(v) => Bind::Value(v),
                                Err(_) => {
                                    if contains_call(e) && !on_call(self, e, s) {
                                        dropped.spans.push((s.span, "a computed value".into()));
                                    }
                                    Bind::Other
                                }
                            },
                            None => Bind::Value(None),
                        };
                        self.bind(n, b);
                    }
                }
                StmtKind::LocalFunction(n, f) => {
                    if self.role == Role::Mta
                        && n == "read_secret"
                        && self.is_idiom(f.span, self.idioms.read_secret.as_ref())
                    {
                        self.bind(n, Bind::ReadSecret);
                    } else {
                        self.bind(n, Bind::Func(f));
                    }
                }
                StmtKind::Assign(targets, exprs) if targets.len() == 1 && exprs.len() == 1 => {
                    let (ExprKind::Name(n), Some(e)) = (&targets[0].kind, exprs.first()) else {
                        dropped.spans.push((s.span, "an assignment".into()));
                        continue;
                    };
                    let v = self.value(e).ok().map_or(Bind::Other, Bind::Value);
                    if self.scopes.iter().any(|sc| sc.contains_key(n)) {
                        for sc in self.scopes.iter_mut().rev() {
                            if let Some(slot) = sc.get_mut(n) {
                                *slot = v;
                                break;
                            }
                        }
                    } else {
                        self.globals.insert(n.clone(), v);
                    }
                }
                StmtKind::If(arms, otherwise) => match self.branch(arms, otherwise.as_ref()) {
                    Ok(Some(block)) => {
                        self.scopes.push(BTreeMap::new());
                        self.body(block, dropped, on_call);
                        self.scopes.pop();
                    }
                    Ok(None) => {}
                    Err(_) => dropped.spans.push((
                        s.span,
                        "a condition not known before the policy runs".into(),
                    )),
                },
                StmtKind::Do(block) => {
                    self.scopes.push(BTreeMap::new());
                    self.body(block, dropped, on_call);
                    self.scopes.pop();
                }
                StmtKind::NumericFor(..)
                | StmtKind::GenericFor(..)
                | StmtKind::While(..)
                | StmtKind::Repeat(..) => {
                    dropped.spans.push((s.span, "a loop".into()));
                }
                StmtKind::Return(v) if v.is_empty() => {}
                _ => dropped.spans.push((s.span, "a statement".into())),
            }
        }
    }

    fn is_idiom(&self, span: Span, idiom: Option<&Vec<Tok>>) -> bool {
        match (idiom, tokens_of(&self.text, span)) {
            (Some(want), Some(got)) => *want == got,
            _ => false,
        }
    }

    fn init_body(&mut self, f: &'a FuncBody) {
        let mut dropped = Dropped {
            what: "the `init` handler".into(),
            spans: Vec::new(),
        };
        self.scopes.push(BTreeMap::new());
        let role = self.role;
        self.body(&f.body, &mut dropped, &mut |w, e, s| match role {
            Role::Sink => w.sink_init_call(e, s),
            _ => w.init_call(e, s),
        });
        self.scopes.pop();
        self.flush(dropped);
        let missing: Vec<&str> = ["data", "meta"]
            .into_iter()
            .filter(|n| !self.spools.contains(*n))
            .collect();
        if !missing.is_empty() {
            self.push(
                Diagnostic::new(
                    codes::IMPORT_SETTING_NOT_DESCRIBED,
                    format!("the `init` handler defines no `{}` spool", missing.join("` or `")),
                    self.loc(f.span),
                    "KumoMTA needs both the `data` and the `meta` spool",
                )
                .with_help("kumod does not start without them; kumoc defines both itself (on the pod's spool volume)"),
            );
        }
    }

    fn call_parts(e: &'a Expr) -> Option<(String, &'a [Expr])> {
        match &e.kind {
            ExprKind::Call(callee, args) => Some((callee.dotted()?, args.as_slice())),
            ExprKind::Method(obj, m, args) => {
                Some((format!("{}:{m}", obj.dotted()?), args.as_slice()))
            }
            _ => None,
        }
    }

    fn init_call(&mut self, e: &'a Expr, s: &'a Stmt) -> bool {
        let Some((name, args)) = Self::call_parts(e) else {
            return false;
        };
        let arg = args.first();
        match name.as_str() {
            "kumo.define_spool" => {
                if let Some(a) = arg {
                    self.spool(a, "RocksDB");
                }
                true
            }
            "kumo.configure_local_logs" => {
                if let Some(a) = arg {
                    self.local_logs(a);
                }
                true
            }
            "kumo.set_diagnostic_log_filter" => {
                if let Some(a) = arg {
                    if let Some(Raw::Str(f)) = self.field_value(
                        a,
                        "the diagnostic log filter",
                        "kumoc's default (kumod=info) is kept",
                    ) {
                        if f != "kumod=info" {
                            self.cx
                                .files
                                .block(DEPLOYMENT_FILE, "logging", None)
                                .set("filter", KVal::Str(f));
                        }
                    }
                }
                true
            }
            "kumo.configure_bounce_classifier" => {
                if let Some(a) = arg {
                    self.bounce_classifier(a);
                }
                true
            }
            "kumo.configure_redis_throttles" => {
                if let Some(a) = arg {
                    self.redis(a);
                }
                true
            }
            "kumo.start_esmtp_listener" => {
                if let Some(a) = arg {
                    self.esmtp(a, e.span);
                }
                true
            }
            "kumo.start_http_listener" => {
                if let Some(a) = arg {
                    self.http(a, e.span);
                }
                true
            }
            n if n.ends_with(".setup_publish") => {
                let obj = n.trim_end_matches(".setup_publish");
                if matches!(self.lookup(obj), Some(Bind::Shaper)) {
                    self.mta.setup_publish = true;
                    true
                } else {
                    false
                }
            }
            n if n.starts_with("kumo.set_") && n.ends_with("_threads") => {
                if let Some(a) = arg {
                    self.env_type(
                        a,
                        &Ty::Int {
                            min: 1,
                            max: i64::MAX,
                        },
                        n,
                    );
                }
                self.not_imported(
                    s.span,
                    format!("`{n}` is not imported"),
                    "kumoc keeps KumoMTA's default",
                    "kumoc has no thread settings: KumoMTA sizes its thread pools from the CPUs it has",
                );
                true
            }
            "kumo.configure_log_hook" => {
                let hook = arg
                    .and_then(|a| match &a.kind {
                        ExprKind::Table(fs) => fs.iter().find_map(|f| match f {
                            Field::Named(n, _, v) if n == "name" => v.as_str(),
                            _ => None,
                        }),
                        _ => None,
                    })
                    .unwrap_or_default();
                self.not_imported(
                    s.span,
                    format!("the log hook `{hook}` is not imported"),
                    "not imported",
                    "kumoc configures no log hooks besides TSA publishing; a hook needs a `should_enqueue_log_record` handler and a queue that delivers its records, or they pile up in a queue nothing sends from",
                );
                true
            }
            "kumo.configure_accounting_db_path"
            | "kumo.set_config_monitor_globs"
            | "kumo.set_memory_soft_limit"
            | "kumo.set_memory_hard_limit"
            | "kumo.set_memory_low_thresh"
            | "kumo.set_httpinject_recipient_rate_limit" => {
                self.not_imported(
                    s.span,
                    format!("`{name}` is not imported"),
                    "kumoc keeps KumoMTA's default",
                    "kumoc has no place for this setting",
                );
                true
            }
            _ => false,
        }
    }

    /// `os.getenv(X) or DEFAULT` where a number or boolean goes: a string when X is set.
    fn env_type(&mut self, e: &Expr, ty: &Ty, what: &str) {
        let Some((var, default)) = eval::getenv_or(e) else {
            return;
        };
        let typed = matches!(default.kind, ExprKind::Num(_) | ExprKind::Bool(_));
        if !typed || !matches!(ty, Ty::Int { .. } | Ty::Bool) {
            return;
        }
        self.push(
            Diagnostic::new(
                codes::IMPORT_ENVIRONMENT_TYPE,
                format!("{what} is a string whenever `{var}` is set"),
                self.loc(e.span),
                "`os.getenv` returns a string",
            )
            .with_help(format!(
                "KumoMTA reads this parameter with serde and refuses a string where it expects {}: the policy fails to start once `{var}` is set; in .kumo, a value is typed where it is written",
                ty.describe()
            )),
        );
    }

    fn spool(&mut self, e: &'a Expr, kind: &str) {
        let Some(fields) = self.fields(e, "`kumo.define_spool`") else {
            return;
        };
        let mut name = None;
        for (n, _, v) in &fields {
            if n == "name" {
                name = v.as_str();
            }
        }
        let name = name.unwrap_or_default();
        self.spools.insert(name.clone());
        for (n, nat, v) in fields {
            let ok = match n.as_str() {
                "name" => matches!(name.as_str(), "data" | "meta"),
                "path" => {
                    self.value(v).ok().flatten()
                        == Some(Raw::Str(format!("{}/{name}", names::SPOOL_DIR)))
                }
                "kind" => self.value(v).ok().flatten() == Some(Raw::Str(kind.into())),
                _ => false,
            };
            if !ok {
                let what = match self.role {
                    Role::Sink => {
                        "kumoc's sink spools on LocalDisk at /var/spool/kumomta/data and meta (an emptyDir)"
                    }
                    _ => {
                        "kumoc defines the spools itself: RocksDB at /var/spool/kumomta/data and meta, on a volume per pod (`cluster.mta.spool`)"
                    }
                };
                self.not_imported(
                    nat,
                    format!("the spool's `{n}` is not imported"),
                    "kumoc's own is used",
                    what,
                );
            }
        }
    }

    fn local_logs(&mut self, e: &'a Expr) {
        let Some(fields) = self.fields(e, "`kumo.configure_local_logs`") else {
            return;
        };
        for (n, nat, v) in fields {
            match (self.role, n.as_str()) {
                (_, "log_dir") => {
                    if self.value(v).ok().flatten() != Some(Raw::Str(names::LOG_DIR.into())) {
                        self.not_imported(nat, "the delivery log directory is not imported".into(), "kumoc's is used", "kumoc writes delivery logs to /var/log/kumomta on the pod's log volume");
                    }
                }
                (Role::Mta, "max_segment_duration") => {
                    if let Some(raw) = self.field_value(v, "`max_segment_duration`", "kumoc's default (1m) is kept") {
                        if let Ok(k) = values::convert(&Ty::Duration, &raw, self.cx.flavor) {
                            if k != KVal::lit("1m") {
                                self.cx.files.block(DEPLOYMENT_FILE, "logging", None).set("max_segment_duration", k);
                            }
                        }
                    }
                }
                (Role::Mta, "headers") => {
                    if let Some(raw) = self.field_value(v, "`headers`", "no headers are logged") {
                        if let Ok(k) = values::convert(&Ty::List(&Ty::Str), &raw, self.cx.flavor) {
                            self.cx.files.block(DEPLOYMENT_FILE, "logging", None).set("headers", k);
                        }
                    }
                }
                (_, other) => self.not_imported(
                    nat,
                    format!("the delivery logs' `{other}` is not imported"),
                    "not imported",
                    "kumoc sets the log directory, the segment duration (`logging.max_segment_duration`) and the headers logged (`logging.headers`); it keeps KumoMTA's defaults for the rest, and writes every record type with KumoMTA's own format",
                ),
            }
        }
    }

    fn bounce_classifier(&mut self, e: &'a Expr) {
        let Some(fields) = self.fields(e, "`kumo.configure_bounce_classifier`") else {
            return;
        };
        for (n, nat, v) in fields {
            let ok = n == "files"
                && self.value(v).ok().flatten()
                    == Some(Raw::List(vec![Raw::Str(names::BOUNCE_CLASSIFIER.into())]));
            if !ok {
                self.not_imported(
                    nat,
                    format!("the bounce classifier's `{n}` is not imported"),
                    "kumoc's is used",
                    "kumoc classifies bounces with KumoMTA's bundled IANA rules only",
                );
            }
        }
    }

    /// A secret-valued parameter: a path (`KeySource` file), kumoc's `read_secret(path)`, an
    /// environment variable or a literal; never its value.
    fn secret(&mut self, e: &'a Expr, field: &str, default_secret: &str) -> Option<KVal> {
        if let ExprKind::Call(callee, args) = &e.kind {
            if let (Some(ExprKind::Name(n)), [arg]) = (Some(&callee.kind), args.as_slice()) {
                if matches!(self.lookup(n), Some(Bind::ReadSecret)) {
                    if let Some(path) = arg.as_str() {
                        return Some(self.cx.secret_for_path(
                            &path,
                            default_secret,
                            field,
                            SecretUse::Path,
                            Loc::new(self.file, e.span),
                        ));
                    }
                }
            }
        }
        if let Some((var, _)) = eval::getenv_or(e).or_else(|| getenv(e).map(|v| (v, e))) {
            self.secret_context = true;
            let v = self.value(e);
            self.secret_context = false;
            if let Some((name, key)) = self.env.secret_refs.get(&var).cloned() {
                self.cx.secrets.add(&name, &key);
                return Some(KVal::Call(
                    "secret".into(),
                    vec![(None, KVal::str(name)), (None, KVal::str(key))],
                ));
            }
            return match v {
                Ok(Some(_)) => Some(self.cx.secret_for_path(
                    field,
                    default_secret,
                    field,
                    SecretUse::Environment(var),
                    Loc::new(self.file, e.span),
                )),
                _ => None,
            };
        }
        self.secret_context = true;
        let v = self.value(e);
        self.secret_context = false;
        match v {
            Ok(None) => None,
            Ok(Some(Raw::Str(path))) if path.starts_with('/') => Some(self.cx.secret_for_path(
                &path,
                default_secret,
                field,
                SecretUse::Path,
                Loc::new(self.file, e.span),
            )),
            Ok(Some(_)) => Some(self.cx.secret_for_path(
                field,
                default_secret,
                field,
                SecretUse::Inline,
                Loc::new(self.file, e.span),
            )),
            Err(Unknown(at)) => {
                self.push(
                    Diagnostic::new(codes::IMPORT_NOT_A_LITERAL, format!("`{field}` is not a literal"), self.loc(at), "computed when the policy runs")
                        .with_help("name the Secret that holds it with `secret(\"name\", \"key\")` in the .kumo file"),
                );
                None
            }
        }
    }

    /// A parameter of a block kumoc describes, by the block's schema.
    fn param(
        &mut self,
        block: &'static BlockSchema,
        kumo_name: &str,
        e: &'a Expr,
        nat: Span,
        what: &str,
    ) -> Option<KVal> {
        let Some(field) = block.field(kumo_name) else {
            self.not_imported(
                nat,
                format!("`{kumo_name}` of {what} is not imported"),
                "kumoc has no place for it",
                "kumoc describes the settings it can check; this one keeps KumoMTA's default in the imported deployment",
            );
            return None;
        };
        if matches!(field.ty, Ty::Secret) {
            let default_secret = if std::ptr::eq(block, &schema::REDIS) {
                "redis"
            } else {
                "tls"
            };
            return self.secret(e, kumo_name, default_secret);
        }
        self.env_type(e, &field.ty, &format!("`{kumo_name}`"));
        let raw = self.field_value(e, &format!("`{kumo_name}`"), "kumoc's default is kept")?;
        let raw = match (&field.ty, raw) {
            // The environment's string, read the way the parameter means it.
            (Ty::Int { .. }, Raw::Str(s)) if eval::getenv_or(e).is_some() => {
                eval::number(s.trim()).unwrap_or(Raw::Str(s))
            }
            (Ty::Bool, Raw::Str(s))
                if eval::getenv_or(e).is_some() && (s == "true" || s == "false") =>
            {
                Raw::Bool(s == "true")
            }
            (_, r) => r,
        };
        match values::convert(&field.ty, &raw, self.cx.flavor) {
            Ok(v) => Some(v),
            Err(why) => {
                self.not_imported(
                    nat,
                    format!("`{kumo_name}` of {what} is not imported"),
                    &why,
                    "write it in the .kumo file in kumoc's syntax",
                );
                None
            }
        }
    }

    fn redis(&mut self, e: &'a Expr) {
        let Some(fields) = self.fields(e, "`kumo.configure_redis_throttles`") else {
            return;
        };
        let mut settings: Vec<(String, KVal)> = Vec::new();
        for (n, nat, v) in fields {
            let kumo = if n == "node" { "url" } else { n.as_str() };
            if kumo == "url" {
                match self.field_value(v, "the Redis node", "no Redis is imported") {
                    Some(Raw::Str(url)) => settings.push(("url".into(), KVal::Str(url))),
                    Some(Raw::List(nodes)) => {
                        if let Some(Raw::Str(first)) = nodes.first() {
                            settings.push(("url".into(), KVal::Str(first.clone())));
                            settings.push(("cluster".into(), KVal::lit("true")));
                        }
                        if nodes.len() > 1 {
                            self.not_imported(v.span, "Redis cluster nodes after the first are not imported".into(), "kumoc names one node", "a Redis Cluster is found from any of its nodes: `cluster.redis.url` names one, with `cluster = true`");
                        }
                    }
                    _ => {}
                }
                continue;
            }
            if let Some(k) = self.param(&schema::REDIS, kumo, v, nat, "the Redis throttles") {
                settings.retain(|(x, _)| x != kumo);
                settings.push((kumo.to_string(), k));
            }
        }
        if !settings.iter().any(|(k, _)| k == "url") {
            return;
        }
        // In the schema's order (`url` first), whatever order the table had.
        let order: Vec<&str> = schema::REDIS.all_fields().map(|f| f.name).collect();
        settings.sort_by_key(|(k, _)| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
        let cluster = self.cx.files.block(DEPLOYMENT_FILE, "cluster", None);
        let redis = cluster.child("redis", None);
        for (k, v) in settings {
            redis.set(&k, v);
        }
    }

    fn esmtp(&mut self, e: &'a Expr, at: Span) {
        self.smtp_listeners += 1;
        if self.smtp_listeners > 1 && self.role == Role::Mta {
            self.not_imported(
                at,
                "a second SMTP listener is not imported".into(),
                "not imported",
                "kumoc runs one SMTP listener on `cluster.mta.ports.smtp`",
            );
            return;
        }
        let Some(fields) = self.fields(e, "`kumo.start_esmtp_listener`") else {
            return;
        };
        let mut port = None;
        for (n, nat, v) in fields {
            match (self.role, n.as_str()) {
                (_, "listen") => port = self.listen(v, nat),
                (Role::Sink, "relay_hosts") => {
                    if let Some(raw) = self.field_value(v, "the sink's `relay_hosts`", "the sink relays for `pod_cidr`") {
                        self.sink.relay_hosts = raw_strings(&raw).map(|l| (l, v.span));
                    }
                }
                (Role::Sink, other) => self.not_imported(
                    nat,
                    format!("the sink's `{other}` is not imported"),
                    "kumoc's sink is fixed",
                    "kumoc's sink accepts mail from the pod network (`cluster.pod_cidr`) on `cluster.sink.port`, spools it, and drops it",
                ),
                (_, name) => {
                    if let Some(k) = self.param(&schema::SMTP_LISTENER, name, v, nat, "the SMTP listener") {
                        let default = name == "relay_hosts" && k == default_hosts();
                        if !default {
                            self.cx.files.block(DEPLOYMENT_FILE, "smtp_listener", None).set(name, k);
                        }
                    }
                }
            }
        }
        let port = port.unwrap_or(Port {
            port: 2025,
            span: at,
        });
        match self.role {
            Role::Sink => self.sink.port = Some(port),
            _ => self.mta.smtp_port = Some(port),
        }
    }

    fn listen(&mut self, v: &Expr, nat: Span) -> Option<Port> {
        let raw = self.field_value(v, "`listen`", "KumoMTA's default is kept")?;
        let Raw::Str(s) = raw else {
            return None;
        };
        match listen_port(&s) {
            Some((port, all)) => {
                if !all {
                    self.not_imported(v.span, format!("the listener's address in {s:?} is not imported"), "kumoc listens on every address", "in a pod, kumoc's listeners bind 0.0.0.0; who may connect is the NetworkPolicy's and the trust lists' business");
                }
                Some(Port { port, span: v.span })
            }
            None => {
                self.not_imported(
                    nat,
                    format!("`listen = {s:?}` is not imported"),
                    "not an address and port",
                    "write the port in `cluster.mta.ports`",
                );
                None
            }
        }
    }

    fn http(&mut self, e: &'a Expr, at: Span) {
        self.http_listeners += 1;
        let Some(fields) = self.fields(e, "`kumo.start_http_listener`") else {
            return;
        };
        if self.role == Role::Sink {
            for (n, nat, v) in fields {
                let ok = match n.as_str() {
                    "listen" => self
                        .value(v)
                        .ok()
                        .flatten()
                        .and_then(|r| r.as_str().and_then(listen_port))
                        .is_some_and(|(p, _)| p == 8000),
                    "trusted_hosts" => {
                        self.value(v).ok().flatten().and_then(|r| raw_strings(&r))
                            == Some(vec!["127.0.0.1".into(), "::1".into()])
                    }
                    _ => false,
                };
                if !ok {
                    self.not_imported(
                        nat,
                        format!("the sink's HTTP `{n}` is not imported"),
                        "kumoc's sink is fixed",
                        "kumoc's sink serves its probes on port 8000 to the pod itself",
                    );
                }
            }
            return;
        }
        if self.http_listeners == 2
            && fields
                .iter()
                .all(|(n, _, _)| n == "listen" || n == "trusted_hosts")
        {
            let mut port = None;
            let mut trusted = Vec::new();
            for (n, nat, v) in fields {
                if n == "listen" {
                    port = self.listen(v, nat);
                } else if let Some(raw) = self.field_value(
                    v,
                    "`trusted_hosts`",
                    "the metrics scrapers are the pod network",
                ) {
                    trusted = raw_strings(&raw).unwrap_or_default();
                }
            }
            if let Some(p) = port {
                self.mta.metrics = Some((p, trusted));
            }
            return;
        }
        if self.http_listeners > 1 {
            self.not_imported(at, "another HTTP listener is not imported".into(), "not imported", "kumoc runs the HTTP API on `cluster.mta.ports.http` and metrics on `cluster.mta.ports.metrics`");
            return;
        }
        for (n, nat, v) in fields {
            match n.as_str() {
                "listen" => self.mta.http_port = self.listen(v, nat),
                "users" => self.unknown_param(nat, "the HTTP listener"),
                name => {
                    if let Some(k) =
                        self.param(&schema::HTTP_LISTENER, name, v, nat, "the HTTP listener")
                    {
                        let default = name == "trusted_hosts" && k == default_hosts();
                        if !default {
                            self.cx
                                .files
                                .block(DEPLOYMENT_FILE, "http_listener", None)
                                .set(name, k);
                        }
                    }
                }
            }
        }
        if self.mta.http_port.is_none() {
            self.mta.http_port = Some(Port {
                port: 8000,
                span: at,
            });
        }
    }

    // ----- reception ------------------------------------------------------------------------

    fn reception(&mut self, event: &str, f: &'a FuncBody) {
        let mut dropped = Dropped {
            what: format!("the `{event}` handler"),
            spans: Vec::new(),
        };
        let mut seen = Reception::default();
        self.scopes.push(BTreeMap::new());
        self.reception_body(&f.body, &mut dropped, &mut seen, 0);
        self.scopes.pop();
        self.flush(dropped);
        if self.role == Role::Sink {
            if !seen.null_queue {
                self.push(
                    Diagnostic::new(
                        codes::IMPORT_SETTING_NOT_DESCRIBED,
                        format!("the sink's `{event}` handler does not drop mail"),
                        self.loc(f.span),
                        "kumoc's sink drops every message",
                    )
                    .with_help("kumoc's sink puts every message in KumoMTA's `null` queue"),
                );
            }
            return;
        }
        match seen.conformance {
            Some((checks, fixes, at)) if checks != KUMOC_CHECKS || fixes != KUMOC_FIXES => self
                .not_imported(
                    at,
                    "the conformance checks and fixes are not imported".into(),
                    "kumoc's are used",
                    &format!(
                        "kumoc checks `{KUMOC_CHECKS}` and fixes `{KUMOC_FIXES}` on every message"
                    ),
                ),
            Some(_) => {}
            None => self.push(
                Diagnostic::new(
                    codes::IMPORT_SETTING_NOT_DESCRIBED,
                    format!("the `{event}` handler checks no header conformance"),
                    self.loc(f.span),
                    "kumoc checks and fixes it",
                )
                .at_severity(Severity::Info)
                .with_help(format!(
                    "kumoc checks `{KUMOC_CHECKS}` and fixes `{KUMOC_FIXES}` on every message"
                )),
            ),
        }
        if !self.mta.dkim_files.is_empty() && !seen.signed {
            self.push(
                Diagnostic::new(
                    codes::IMPORT_SETTING_NOT_DESCRIBED,
                    format!("the `{event}` handler does not sign with DKIM"),
                    self.loc(f.span),
                    "kumoc signs every message whose From domain has a `dkim` block",
                )
                .with_help("kumoc calls the DKIM signer last in both reception handlers"),
            );
        }
        if !self.mta.queue_files.is_empty() && !seen.queue_applied {
            self.push(
                Diagnostic::new(codes::IMPORT_SETTING_NOT_DESCRIBED, format!("the `{event}` handler does not apply the queue helper"), self.loc(f.span), "kumoc applies it to every message")
                    .with_help("without `queue_helper:apply(msg)` no tenant or campaign is assigned; kumoc applies it in both reception handlers"),
            );
        }
    }

    fn reception_body(
        &mut self,
        stmts: &'a [Stmt],
        dropped: &mut Dropped,
        seen: &mut Reception,
        depth: usize,
    ) {
        let mut i = 0;
        while let Some(s) = stmts.get(i) {
            i += 1;
            match &s.kind {
                StmtKind::Call(e) => {
                    if !self.reception_call(e, dropped, seen, depth) {
                        dropped.spans.push((s.span, describe_call(e)));
                    }
                }
                // `local failed = msg:check_fix_conformance(...)` then `if failed then kumo.reject(...) end`.
                StmtKind::Local(names, exprs)
                    if names.len() == 1 && exprs.len() == 1 && is_conformance(&exprs[0]) =>
                {
                    self.reception_call(&exprs[0], dropped, seen, depth);
                    if let Some(Stmt {
                        kind: StmtKind::If(arms, None),
                        ..
                    }) = stmts.get(i)
                    {
                        let guard = arms.len() == 1
                            && matches!(&arms[0].0.kind, ExprKind::Name(n) if *n == names[0])
                            && matches!(arms[0].1.as_slice(), [Stmt { kind: StmtKind::Call(c), .. }] if matches!(&c.kind, ExprKind::Call(callee, _) if callee.dotted().as_deref() == Some("kumo.reject")));
                        if guard {
                            i += 1;
                        }
                    }
                }
                StmtKind::Local(names, exprs) => {
                    for (k, n) in names.iter().enumerate() {
                        let b = exprs
                            .get(k)
                            .and_then(|e| self.value(e).ok())
                            .map_or(Bind::Other, Bind::Value);
                        self.bind(n, b);
                    }
                    // A constant has no effect of its own (what uses it is reported).
                    if exprs.iter().any(contains_call) {
                        dropped.spans.push((s.span, "a local variable".into()));
                    }
                }
                StmtKind::If(arms, otherwise) => match self.branch(arms, otherwise.as_ref()) {
                    Ok(Some(block)) => self.reception_body(block, dropped, seen, depth),
                    Ok(None) => {}
                    Err(_) => dropped
                        .spans
                        .push((s.span, "a condition on the message".into())),
                },
                StmtKind::Return(v) if v.is_empty() => {}
                _ => dropped.spans.push((s.span, "a statement".into())),
            }
        }
    }

    fn reception_call(
        &mut self,
        e: &'a Expr,
        dropped: &mut Dropped,
        seen: &mut Reception,
        depth: usize,
    ) -> bool {
        match &e.kind {
            ExprKind::Method(obj, m, args) => {
                let obj_bind = obj.dotted().and_then(|n| self.lookup(&n).cloned());
                match (m.as_str(), args.as_slice()) {
                    ("check_fix_conformance", [a, b]) => {
                        let checks = self.value(a).ok().flatten();
                        let fixes = self.value(b).ok().flatten();
                        let s = |r: Option<Raw>| {
                            r.and_then(|r| r.as_str().map(str::to_string))
                                .unwrap_or_default()
                        };
                        seen.conformance = Some((s(checks), s(fixes), e.span));
                        true
                    }
                    ("apply", [_]) if matches!(obj_bind, Some(Bind::QueueHelper)) => {
                        seen.queue_applied = true;
                        true
                    }
                    ("set_meta", [k, v]) => {
                        let key = k.as_str();
                        let value = self.value(v).ok().flatten();
                        match (key.as_deref(), value) {
                            (Some("queue"), Some(Raw::Str(q)))
                                if q == "null" && self.role == Role::Sink =>
                            {
                                seen.null_queue = true;
                                true
                            }
                            (Some("routing_domain"), Some(Raw::Str(host)))
                                if self.role == Role::Mta =>
                            {
                                self.mta.sink_host = Some((host, e.span));
                                true
                            }
                            _ => false,
                        }
                    }
                    _ => false,
                }
            }
            ExprKind::Call(callee, args) => {
                let Some(ExprKind::Name(n)) = Some(&callee.kind) else {
                    return false;
                };
                match self.lookup(n).cloned() {
                    Some(Bind::Signer) if args.len() == 1 => {
                        seen.signed = true;
                        true
                    }
                    Some(Bind::Func(f)) if depth < 4 => {
                        self.scopes.push(BTreeMap::new());
                        let mut inner = Dropped {
                            what: format!("`{n}`"),
                            spans: Vec::new(),
                        };
                        self.reception_body(&f.body, &mut inner, seen, depth + 1);
                        self.scopes.pop();
                        if !seen.flushed.contains(n) {
                            seen.flushed.insert(n.clone());
                            self.flush(inner);
                        }
                        let _ = dropped;
                        true
                    }
                    _ => false,
                }
            }
            _ => false,
        }
    }

    // ----- basic auth and ACLs --------------------------------------------------------------

    fn basic_auth(&mut self, handler: &'a Expr, at: Span) {
        let kumoc = self
            .handler_body(handler)
            .is_some_and(|f| self.is_idiom(f.span, self.idioms.basic_auth.as_ref()));
        let dir_ok = self.constant("USERS_DIR")
            == Some(Some(Raw::Str(format!("{}/", names::HTTP_USERS_DIR))));
        let valid_user_ok = matches!(self.lookup("valid_user"), Some(Bind::Func(f)) if self.is_idiom(f.span, self.idioms.valid_user.as_ref()));
        if kumoc && dir_ok && valid_user_ok {
            let keys = match self.constant("KNOWN_USERS") {
                Some(Some(Raw::Table(t))) => t.iter().map(|(k, _)| k.clone()).collect(),
                _ => Vec::new(),
            };
            self.mta.users = Some((keys, at));
            return;
        }
        // A handler of its own: what it reads is not known, but a users directory named in
        // the policy says where the passwords are.
        let mentions_dir = self.text.contains(names::HTTP_USERS_DIR);
        let traversal = find_path_from_user(&self.text);
        let mut d = Diagnostic::new(
            codes::IMPORT_CUSTOM_BASIC_AUTH,
            "a custom HTTP basic auth handler",
            self.loc(at),
            "not imported: kumoc writes its own",
        )
        .with_help("kumoc's handler reads one file per user from the Secret that `http_listener.users` names, and refuses user names with `/` or a leading `.` before it opens a file");
        if let Some(span) = traversal {
            d.message =
                "a custom HTTP basic auth handler that opens a file named after the user".into();
            d = d
                .with_secondary(self.loc(span), "the user name is appended to a directory without a check")
                .with_note("a user name like `../../../../etc/hostname` leaves the directory: whoever knows a line of any readable file can authenticate (path traversal)");
        }
        self.push(d);
        if mentions_dir {
            self.mta.users = Some((Vec::new(), at));
        }
    }

    fn acl(&mut self, handler: &'a Expr, at: Span) {
        let kumoc = self
            .handler_body(handler)
            .is_some_and(|f| self.is_idiom(f.span, self.idioms.metrics_acl.as_ref()));
        if !kumoc {
            self.custom_handler("get_acl_definition", handler, at);
        }
    }

    // ----- TSA ------------------------------------------------------------------------------

    fn tsa_init(&mut self, f: &'a FuncBody) {
        let mut dropped = Dropped {
            what: "the `tsa_init` handler".into(),
            spans: Vec::new(),
        };
        self.scopes.push(BTreeMap::new());
        self.body(&f.body, &mut dropped, &mut |w, e, s| w.tsa_call(e, s));
        self.scopes.pop();
        self.flush(dropped);
    }

    fn tsa_call(&mut self, e: &'a Expr, s: &'a Stmt) -> bool {
        let Some((name, args)) = Self::call_parts(e) else {
            return false;
        };
        match (name.as_str(), args) {
            ("tsa.configure_tsa_db_path", [p]) => {
                if self.value(p).ok().flatten() != Some(Raw::Str(names::TSA_DB.into())) {
                    self.not_imported(s.span, "the TSA database path is not imported".into(), "kumoc's is used", "kumoc keeps TSA's database on a volume per replica, at /var/spool/kumomta/tsa.db");
                }
                true
            }
            ("tsa.start_http_listener", [t]) => {
                if let Some(fields) = self.fields(t, "`tsa.start_http_listener`") {
                    for (n, nat, v) in fields {
                        match n.as_str() {
                            "listen" => self.tsa.port = self.listen(v, nat),
                            "trusted_hosts" => {
                                if let Some(raw) = self.field_value(v, "TSA's `trusted_hosts`", "TSA trusts `cluster.pod_cidr`") {
                                    self.tsa.trusted_hosts = raw_strings(&raw).map(|l| (l, v.span));
                                }
                            }
                            other => self.not_imported(nat, format!("TSA's `{other}` is not imported"), "not imported", "kumoc's TSA listener has a port (`cluster.tsa.port`) and trusts the pod network (`cluster.pod_cidr`)"),
                        }
                    }
                }
                true
            }
            ("kumo.set_diagnostic_log_filter", [_]) => {
                self.not_imported(
                    s.span,
                    "TSA's diagnostic log filter is not imported".into(),
                    "TSA keeps its default",
                    "kumoc's TSA logs at tsa-daemon's default level (`KUMO_TSA_LOG` overrides it)",
                );
                true
            }
            _ => false,
        }
    }

    fn tsa_shaping(&mut self, handler: &'a Expr, at: Span) {
        let Some(f) = self.handler_body(handler) else {
            self.custom_handler("tsa_load_shaping_data", handler, at);
            return;
        };
        // `return cached({ files }, opts)` or `local s = cached({ files }); return s`.
        let mut call = None;
        for s in &f.body {
            match &s.kind {
                StmtKind::Return(v) => {
                    if let Some(e) = v.first() {
                        if matches!(e.kind, ExprKind::Call(..)) {
                            call = Some(e);
                        }
                    }
                }
                StmtKind::Local(_, v) => {
                    if let Some(e) = v.first() {
                        call = Some(e);
                    }
                }
                _ => {}
            }
        }
        let loads = call.and_then(|c| match &c.kind {
            ExprKind::Call(callee, args) => match Some(&callee.kind) {
                Some(ExprKind::Name(n)) if matches!(self.lookup(n), Some(Bind::ShapingLoad)) => {
                    args.first()
                }
                _ => None,
            },
            _ => None,
        });
        match loads {
            Some(list) => {
                let files = self.file_list(Some(list), "TSA's shaping data");
                self.tsa.shaping_files = Some((files, list.span));
            }
            None => self.custom_handler("tsa_load_shaping_data", handler, at),
        }
    }

    // ----- the sink ---------------------------------------------------------------------------

    fn sink_init_call(&mut self, e: &'a Expr, s: &'a Stmt) -> bool {
        let Some((name, args)) = Self::call_parts(e) else {
            return false;
        };
        let arg = args.first();
        match name.as_str() {
            "kumo.define_spool" => {
                if let Some(a) = arg {
                    self.spool(a, "LocalDisk");
                }
                true
            }
            "kumo.configure_local_logs" => {
                if let Some(a) = arg {
                    self.local_logs(a);
                }
                true
            }
            "kumo.set_diagnostic_log_filter" => {
                if arg.and_then(|a| self.value(a).ok().flatten())
                    != Some(Raw::Str("kumod=warn".into()))
                {
                    self.not_imported(
                        s.span,
                        "the sink's diagnostic log filter is not imported".into(),
                        "kumoc's sink logs warnings",
                        "kumoc's sink logs at `kumod=warn`",
                    );
                }
                true
            }
            "kumo.start_esmtp_listener" => {
                if let Some(a) = arg {
                    self.esmtp(a, e.span);
                }
                true
            }
            "kumo.start_http_listener" => {
                if let Some(a) = arg {
                    self.http(a, e.span);
                }
                true
            }
            "kumo.configure_accounting_db_path" => {
                self.not_imported(
                    s.span,
                    "the sink's accounting database path is not imported".into(),
                    "kumoc's sink keeps the default",
                    "kumoc's sink keeps KumoMTA's accounting database on its spool volume",
                );
                true
            }
            _ => false,
        }
    }
}

#[derive(Default)]
struct Reception {
    conformance: Option<(String, String, Span)>,
    queue_applied: bool,
    signed: bool,
    null_queue: bool,
    flushed: BTreeSet<String>,
}

/// `["127.0.0.1", "::1"]` as the import writes it: KumoMTA's default trust and relay list.
fn default_hosts() -> KVal {
    KVal::List(vec![KVal::lit("127.0.0.1"), KVal::str("::1")])
}

fn getenv(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Call(callee, args) if callee.dotted().as_deref() == Some("os.getenv") => {
            args.first()?.as_str()
        }
        ExprKind::Paren(inner) => getenv(inner),
        _ => None,
    }
}

fn is_conformance(e: &Expr) -> bool {
    matches!(&e.kind, ExprKind::Method(_, m, _) if m == "check_fix_conformance")
}

fn contains_call(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Call(..) | ExprKind::Method(..) => true,
        ExprKind::Binary(_, a, b) => contains_call(a) || contains_call(b),
        ExprKind::Unary(_, a) | ExprKind::Paren(a) => contains_call(a),
        ExprKind::Index(a, b) => contains_call(a) || contains_call(b),
        ExprKind::Table(fields) => fields.iter().any(|f| match f {
            Field::Named(_, _, v) | Field::Item(v) => contains_call(v),
            Field::Keyed(k, v) => contains_call(k) || contains_call(v),
        }),
        _ => false,
    }
}

fn describe_call(e: &Expr) -> String {
    let name = match &e.kind {
        ExprKind::Call(callee, _) => callee.dotted(),
        ExprKind::Method(obj, m, _) => Some(format!(
            "{}:{m}",
            obj.dotted().unwrap_or_else(|| "?".into())
        )),
        _ => None,
    };
    match name.as_deref() {
        Some(n) if n.starts_with("kumo.log_") => format!("`{n}` (logging only)"),
        Some(n) => format!("`{n}(...)`"),
        None => "a call".into(),
    }
}

/// Whether a function body only logs (its calls are `kumo.log_*` and string helpers).
fn logs_only(f: &FuncBody) -> bool {
    fn expr_ok(e: &Expr) -> bool {
        match &e.kind {
            ExprKind::Call(callee, args) => {
                let n = callee.dotted().unwrap_or_default();
                (n.starts_with("kumo.log_")
                    || n.starts_with("string.")
                    || n == "tostring"
                    || n == "table.concat"
                    || n == "table.insert")
                    && args.iter().all(expr_ok)
            }
            ExprKind::Method(obj, m, args) => {
                matches!(
                    m.as_str(),
                    "get_meta"
                        | "sender"
                        | "recipient"
                        | "queue_name"
                        | "num_attempts"
                        | "get_first_named_header_value"
                        | "match"
                        | "gmatch"
                        | "lower"
                        | "to_header"
                ) && expr_ok(obj)
                    && args.iter().all(expr_ok)
            }
            ExprKind::Binary(_, a, b) => expr_ok(a) && expr_ok(b),
            ExprKind::Unary(_, a) | ExprKind::Paren(a) => expr_ok(a),
            ExprKind::Index(a, b) => expr_ok(a) && expr_ok(b),
            ExprKind::Table(fields) => fields.iter().all(|f| match f {
                Field::Named(_, _, v) | Field::Item(v) => expr_ok(v),
                Field::Keyed(k, v) => expr_ok(k) && expr_ok(v),
            }),
            ExprKind::Function(_) => false,
            _ => true,
        }
    }
    fn stmts_ok(b: &[Stmt]) -> bool {
        b.iter().all(|s| match &s.kind {
            StmtKind::Call(e) => expr_ok(e),
            StmtKind::Local(_, v) | StmtKind::Return(v) => v.iter().all(expr_ok),
            StmtKind::Assign(_, v) => v.iter().all(expr_ok),
            StmtKind::If(arms, otherwise) => {
                arms.iter().all(|(c, b)| expr_ok(c) && stmts_ok(b))
                    && otherwise.as_ref().is_none_or(|b| stmts_ok(b))
            }
            StmtKind::GenericFor(_, e, b) | StmtKind::NumericFor(_, e, b) => {
                e.iter().all(expr_ok) && stmts_ok(b)
            }
            _ => false,
        })
    }
    let mut has_log = false;
    walk_exprs(&f.body, &mut |e| {
        if let ExprKind::Call(callee, _) = &e.kind {
            has_log |= callee.dotted().is_some_and(|n| n.starts_with("kumo.log_"));
        }
    });
    stmts_ok(&f.body) && has_log
}

/// A string literal naming the API users' directory, concatenated with something that is not
/// a literal (`"/opt/kumomta/etc/http_listener_keys/" .. user`): where the policy builds a
/// path from the user name.
fn find_path_from_user(text: &str) -> Option<Span> {
    let ast = lua::parse(text).ok()?;
    fn in_expr(e: &Expr) -> Option<Span> {
        match &e.kind {
            ExprKind::Binary("..", a, b) => {
                if a.as_str()
                    .is_some_and(|s| s.starts_with(names::HTTP_USERS_DIR))
                    && b.as_str().is_none()
                {
                    return Some(e.span);
                }
                in_expr(a).or_else(|| in_expr(b))
            }
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => in_expr(a).or_else(|| in_expr(b)),
            ExprKind::Unary(_, a) | ExprKind::Paren(a) => in_expr(a),
            ExprKind::Call(c, args) => in_expr(c).or_else(|| args.iter().find_map(in_expr)),
            ExprKind::Method(o, _, args) => in_expr(o).or_else(|| args.iter().find_map(in_expr)),
            ExprKind::Function(f) => in_stmts(&f.body),
            ExprKind::Table(fields) => fields.iter().find_map(|f| match f {
                Field::Named(_, _, v) | Field::Item(v) => in_expr(v),
                Field::Keyed(k, v) => in_expr(k).or_else(|| in_expr(v)),
            }),
            _ => None,
        }
    }
    fn in_stmts(b: &[Stmt]) -> Option<Span> {
        b.iter().find_map(|s| match &s.kind {
            StmtKind::Local(_, v) | StmtKind::Return(v) => v.iter().find_map(in_expr),
            StmtKind::Assign(t, v) => t.iter().chain(v).find_map(in_expr),
            StmtKind::Call(e) => in_expr(e),
            StmtKind::LocalFunction(_, f) | StmtKind::Function(_, _, f) => in_stmts(&f.body),
            StmtKind::If(arms, o) => arms
                .iter()
                .find_map(|(c, b)| in_expr(c).or_else(|| in_stmts(b)))
                .or_else(|| o.as_ref().and_then(|b| in_stmts(b))),
            StmtKind::While(c, b) | StmtKind::Repeat(b, c) => in_expr(c).or_else(|| in_stmts(b)),
            StmtKind::NumericFor(_, e, b) | StmtKind::GenericFor(_, e, b) => {
                e.iter().find_map(in_expr).or_else(|| in_stmts(b))
            }
            StmtKind::Do(b) => in_stmts(b),
            _ => None,
        })
    }
    in_stmts(&ast)
}

/// Check the literal values of the tables a policy passes to `kumo.make_egress_path`,
/// `kumo.make_queue_config` and `kumo.make_egress_source`, wherever they are (in code that is
/// not imported too): a value KumoMTA refuses makes that code fail when it runs.
pub fn scan_values(cx: &mut Cx, file: FileId) {
    let Some(text) = cx.sources.get(file).map(|f| f.text.clone()) else {
        return;
    };
    let Ok(ast) = lua::parse(&text) else {
        return;
    };
    let mut found: Vec<Diagnostic> = Vec::new();
    let flavor = cx.flavor;
    let mut visit = |e: &Expr| {
        let ExprKind::Call(callee, args) = &e.kind else {
            return;
        };
        let (schema_fields, what): (FieldsOf, &str) = match callee.dotted().as_deref() {
            Some("kumo.make_egress_path") => (Box::new(schema::egress_field), "an egress path"),
            Some("kumo.make_queue_config") => {
                (Box::new(|n: &str| schema::QUEUE.field(n)), "a queue config")
            }
            Some("kumo.make_egress_source") => (
                Box::new(|n: &str| schema::SOURCE.field(n)),
                "an egress source",
            ),
            _ => return,
        };
        let Some(Expr {
            kind: ExprKind::Table(fields),
            ..
        }) = args.first()
        else {
            return;
        };
        for f in fields {
            let Field::Named(name, _, v) = f else {
                continue;
            };
            let Some(field) = schema_fields(name) else {
                continue;
            };
            let Some(raw) = literal(v) else { continue };
            if let Some((message, help)) = invalid(&field.ty, &raw, flavor) {
                found.push(
                    Diagnostic::new(
                        codes::IMPORT_INVALID_VALUE,
                        format!(
                            "`{name} = {}` in {what} is a value KumoMTA refuses",
                            raw.show()
                        ),
                        Loc::new(file, v.span),
                        message,
                    )
                    .with_help(help),
                );
            }
        }
    };
    walk_exprs(&ast, &mut visit);
    for d in found {
        cx.push(d);
    }
}

fn literal(e: &Expr) -> Option<Raw> {
    match &e.kind {
        ExprKind::Str(_) => e.as_str().map(Raw::Str),
        ExprKind::Num(n) => eval::number(n),
        ExprKind::Bool(b) => Some(Raw::Bool(*b)),
        _ => None,
    }
}

/// Why KumoMTA refuses `raw` for a field of type `ty`: (message, help).
fn invalid(
    ty: &Ty,
    raw: &Raw,
    flavor: kumoc_lang::units::HumantimeFlavor,
) -> Option<(String, String)> {
    use kumoc_lang::units;
    let from = |e: units::UnitError, what: &str| {
        let help = e
            .help
            .clone()
            .unwrap_or_else(|| format!("see `kumoc explain` for how a {what} is written"));
        Some((e.message, help))
    };
    match (ty, raw) {
        (Ty::Rate, Raw::Str(s)) => units::parse_rate(s).err().and_then(|e| from(e, "rate")),
        (Ty::Rate, _) => Some((
            "a rate is a string like \"100/s\"".into(),
            "write it as a string: KumoMTA refuses a bare number".into(),
        )),
        (Ty::Duration, Raw::Str(s)) => units::parse_humantime(s, flavor)
            .err()
            .and_then(|e| from(e, "duration")),
        (Ty::Limit, Raw::Str(s)) => units::parse_limit(s)
            .err()
            .and_then(|e| from(e, "connection limit")),
        (Ty::Enum(variants), Raw::Str(s)) if !variants.iter().any(|v| v.kumo == s) => {
            let names: Vec<&str> = variants.iter().map(|v| v.kumo).collect();
            Some((
                format!("not one of {}", names.join(", ")),
                "KumoMTA's names are case-sensitive".into(),
            ))
        }
        (Ty::Ip, Raw::Str(s)) => units::parse_ip(s).err().and_then(|e| from(e, "IP address")),
        _ => None,
    }
}

/// Visit every expression of a chunk.
fn walk_exprs(stmts: &[Stmt], f: &mut dyn FnMut(&Expr)) {
    fn expr(e: &Expr, f: &mut dyn FnMut(&Expr)) {
        f(e);
        match &e.kind {
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                expr(a, f);
                expr(b, f);
            }
            ExprKind::Unary(_, a) | ExprKind::Paren(a) => expr(a, f),
            ExprKind::Call(c, args) => {
                expr(c, f);
                args.iter().for_each(|a| expr(a, f));
            }
            ExprKind::Method(o, _, args) => {
                expr(o, f);
                args.iter().for_each(|a| expr(a, f));
            }
            ExprKind::Function(b) => walk_exprs(&b.body, f),
            ExprKind::Table(fields) => {
                for fl in fields {
                    match fl {
                        Field::Named(_, _, v) | Field::Item(v) => expr(v, f),
                        Field::Keyed(k, v) => {
                            expr(k, f);
                            expr(v, f);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    for s in stmts {
        match &s.kind {
            StmtKind::Local(_, v) | StmtKind::Return(v) => v.iter().for_each(|e| expr(e, f)),
            StmtKind::Assign(t, v) => t.iter().chain(v).for_each(|e| expr(e, f)),
            StmtKind::Call(e) => expr(e, f),
            StmtKind::LocalFunction(_, b) | StmtKind::Function(_, _, b) => walk_exprs(&b.body, f),
            StmtKind::If(arms, o) => {
                for (c, b) in arms {
                    expr(c, f);
                    walk_exprs(b, f);
                }
                if let Some(b) = o {
                    walk_exprs(b, f);
                }
            }
            StmtKind::While(c, b) | StmtKind::Repeat(b, c) => {
                expr(c, f);
                walk_exprs(b, f);
            }
            StmtKind::NumericFor(_, e, b) | StmtKind::GenericFor(_, e, b) => {
                e.iter().for_each(|x| expr(x, f));
                walk_exprs(b, f);
            }
            StmtKind::Do(b) => walk_exprs(b, f),
            _ => {}
        }
    }
}
