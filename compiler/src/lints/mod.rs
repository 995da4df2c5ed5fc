//! The lint gate: the rule catalog, one file per rule under `rules/`, a sorted registry,
//! inline suppressions with reasons, severity overrides, and the fixes `kumoc check --fix`
//! applies.
//!
//! A rule is one of three kinds:
//! - a **lint** with a `check` function over the deployment model;
//! - **enforced by the checker**: the problem is a compile error (a rate KumoMTA would
//!   reject, an unknown pool, ...), reported under the checker's code and never
//!   suppressible; the rule documents it under the catalog's code;
//! - **guaranteed**: kumoc's output cannot have the problem (e.g. the queue helper is always
//!   the last `get_queue_config` handler), so there is nothing to check in `.kumo`.

pub mod rules;
pub(crate) mod suppress;
pub mod syntax;
pub mod util;

use std::collections::BTreeMap;

use crate::codes::Code;
use crate::diagnostic::Diagnostic;
use crate::model::{Deployment, Environment};
use crate::severity::Severity;
use crate::source::{Loc, Sources};

pub use rules::RULES;
pub use suppress::apply_suppressions;
pub use syntax::Syntax;

/// A rule's default severity. `ErrorInProduction` is an error when the deployment is built
/// for production and a warning otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleSeverity {
    Error,
    ErrorInProduction,
    Warning,
    Info,
}

impl RuleSeverity {
    pub fn resolve(self, env: Environment) -> Severity {
        match self {
            RuleSeverity::Error => Severity::Error,
            RuleSeverity::ErrorInProduction if env == Environment::Production => Severity::Error,
            RuleSeverity::ErrorInProduction | RuleSeverity::Warning => Severity::Warning,
            RuleSeverity::Info => Severity::Info,
        }
    }
    pub fn describe(self) -> &'static str {
        match self {
            RuleSeverity::Error => "error",
            RuleSeverity::ErrorInProduction => "error in production, warning elsewhere",
            RuleSeverity::Warning => "warning",
            RuleSeverity::Info => "info",
        }
    }
}

pub type CheckFn = fn(&LintContext<'_>, &mut Vec<Diagnostic>);

/// A rule over the model and the live DNS (`kumoc dns --check SNAPSHOT`).
pub type DnsCheckFn = fn(&LintContext<'_>, &crate::dns::Live<'_>, &mut Vec<Diagnostic>);

#[derive(Clone, Copy)]
pub enum Kind {
    /// A lint over the model.
    Check(CheckFn),
    /// Enforced as a compile error by these checker codes.
    Checker(&'static [Code]),
    /// kumoc's output cannot have the problem; nothing to check in `.kumo`.
    Guaranteed,
    /// Needs the live DNS: checked by `kumoc dns --check SNAPSHOT` against a recorded DNS
    /// snapshot, never by `kumoc check` (builds stay offline and deterministic).
    Dns(DnsCheckFn),
    /// Needs data kumoc does not have; not checked yet.
    Unsupported,
}

impl std::fmt::Debug for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Kind::Check(_) => f.write_str("Check"),
            Kind::Checker(c) => write!(f, "Checker({c:?})"),
            Kind::Guaranteed => f.write_str("Guaranteed"),
            Kind::Dns(_) => f.write_str("Dns"),
            Kind::Unsupported => f.write_str("Unsupported"),
        }
    }
}

#[derive(Debug)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: RuleSeverity,
    /// The kumoc release that introduced the rule (`0.2.0`): a rule added after a release
    /// says the next one, the workspace version once it is bumped for that release.
    pub since: &'static str,
    /// The catalog's priority (P0, P1, P2).
    pub priority: &'static str,
    /// One line: what it detects.
    pub summary: &'static str,
    /// Markdown from the rule's doc comment: What it does / Why is this bad? / Example /
    /// Use instead / Fix safety / References.
    pub doc: &'static str,
    pub kind: Kind,
}

impl Rule {
    /// A diagnostic of this rule, with its severity for the context's environment.
    pub fn diagnostic(
        &self,
        cx: &LintContext<'_>,
        message: impl Into<String>,
        at: Loc,
        label: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic::coded(
            self.code,
            self.severity.resolve(cx.env()),
            message,
            at,
            label,
        )
    }
}

/// Declare a rule. The doc comment becomes the rule's documentation (`kumoc explain`,
/// `docs/rules/`).
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub static $ident:ident = {
            code: $code:literal,
            name: $name:literal,
            severity: $sev:ident,
            since: $since:literal,
            priority: $prio:literal,
            summary: $summary:literal,
            kind: $kind:expr $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub static $ident: $crate::lints::Rule = $crate::lints::Rule {
            code: $code,
            name: $name,
            severity: $crate::lints::RuleSeverity::$sev,
            since: $since,
            priority: $prio,
            summary: $summary,
            doc: concat!($($doc, "\n"),*),
            kind: $kind,
        };
    };
}

/// What lints see: the model of an error-free description, and its sources.
pub struct LintContext<'a> {
    pub model: &'a Deployment,
    pub sources: &'a Sources,
    /// What was written, for rules that need a key's location ([`Syntax`]).
    pub syntax: Syntax<'a>,
}

impl LintContext<'_> {
    pub fn env(&self) -> Environment {
        self.model.environment.value
    }
    pub fn production(&self) -> bool {
        self.env() == Environment::Production
    }
    /// Whether a location is in the stdlib (rules report where the user can act).
    pub fn is_stdlib(&self, loc: Loc) -> bool {
        self.sources.get(loc.file).is_some_and(|f| f.is_stdlib)
    }
    /// `f` of the top-level statement that may hold `loc` (the last one starting at or
    /// before it), read from the syntax ([`Syntax::top_stmt_at`]).
    pub fn stmt_at<R>(&self, loc: Loc, f: impl FnOnce(&kumoc_lang::ast::Stmt) -> R) -> Option<R> {
        self.syntax
            .top_stmt_at(self.sources, loc.file, loc.span.start, f)
    }

    /// Where the value of attribute `key` is written in the block whose header is at `header`.
    pub fn attr_value(&self, header: Loc, key: &str) -> Option<Loc> {
        fn find(items: &[kumoc_lang::ast::Stmt], start: u32) -> Option<&kumoc_lang::ast::Block> {
            items.iter().find_map(|s| match s {
                kumoc_lang::ast::Stmt::Block(b) if b.keyword.span.start == start => Some(b),
                kumoc_lang::ast::Stmt::Block(b) => find(&b.body, start),
                _ => None,
            })
        }
        // The block is in the top-level statement that holds its header.
        let span = self
            .stmt_at(header, |s| {
                let block = find(std::slice::from_ref(s), header.span.start)?;
                let attr = block.attrs().find(|a| a.key.name == key)?;
                Some(attr.value.span)
            })
            .flatten()?;
        Some(Loc::new(header.file, span))
    }

    /// The source text at a location.
    pub fn text(&self, loc: Loc) -> &str {
        self.sources.get(loc.file).map_or("", |f| f.slice(loc.span))
    }
}

/// How `kumoc check` treats rules: per-code severity overrides (`None` turns a rule off)
/// and `--deny warnings`.
#[derive(Debug, Clone, Default)]
pub struct LintConfig {
    pub overrides: BTreeMap<String, Option<Severity>>,
    pub deny_warnings: bool,
}

pub fn lookup(code: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code) || r.name == code)
}

/// Run every lint over the model.
pub fn run(model: &Deployment, sources: &Sources, syntax: Syntax<'_>) -> Vec<Diagnostic> {
    let cx = LintContext {
        model,
        sources,
        syntax,
    };
    let mut out = Vec::new();
    for rule in RULES {
        if let Kind::Check(check) = rule.kind {
            check(&cx, &mut out);
        }
    }
    out
}

/// Run every DNS rule ([`Kind::Dns`]) over the model and a DNS snapshot, then apply the
/// suppressions written for them (`kumoc dns --check`). Only DNS findings are returned.
pub fn run_dns(
    model: &Deployment,
    sources: &Sources,
    parses: &[std::sync::Arc<kumoc_lang::Parse>],
    live: &crate::dns::Live<'_>,
) -> Vec<Diagnostic> {
    let syntax = Syntax::Trees(parses);
    let cx = LintContext {
        model,
        sources,
        syntax,
    };
    let mut out = Vec::new();
    for rule in RULES {
        if let Kind::Dns(check) = rule.kind {
            check(&cx, live, &mut out);
        }
    }
    apply_suppressions(&mut out, sources, syntax, false);
    out.retain(|d| lookup(d.code).is_some_and(|r| matches!(r.kind, Kind::Dns(_))));
    out.sort_by(|a, b| {
        a.sort_key()
            .cmp(&b.sort_key())
            .then_with(|| a.message.cmp(&b.message))
    });
    out.dedup();
    out
}

/// Where a location is, for [`drop_uncertain`]: the top-level block it is in, named by
/// keyword and label (a block inside `env NAME { ... }` by its own name, since the overlay
/// merges into the block of that name).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Block(Name, Option<Name>),
    /// The `deployment` block: its environment and release shape every rule.
    Deployment,
    /// Anywhere else: outside any block, in an `env` block but not in a block inside it.
    Elsewhere,
}

use kumoc_lang::ast::Name;

fn place(loc: Loc, sources: &Sources, syntax: Syntax<'_>) -> Place {
    use kumoc_lang::ast::Stmt;
    fn containing(items: &[Stmt], at: u32) -> Option<&kumoc_lang::ast::Block> {
        let i = items.partition_point(|s| s.span().start <= at);
        match items.get(i.checked_sub(1)?)? {
            Stmt::Block(b) if at < b.span.end.max(b.span.start + 1) => Some(b),
            _ => None,
        }
    }
    let at = loc.span.start;
    syntax
        .top_stmt_at(sources, loc.file, at, |s| {
            let Some(mut block) = containing(std::slice::from_ref(s), at) else {
                return Place::Elsewhere;
            };
            if block.keyword.name == "env" {
                match containing(&block.body, at) {
                    Some(inner) => block = inner,
                    None => return Place::Elsewhere,
                }
            }
            match block.keyword.name.as_str() {
                "deployment" => Place::Deployment,
                _ => Place::Block(
                    block.keyword.name.clone(),
                    block.label.as_ref().map(|l| l.text.clone()),
                ),
            }
        })
        .unwrap_or(Place::Elsewhere)
}

/// The lint findings that can be trusted while the description has compile errors: lints
/// run on what checked. A block with an error is missing the values that did not check, so
/// a finding that touches it (any of its labels in a block of the same keyword and name, in
/// any file or `env` overlay) could be wrong and is dropped. An error outside any block,
/// in an `env` block itself, or in the `deployment` block (whose environment and release
/// every rule depends on) leaves nothing certain: no finding is kept.
pub fn drop_uncertain(
    found: Vec<Diagnostic>,
    diagnostics: &[Diagnostic],
    sources: &Sources,
    syntax: Syntax<'_>,
) -> Vec<Diagnostic> {
    let mut tainted = std::collections::BTreeSet::new();
    for d in diagnostics.iter().filter(|d| d.severity == Severity::Error) {
        let Some(primary) = d.primary() else {
            return Vec::new();
        };
        match place(primary.loc, sources, syntax) {
            p @ Place::Block(..) => {
                tainted.insert(p);
            }
            Place::Deployment | Place::Elsewhere => return Vec::new(),
        }
    }
    found
        .into_iter()
        .filter(|d| {
            !d.labels
                .iter()
                .any(|l| tainted.contains(&place(l.loc, sources, syntax)))
        })
        .collect()
}

/// Apply severity overrides and `--deny warnings`.
pub fn configure(diags: &mut Vec<Diagnostic>, config: &LintConfig) {
    diags.retain_mut(|d| {
        if let Some(o) = config.overrides.get(d.code) {
            match o {
                Some(s) => d.severity = *s,
                None => return false,
            }
        }
        if config.deny_warnings && d.severity == Severity::Warning {
            d.severity = Severity::Error;
        }
        true
    });
}

/// A rule's documentation page (markdown): title, metadata, then its doc comment.
pub fn rules_doc_text(r: &Rule) -> String {
    let kind = match r.kind {
        Kind::Check(_) => "lint".to_string(),
        Kind::Checker(codes) => format!(
            "enforced by the checker as {} (a compile error; not suppressible)",
            codes
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Kind::Guaranteed => "guaranteed by kumoc's output (nothing to check in .kumo)".to_string(),
        Kind::Dns(_) => {
            "checked against a DNS snapshot by `kumoc dns --check` (not by `kumoc check`)"
                .to_string()
        }
        Kind::Unsupported => "not checked yet".to_string(),
    };
    let doc: String = r
        .doc
        .lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "# {}: {}\n\n{}.\n\n- Default severity: {}\n- Priority: {}\n- Status: {}\n- Since: kumoc {}\n\n{}\n",
        r.code,
        r.name,
        r.summary,
        r.severity.describe(),
        r.priority,
        kind,
        r.since,
        doc.trim_end()
    )
}
