//! Phase A: check every block of every file against the schema and type every value.
//!
//! The result is an [`HBlock`] tree per file: the syntax tree annotated with the schema of
//! each block and the typed value of each attribute. Unknown blocks and fields are reported
//! (with "did you mean") and dropped; values that fail to type are reported and kept as
//! `None`. Names are not resolved here (that needs all files merged: see `resolve`).

use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;

use kumoc_lang::ast::{Attr, Block, Stmt, Value, ValueKind};
use kumoc_lang::units::{self, Cidr, KumoVersion, Limit, Rate, UnitError};

use crate::diagnostic::{Applicability, Diagnostic, Loc, did_you_mean};
use crate::schema::{
    ACTIONS, BlockSchema, ENVIRONMENTS, Field, LabelRule, RefKind, Ty, Variant, egress_field,
};
use crate::source::FileId;

/// A typed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Str(String),
    Bool(bool),
    Int(i64),
    /// Milliseconds.
    Duration(u64),
    Rate(Rate),
    Limit(Limit),
    /// Bytes.
    Size(u64),
    /// Millicores.
    Cpu(u64),
    Percent(u8),
    Ip(IpAddr),
    Cidr(Cidr),
    HostPort(String),
    Domain(String),
    Url(String),
    K8sName(String),
    HttpPath(String),
    Enum(&'static Variant),
    Ref(RefKind, String),
    Secret(SecretRef),
    Version(KumoVersion),
    Regex(String),
    Action(Action),
    Trigger(Trigger),
    Match(MatchRule),
    List(Vec<TypedAt>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct TypedAt {
    pub value: Typed,
    pub loc: Loc,
}

/// `secret("name")` / `secret("name", "key")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    pub name_loc: Loc,
    pub key: Option<(String, Loc)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Simple(&'static Variant),
    /// `set_config(field = value)` / `set_domain_config(...)`.
    SetConfig {
        variant: &'static Variant,
        field: &'static Field,
        value: Box<TypedAt>,
    },
}

impl Action {
    pub fn variant(&self) -> &'static Variant {
        match self {
            Action::Simple(v) | Action::SetConfig { variant: v, .. } => v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Immediate,
    Threshold(Rate),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchRule {
    MxSuffix(String),
    DomainSuffix(String),
    HostName(String),
}

/// A block checked against its schema.
#[derive(Debug, Clone)]
pub struct HBlock<'a> {
    pub file: FileId,
    pub ast: &'a Block,
    pub schema: &'static BlockSchema,
    pub attrs: Vec<HAttr<'a>>,
    pub blocks: Vec<HBlock<'a>>,
    /// `from provider.NAME`: the provider name and where it was written.
    pub from: Option<(String, Loc)>,
    /// The label, normalised (`"default"` and `default` are the same).
    pub label: Option<String>,
    /// Where later layers (user files over the stdlib, an `env` overlay) changed this block.
    pub overridden_at: Vec<Loc>,
}

impl HBlock<'_> {
    pub fn loc(&self) -> Loc {
        Loc::new(self.file, self.ast.span)
    }
    /// The location of the block header (keyword and label), for labels on the block.
    pub fn header_loc(&self) -> Loc {
        let end = self
            .ast
            .label
            .as_ref()
            .map_or(self.ast.keyword.span.end, |l| l.span.end);
        Loc::new(
            self.file,
            kumoc_lang::Span {
                start: self.ast.keyword.span.start,
                end,
            },
        )
    }
    pub fn label_loc(&self) -> Loc {
        Loc::new(
            self.file,
            self.ast
                .label
                .as_ref()
                .map_or(self.ast.keyword.span, |l| l.span),
        )
    }
    pub fn attr(&self, name: &str) -> Option<&HAttr<'_>> {
        self.attrs.iter().find(|a| a.name() == name)
    }
    pub fn child(&self, keyword: &str) -> Option<&HBlock<'_>> {
        self.blocks.iter().find(|b| b.schema.keyword == keyword)
    }
    pub fn children<'s>(&'s self, keyword: &'s str) -> impl Iterator<Item = &'s HBlock<'s>> + 's {
        self.blocks
            .iter()
            .filter(move |b| b.schema.keyword == keyword)
    }
    /// Identity for duplicate detection and merging.
    pub fn key(&self) -> (&'static str, Option<&str>) {
        match self.schema.multiplicity {
            crate::schema::Multiplicity::One => (self.schema.keyword, None),
            _ => (self.schema.keyword, self.label.as_deref()),
        }
    }
}

#[derive(Debug, Clone)]
pub struct HAttr<'a> {
    pub file: FileId,
    pub ast: &'a Attr,
    /// The field's schema; `None` for an entry of a map block.
    pub field: Option<&'static Field>,
    /// The typed value; `None` when it did not type (already reported).
    pub value: Option<TypedAt>,
}

impl HAttr<'_> {
    pub fn name(&self) -> &str {
        &self.ast.key.name
    }
    pub fn loc(&self) -> Loc {
        Loc::new(self.file, self.ast.span)
    }
    pub fn key_loc(&self) -> Loc {
        Loc::new(self.file, self.ast.key.span)
    }
    pub fn value_loc(&self) -> Loc {
        Loc::new(self.file, self.ast.value.span)
    }
}

/// Check the top-level statements of one file (`text` is the file's text, `items` its parse).
/// `env` blocks come back like any other block; their children are checked against the
/// top-level schemas.
///
/// `release` is the deployment's declared release when known ([`declared_release`]); it
/// only decides which "did you mean" suggestions become fixes (version gates are
/// `resolve`'s).
pub fn check_file<'a>(
    file: FileId,
    text: &str,
    items: &'a [Stmt],
    release: Option<&KumoVersion>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<HBlock<'a>> {
    let mut cx = Cx {
        file,
        text,
        diags,
        trailing: None,
        release: release.cloned(),
        present: Vec::new(),
    };
    cx.body(&crate::schema::ROOT, items).1
}

/// The release a deployment declares, read from the syntax trees of its files: the
/// `kumomta` of the `deployment` block, or of `env NAME { deployment { ... } }` for the
/// environment being built. `None` when it is missing or unreadable.
pub fn declared_release<'a>(
    files: impl IntoIterator<Item = &'a [Stmt]>,
    env: Option<&str>,
) -> Option<KumoVersion> {
    fn in_deployment(items: &[Stmt]) -> Option<KumoVersion> {
        items.iter().find_map(|s| match s {
            Stmt::Block(b) if b.keyword.name == "deployment" => {
                b.attrs()
                    .find_map(|a| match (&a.key.name[..], &a.value.kind) {
                        ("kumomta", ValueKind::Str(v)) => units::parse_version(&v.value).ok(),
                        _ => None,
                    })
            }
            _ => None,
        })
    }
    // Without `--env`, the deployment's own `environment` is built.
    fn environment(items: &[Stmt]) -> Option<String> {
        items.iter().find_map(|s| match s {
            Stmt::Block(b) if b.keyword.name == "deployment" => {
                b.attrs()
                    .find_map(|a| match (&a.key.name[..], &a.value.kind) {
                        ("environment", ValueKind::Path(p)) => Some(p.text()),
                        _ => None,
                    })
            }
            _ => None,
        })
    }
    let files: Vec<&[Stmt]> = files.into_iter().collect();
    let env = env
        .map(str::to_string)
        .or_else(|| files.iter().find_map(|items| environment(items)));
    let mut base = None;
    let mut overlay = None;
    for items in &files {
        base = base.or_else(|| in_deployment(items));
        for s in items.iter() {
            if let Stmt::Block(b) = s
                && b.keyword.name == "env"
                && env.is_some()
                && b.label_text() == env.as_deref()
            {
                overlay = overlay.or_else(|| in_deployment(&b.body));
            }
        }
    }
    overlay.or(base)
}

struct Cx<'t, 'd> {
    file: FileId,
    /// The file's text, to see what follows a value on its line.
    text: &'t str,
    diags: &'d mut Vec<Diagnostic>,
    /// While checking an attribute: the unreadable rest of its line, when the parser read
    /// the value and left the rest as an error statement (`max_age = 2 hours`: the value is
    /// `2`, the rest `hours`). A fix for the value must replace both.
    trailing: Option<kumoc_lang::Span>,
    /// The release the description declares (see [`declared_release`]): a "did you mean"
    /// that names a field or value this release lacks is said, not offered as a fix.
    release: Option<KumoVersion>,
    /// The keys written in the block being checked: renaming a field to one of them would
    /// only trade an unknown field for a duplicate.
    present: Vec<String>,
}

impl Cx<'_, '_> {
    fn loc(&self, span: kumoc_lang::Span) -> Loc {
        Loc::new(self.file, span)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn body<'a>(
        &mut self,
        schema: &'static BlockSchema,
        items: &'a [Stmt],
    ) -> (Vec<HAttr<'a>>, Vec<HBlock<'a>>) {
        let mut attrs: Vec<HAttr<'a>> = Vec::new();
        let mut blocks: Vec<HBlock<'a>> = Vec::new();
        // Indexes for the duplicate checks, so a body of N items costs O(N), not O(N²).
        let mut attr_index: HashMap<&'a str, usize> = HashMap::default();
        let mut block_index: HashMap<(&'static str, Option<String>), usize> = HashMap::default();
        let present = items
            .iter()
            .filter_map(|s| match s {
                Stmt::Attr(a) => Some(a.key.name.clone()),
                _ => None,
            })
            .collect();
        let outer = std::mem::replace(&mut self.present, present);
        for (i, stmt) in items.iter().enumerate() {
            match stmt {
                Stmt::Attr(a) => {
                    self.trailing = match items.get(i + 1) {
                        Some(Stmt::Error(junk)) => self
                            .text
                            .get(a.value.span.end as usize..junk.span.start as usize)
                            .filter(|gap| gap.chars().all(|c| c == ' ' || c == '\t'))
                            .map(|_| junk.span),
                        _ => None,
                    };
                    let h = self.attr(schema, a);
                    self.trailing = None;
                    if let Some(h) = h {
                        if let Some(prev) = attr_index
                            .get(a.key.name.as_str())
                            .and_then(|&i| attrs.get(i))
                        {
                            let first = prev.key_loc();
                            self.push(
                                Diagnostic::new(
                                    "K1003",
                                    format!("`{}` is set twice", a.key.name),
                                    self.loc(a.key.span),
                                    "set again here",
                                )
                                .with_secondary(first, "first set here")
                                .with_help("remove one of them"),
                            );
                            continue;
                        }
                        attr_index.insert(a.key.name.as_str(), attrs.len());
                        attrs.push(h);
                    }
                }
                Stmt::Block(b) => {
                    if let Some(h) = self.block(schema, b) {
                        // A keyed block whose name was refused (already reported) is no
                        // duplicate of another such block.
                        let unnamed = h.schema.multiplicity == crate::schema::Multiplicity::Keyed
                            && h.label.is_none();
                        if h.schema.multiplicity != crate::schema::Multiplicity::Many && !unnamed {
                            let (kw, label) = h.key();
                            let key = (kw, label.map(str::to_string));
                            if let Some(prev) = block_index.get(&key).and_then(|&i| blocks.get(i)) {
                                let first = prev.header_loc();
                                self.push(duplicate_block(&h, first));
                                continue;
                            }
                            block_index.insert(key, blocks.len());
                        }
                        blocks.push(h);
                    }
                }
                Stmt::Error(_) => {}
            }
        }
        self.present = outer;
        (attrs, blocks)
    }

    /// "Did you mean" for a field name among `fields`: a fix when the field exists in the
    /// declared release and is not already set in the block; otherwise only the help says
    /// it, and why there is no fix.
    fn suggest_field(
        &self,
        d: Diagnostic,
        name: &str,
        at: Loc,
        fields: impl Iterator<Item = &'static Field>,
    ) -> Option<Diagnostic> {
        let fields: Vec<&'static Field> = fields.collect();
        let s = did_you_mean(name, fields.iter().map(|f| f.name))?;
        let field = fields.iter().find(|f| f.name == s)?;
        // Another misspelling in the block (or this one twice) that would become `s` too:
        // renaming both would make a duplicate.
        let rivals = self
            .present
            .iter()
            .filter(|k| did_you_mean(k, fields.iter().map(|f| f.name)) == Some(s))
            .count()
            > 1;
        Some(if self.present.iter().any(|k| k == s) {
            d.with_help(format!(
                "did you mean `{s}`? It is already set in this block: remove one of the two"
            ))
        } else if rivals {
            d.with_help(format!(
                "did you mean `{s}`? Another field of this block looks like `{s}` too: keep one"
            ))
        } else if let Some(why) = self.too_new(field.since) {
            d.with_help(format!("did you mean `{s}`? {why}"))
        } else {
            d.with_help(format!("did you mean `{s}`?"))
                .with_replacement(format!("replace with `{s}`"), at, s)
        })
    }

    /// Why a field or value introduced in `since` cannot be used: the declared release is
    /// older. `None` when it can (or the release is not known).
    fn too_new(&self, since: Option<units::Feature>) -> Option<String> {
        let (feature, release) = (since?, self.release.as_ref()?);
        (!release.supports(feature)).then(|| {
            let since = feature.introduced_in();
            format!("It needs KumoMTA {since} or later; this deployment runs {release}")
        })
    }

    fn block<'a>(&mut self, parent: &'static BlockSchema, b: &'a Block) -> Option<HBlock<'a>> {
        let kw = b.keyword.name.as_str();
        let Some(schema) = parent.child(kw) else {
            self.unknown_block(parent, b);
            return None;
        };
        let label = self.label(schema, b);
        let from = match &b.from {
            None => None,
            Some(path) => {
                if !schema.from {
                    self.push(
                        Diagnostic::new(
                            "K1009",
                            format!("`{kw}` blocks cannot start `from` a preset"),
                            self.loc(path.span),
                            "`from` not allowed here",
                        )
                        .with_help("only `shaping` blocks take `from provider.NAME`"),
                    );
                    None
                } else {
                    match path.segments.as_slice() {
                        [ns, name] if ns.name == "provider" => {
                            Some((name.name.clone(), self.loc(name.span)))
                        }
                        _ => {
                            self.push(
                                Diagnostic::new(
                                    "K1009",
                                    format!("`{}` is not a preset", path.text()),
                                    self.loc(path.span),
                                    "expected `provider.NAME`",
                                )
                                .with_help("presets are written `from provider.google`"),
                            );
                            None
                        }
                    }
                }
            }
        };
        let (attrs, blocks) = self.body(schema, &b.body);
        Some(HBlock {
            file: self.file,
            ast: b,
            schema,
            attrs,
            blocks,
            from,
            label,
            overridden_at: Vec::new(),
        })
    }

    fn unknown_block(&mut self, parent: &'static BlockSchema, b: &Block) {
        let kw = b.keyword.name.as_str();
        let where_ = if parent.keyword == "<file>" {
            "at the top level".to_string()
        } else {
            format!("in `{}`", parent.keyword)
        };
        let mut d = Diagnostic::new(
            "K1001",
            format!("unknown block `{kw}` {where_}"),
            self.loc(b.keyword.span),
            "unknown block",
        );
        let candidates = parent.children.iter().map(|c| c.keyword);
        let too_new = |s: &str| {
            let block = parent.children.iter().find(|c| c.keyword == s)?;
            self.too_new(block.since)
        };
        if let Some(s) = did_you_mean(kw, candidates) {
            d = match too_new(s) {
                Some(why) => d.with_help(format!("did you mean `{s}`? {why}")),
                None => d
                    .with_help(format!("did you mean `{s}`?"))
                    .with_replacement(format!("replace with `{s}`"), self.loc(b.keyword.span), s),
            };
        } else if parent.field(kw).is_some() {
            d = d.with_help(format!("`{kw}` is a field here: write `{kw} = value`"));
        } else if let Some(home) = home_of_block(kw) {
            d = d.with_help(format!("`{kw}` blocks belong in {home}"));
        } else {
            let names: Vec<&str> = parent.children.iter().map(|c| c.keyword).collect();
            d = d.with_help(format!("blocks allowed {where_}: {}", names.join(", ")));
        }
        self.push(d);
    }

    fn label(&mut self, schema: &'static BlockSchema, b: &Block) -> Option<String> {
        let kw = schema.keyword;
        let Some(label) = &b.label else {
            if schema.label != LabelRule::None {
                let example = match schema.label {
                    LabelRule::Domain { .. } => "\"example.com\"",
                    LabelRule::DefaultOrDomain { .. } => "default",
                    LabelRule::Environment => "production",
                    _ => "NAME",
                };
                self.push(
                    Diagnostic::new(
                        "K1008",
                        format!("`{kw}` needs a name"),
                        self.loc(b.keyword.span),
                        "name missing",
                    )
                    .with_help(format!("write `{kw} {example} {{ ... }}`")),
                );
            }
            return None;
        };
        let at = self.loc(label.span);
        match schema.label {
            LabelRule::None => {
                self.push(
                    Diagnostic::new(
                        "K1008",
                        format!("`{kw}` takes no name"),
                        at,
                        "unexpected name",
                    )
                    .with_help(format!("write `{kw} {{ ... }}`")),
                );
                None
            }
            LabelRule::Name => {
                if label.text.is_empty() || label.text.chars().any(char::is_control) {
                    self.push(
                        Diagnostic::new(
                            "K2010",
                            "invalid name",
                            at,
                            "empty or has control characters",
                        )
                        .with_help("names are non-empty and printable"),
                    );
                    return None;
                }
                if kw == "secret" {
                    self.secret_name(&label.text, at)?;
                }
                // Tenants are checked where they are defined (a queue's `tenant` block
                // refers to one), campaigns wherever they are written (each is a definition).
                if std::ptr::eq(schema, &crate::schema::TENANT) || kw == "campaign" {
                    if let Err((why, help)) = check_queue_name_part(&label.text) {
                        self.push(
                            Diagnostic::new(
                                "K2010",
                                format!("{} cannot name a {kw}", shown(&label.text)),
                                at,
                                why,
                            )
                            .with_help(help),
                        );
                    }
                }
                Some(label.text.clone())
            }
            LabelRule::Domain { wildcard } => {
                match check_domain(&label.text, wildcard) {
                    Ok(()) => {}
                    Err(why) => {
                        self.push(
                            Diagnostic::new(
                                "K2010",
                                format!("`{}` is not a domain name", label.text),
                                at,
                                why,
                            )
                            .with_help("write the domain in quotes, like `\"example.com\"`"),
                        );
                        return None;
                    }
                }
                Some(label.text.to_ascii_lowercase())
            }
            LabelRule::DefaultOrDomain { wildcard } => {
                if label.text == "default" {
                    return Some("default".to_string());
                }
                if !label.quoted {
                    self.push(
                        Diagnostic::new(
                            "K1008",
                            format!(
                                "`{kw} {}` is neither `default` nor a quoted domain",
                                label.text
                            ),
                            at,
                            "expected `default` or \"domain\"",
                        )
                        .with_help(format!(
                            "write `{kw} default {{ ... }}` or `{kw} \"example.com\" {{ ... }}`"
                        )),
                    );
                    return None;
                }
                if let Err(why) = check_domain(&label.text, wildcard) {
                    let (why, help) = if label.text.starts_with("*.") {
                        (
                            "a wildcard never matches a shaping block",
                            "KumoMTA looks shaping blocks up by the exact destination domain (or its MX site with `mx_rollup`): name the domain, or use a `provider` with `domain_suffix(...)`",
                        )
                    } else {
                        (
                            why,
                            "shaping and queue blocks are keyed by a destination domain",
                        )
                    };
                    self.push(
                        Diagnostic::new(
                            "K2010",
                            format!("`{}` is not a domain name", label.text),
                            at,
                            why,
                        )
                        .with_help(help),
                    );
                    return None;
                }
                let domain = label.text.to_ascii_lowercase();
                if kw == "shaping" && SHAPING_RESERVED_KEYS.contains(&domain.as_str()) {
                    self.push(
                        Diagnostic::new(
                            "K2010",
                            format!("`{domain}` cannot key a shaping block"),
                            at,
                            "a reserved key of shaping.toml",
                        )
                        .with_help(
                            "KumoMTA's shaping file reads its top-level `provider` table as the provider blocks, so a destination of that name cannot be shaped; write the domain in full",
                        ),
                    );
                    return None;
                }
                Some(domain)
            }
            LabelRule::Environment => {
                if ENVIRONMENTS.iter().any(|e| e.name == label.text) {
                    Some(label.text.clone())
                } else {
                    let mut d = Diagnostic::new(
                        "K2006",
                        format!("unknown environment `{}`", label.text),
                        at,
                        "not an environment",
                    );
                    d = match did_you_mean(&label.text, ENVIRONMENTS.iter().map(|e| e.name)) {
                        Some(s) => d
                            .with_help(format!("did you mean `{s}`?"))
                            .with_replacement(format!("replace with `{s}`"), at, s),
                        None => d.with_help("the environments are `staging` and `production`"),
                    };
                    self.push(d);
                    None
                }
            }
        }
    }

    fn attr<'a>(&mut self, schema: &'static BlockSchema, a: &'a Attr) -> Option<HAttr<'a>> {
        let name = a.key.name.as_str();
        if let Some(ty) = &schema.map_of {
            let value = self.value(ty, &a.value);
            let value = value.filter(|_| self.map_key_emittable(schema.keyword, a));
            return Some(HAttr {
                file: self.file,
                ast: a,
                field: None,
                value,
            });
        }
        let Some(field) = schema.field(name) else {
            self.unknown_field(schema, a);
            return None;
        };
        if a.key.quoted {
            // `"max_age" = 1h` is accepted but unusual; no diagnostic.
        }
        let value = self
            .value(&field.ty, &a.value)
            .and_then(|v| self.emittable(schema.keyword, field.name, v))
            .and_then(|v| self.in_range(schema.keyword, field.name, v));
        Some(HAttr {
            file: self.file,
            ast: a,
            field: Some(field),
            value,
        })
    }

    fn unknown_field(&mut self, schema: &'static BlockSchema, a: &Attr) {
        let name = a.key.name.as_str();
        let at = self.loc(a.key.span);
        let where_ = if schema.keyword == "<file>" {
            "at the top level".to_string()
        } else {
            format!("in `{}`", schema.keyword)
        };
        let mut d = Diagnostic::new(
            "K1002",
            format!("unknown field `{name}` {where_}"),
            at,
            "unknown field",
        );
        if did_you_mean(name, schema.all_fields().map(|f| f.name)).is_some() {
            d = match self.suggest_field(d.clone(), name, at, schema.all_fields()) {
                Some(with) => with,
                None => d,
            };
        } else if schema.child(name).is_some() {
            d = d.with_help(format!(
                "`{name}` is a block here: write `{name} {{ ... }}`"
            ));
        } else if let Some(home) = home_of_field(name) {
            d = d.with_help(format!("`{name}` belongs in {home}"));
        } else if schema.keyword == "<file>" {
            d = d.with_help(
                "fields go inside a block, such as `deployment`, `shaping` or `cluster`",
            );
        } else {
            let names: Vec<&str> = schema.all_fields().map(|f| f.name).take(12).collect();
            if !names.is_empty() {
                let more = if schema.all_fields().count() > names.len() {
                    ", ..."
                } else {
                    ""
                };
                d = d.with_help(format!(
                    "fields allowed {where_}: {}{more}",
                    names.join(", ")
                ));
            }
        }
        self.push(d);
    }

    // ----- values ------------------------------------------------------------------------

    fn mismatch(&mut self, ty: &Ty, v: &Value) {
        let at = self.loc(v.span);
        let mut d = Diagnostic::new(
            "K2001",
            format!("expected {}, found {}", ty.describe(), v.describe()),
            at,
            format!("expected {}", short(ty)),
        );
        d = match (ty, &v.kind) {
            (Ty::Secret, ValueKind::Str(_)) => d.with_help(
                "secret values are never written in .kumo: declare `secret \"name\" { }` and refer to it with `secret(\"name\")`",
            ),
            (Ty::Rate, ValueKind::Number(raw)) => d.with_help(format!("a rate needs a period: `{raw}/s`, `{raw}/min` or `{raw}/h`")),
            (Ty::Duration, ValueKind::Number(raw)) if raw.chars().all(|c| c.is_ascii_digit()) => {
                match self.trailing {
                    // `2 hours`: the unit is on the line, after a space. The fix replaces
                    // both with the duration they spell, or there is none.
                    Some(junk) => {
                        let whole = v.span.cover(junk);
                        let written = self.text.get(whole.range()).unwrap_or_default();
                        match spaced_duration(written) {
                            Some(fixed) => d
                                .with_help(format!("no spaces inside a duration: write `{fixed}`"))
                                .with_replacement(
                                    format!("write `{fixed}`"),
                                    self.loc(whole),
                                    fixed,
                                ),
                            None => d.with_help(format!(
                                "a duration is a number and a unit without spaces, like `{raw}s`, `{raw}m` or `{raw}h`"
                            )),
                        }
                    }
                    // A bare number: KumoMTA itself reads an integer duration as seconds.
                    None => d
                        .with_help(format!("durations need a unit: `{raw}s`, `{raw}m` or `{raw}h`"))
                        .with_fix(
                            format!("use `{raw}s` (KumoMTA reads a bare number as seconds)"),
                            crate::diagnostic::Applicability::Unsafe,
                            vec![crate::diagnostic::Edit { loc: at, replacement: format!("{raw}s") }],
                        ),
                }
            }
            (Ty::Bool, ValueKind::Str(s)) if s.value == "true" || s.value == "false" => d
                .with_help(format!("write `{}` without quotes", s.value))
                .with_replacement("remove the quotes", at, s.value.clone()),
            (Ty::Enum(_), ValueKind::Str(s)) => d.with_help(format!("enum values are written without quotes: `{}`", s.value)),
            (Ty::Ref(k), ValueKind::Str(s)) => d.with_help(format!("refer to a {} by its bare name: `{}`", k.noun(), s.value)),
            _ => d.with_help(format!("this field takes {}", ty.describe())),
        };
        self.push(d);
    }

    /// The typed value of a literal parsed by `units`, or its error reported.
    fn lit<T>(
        &mut self,
        parsed: Result<T, UnitError>,
        code: &'static str,
        what: &str,
        v: &Value,
        wrap: impl FnOnce(T) -> Typed,
    ) -> Option<Typed> {
        self.lit_fix(parsed, code, what, v, wrap, Applicability::Safe)
    }

    /// [`Self::lit`], with the error's suggestion (the literal, corrected: see
    /// [`UnitError::suggestion`]) offered as a fix of the given applicability.
    fn lit_fix<T>(
        &mut self,
        parsed: Result<T, UnitError>,
        code: &'static str,
        what: &str,
        v: &Value,
        wrap: impl FnOnce(T) -> Typed,
        applicability: Applicability,
    ) -> Option<Typed> {
        match parsed {
            Ok(x) => Some(wrap(x)),
            Err(e) => {
                // A string's contents start one byte after its opening quote.
                let quoted = matches!(v.kind, ValueKind::Str(_));
                let suggestion = e.suggestion.clone();
                self.unit_error(code, what, v, usize::from(quoted), e);
                if let (Some(fixed), Some(last)) = (suggestion, self.diags.last_mut()) {
                    let replacement = if quoted {
                        format!("\"{}\"", fixed.replace('\\', "\\\\").replace('"', "\\\""))
                    } else {
                        fixed.clone()
                    };
                    last.fix = Some(crate::diagnostic::Fix {
                        title: format!("write `{fixed}`"),
                        applicability,
                        edits: vec![crate::diagnostic::Edit {
                            loc: Loc::new(self.file, v.span),
                            replacement,
                        }],
                    });
                }
                None
            }
        }
    }

    fn unit_error(
        &mut self,
        code: &'static str,
        what: &str,
        v: &Value,
        text_offset: usize,
        e: UnitError,
    ) {
        // Point inside the literal only when its text is exactly what was parsed (a string
        // with escapes is longer in the source than its value).
        let exact = match &v.kind {
            ValueKind::Str(st) => v.span.len() as usize == st.value.len() + 2,
            _ => true,
        };
        let span = v
            .span
            .subspan(e.range.start + text_offset..e.range.end + text_offset);
        let span = if span.is_empty() || !exact {
            v.span
        } else {
            span
        };
        let shown = source_text(v);
        let mut d = Diagnostic::new(
            code,
            format!("invalid {what} `{shown}`"),
            self.loc(span),
            e.message.clone(),
        );
        d = match e.help {
            Some(h) => d.with_help(h),
            None => d.with_help(format!(
                "see `kumoc explain {code}` for how a {what} is written"
            )),
        };
        self.push(d);
    }

    fn value(&mut self, ty: &Ty, v: &Value) -> Option<TypedAt> {
        let loc = self.loc(v.span);
        let typed = match (ty, &v.kind) {
            // Already reported by the parser.
            (_, ValueKind::Missing | ValueKind::Error(_)) => return None,
            (Ty::OneOrList(inner), ValueKind::List(_)) => return self.value(&Ty::List(inner), v),
            (Ty::OneOrList(inner), _) => {
                let one = self.value(inner, v)?;
                Typed::List(vec![one])
            }
            (Ty::List(inner), ValueKind::List(list)) => {
                let items = list
                    .items
                    .iter()
                    .filter_map(|i| self.value(inner, i))
                    .collect();
                Typed::List(items)
            }
            (Ty::Str, ValueKind::Str(s)) => Typed::Str(s.value.clone()),
            (Ty::Bool, ValueKind::Bool(b)) => Typed::Bool(*b),
            (Ty::Int { min, max }, ValueKind::Number(raw)) => {
                let digits = raw.replace('_', "");
                match digits.parse::<i64>() {
                    Ok(n) if n < *min || n > *max => {
                        self.push(
                            Diagnostic::new(
                                "K2007",
                                format!("{n} is out of range"),
                                loc,
                                format!("must be {}", range_text(*min, *max)),
                            )
                            .with_help(format!("the allowed range is {}", range_text(*min, *max))),
                        );
                        return None;
                    }
                    Ok(n) => Typed::Int(n),
                    Err(_) => {
                        self.mismatch(ty, v);
                        return None;
                    }
                }
            }
            (Ty::Duration, ValueKind::Number(raw))
                if !raw.chars().all(|c| c.is_ascii_digit() || c == '_') =>
            {
                self.lit(
                    units::parse_duration_literal(raw),
                    "K2002",
                    "duration",
                    v,
                    Typed::Duration,
                )?
            }
            // The newest humantime here: what an older release cannot read is reported by
            // `resolve`, which knows the deployment's release (per environment).
            (Ty::Duration, ValueKind::Str(s)) => self.lit(
                units::parse_humantime(&s.value, units::HumantimeFlavor::V2_3),
                "K2002",
                "duration",
                v,
                Typed::Duration,
            )?,
            (Ty::Rate, ValueKind::Rate(raw)) if raw.contains('/') => {
                self.lit(units::parse_rate(raw), "K2003", "rate", v, Typed::Rate)?
            }
            (Ty::Rate, ValueKind::Str(s)) => {
                self.lit(units::parse_rate(&s.value), "K2003", "rate", v, Typed::Rate)?
            }
            (
                Ty::Limit,
                ValueKind::Number(raw) | ValueKind::Str(kumoc_lang::ast::StrLit { value: raw, .. }),
            ) => self.lit(
                units::parse_limit(raw),
                "K2007",
                "connection limit",
                v,
                Typed::Limit,
            )?,
            (Ty::Limit, ValueKind::Rate(raw)) if !raw.contains('/') => self.lit(
                units::parse_limit(raw),
                "K2007",
                "connection limit",
                v,
                Typed::Limit,
            )?,
            (Ty::Size, ValueKind::Number(raw)) => {
                self.lit(units::parse_size(raw), "K2004", "size", v, Typed::Size)?
            }
            (Ty::Cpu, ValueKind::Number(raw)) => self.lit(
                units::parse_cpu(raw),
                "K2004",
                "CPU quantity",
                v,
                Typed::Cpu,
            )?,
            (Ty::Percent, ValueKind::Number(raw)) if raw.ends_with('%') => self.lit(
                units::parse_percent(raw),
                "K2004",
                "percentage",
                v,
                Typed::Percent,
            )?,
            (
                Ty::Ip,
                ValueKind::Ip(raw) | ValueKind::Str(kumoc_lang::ast::StrLit { value: raw, .. }),
            ) => self.lit(units::parse_ip(raw), "K2005", "IP address", v, Typed::Ip)?,
            (Ty::Cidr, ValueKind::Ip(raw))
            | (Ty::Cidr, ValueKind::Str(kumoc_lang::ast::StrLit { value: raw, .. })) => {
                // Unsafe: `10.0.0.1/8` -> `10.0.0.0/8` is KumoMTA's own "did you mean", but
                // the writer may have meant the host.
                self.lit_fix(
                    units::parse_cidr(raw),
                    "K2005",
                    "CIDR",
                    v,
                    Typed::Cidr,
                    Applicability::Unsafe,
                )?
            }
            (Ty::HostPort, ValueKind::Str(s)) => match check_host_port(&s.value) {
                Ok(()) => Typed::HostPort(s.value.clone()),
                Err(why) => {
                    self.push(
                        Diagnostic::new("K2005", format!("invalid \"host:port\": {why}"), loc, why)
                            .with_help(format!(
                                "write it like \"10.0.0.5:1080\" or \"[2001:db8::5]:1080\" (KumoMTA reads a DNS name like \"proxy.example.com:1080\" from {} on)",
                                units::Feature::ProxyServerByName.introduced_in()
                            )),
                    );
                    return None;
                }
            },
            (Ty::Domain { wildcard }, ValueKind::Str(s)) => match check_domain(&s.value, *wildcard)
            {
                Ok(()) => Typed::Domain(s.value.to_ascii_lowercase()),
                Err(why) => {
                    self.push(
                        Diagnostic::new(
                            "K2010",
                            format!("`{}` is not a domain name", s.value),
                            loc,
                            why,
                        )
                        .with_help(
                            "a domain name is dot-separated labels of letters, digits and `-`",
                        ),
                    );
                    return None;
                }
            },
            (Ty::Url(schemes), ValueKind::Str(s)) => match check_url(&s.value, schemes) {
                Ok(()) => Typed::Url(s.value.clone()),
                Err((why, help)) => {
                    self.push(
                        Diagnostic::new("K2005", format!("invalid URL: {why}"), loc, why)
                            .with_help(help),
                    );
                    return None;
                }
            },
            (Ty::K8sName, ValueKind::Str(s)) => match check_k8s_name(&s.value) {
                Ok(()) => Typed::K8sName(s.value.clone()),
                Err(why) => {
                    self.push(Diagnostic::new("K2010", format!("`{}` is not a valid Kubernetes name", s.value), loc, why).with_help("use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"));
                    return None;
                }
            },
            (Ty::HttpPath, ValueKind::Str(s)) if s.value.starts_with('/') => {
                Typed::HttpPath(s.value.clone())
            }
            (Ty::Enum(variants), ValueKind::Path(p)) => {
                let name = p.text();
                match variants.iter().find(|x| x.name == name) {
                    Some(x) => Typed::Enum(x),
                    None => {
                        self.unknown_enum(variants, &name, loc);
                        return None;
                    }
                }
            }
            (Ty::Enum(variants), ValueKind::Bool(b)) => {
                self.unknown_enum(variants, &b.to_string(), loc);
                return None;
            }
            (Ty::Ref(kind), ValueKind::Path(p)) => match p.as_name() {
                Some(n) => Typed::Ref(*kind, n.to_string()),
                None => {
                    self.mismatch(ty, v);
                    return None;
                }
            },
            (Ty::Ref(kind), ValueKind::Str(s))
                if !s.value.is_empty() && *kind != RefKind::Secret =>
            {
                // Names with characters a bare name cannot hold may be quoted.
                Typed::Ref(*kind, s.value.clone())
            }
            (Ty::Secret, ValueKind::Call(c)) if c.callee.text() == "secret" => {
                return self.secret(c, loc);
            }
            (Ty::Version, ValueKind::Str(s)) => self.lit(
                units::parse_version(&s.value),
                "K2009",
                "KumoMTA release",
                v,
                Typed::Version,
            )?,
            (Ty::Regex, ValueKind::Str(s)) => match regex_error(&s.value) {
                None => Typed::Regex(s.value.clone()),
                Some(e) => {
                    self.push(
                        Diagnostic::new("K2011", "invalid regular expression", loc, e)
                            .with_help("patterns use fancy-regex syntax; in a '...' string backslashes are taken literally"),
                    );
                    return None;
                }
            },
            (Ty::Action, ValueKind::Path(p)) => {
                let name = p.text();
                match ACTIONS.iter().find(|a| a.name == name) {
                    Some(a) if a.name.starts_with("set_") => {
                        self.push(
                            Diagnostic::new(
                                "K2012",
                                format!("`{name}` needs the field to set"),
                                loc,
                                "arguments missing",
                            )
                            .with_help(format!("write `{name}(connection_limit = 1)`")),
                        );
                        return None;
                    }
                    Some(a) => Typed::Action(Action::Simple(a)),
                    None => {
                        self.unknown_enum(ACTIONS, &name, loc);
                        return None;
                    }
                }
            }
            (Ty::Action, ValueKind::Call(c)) => return self.set_config(c, loc),
            (Ty::Trigger, ValueKind::Path(p)) if p.text() == "immediate" => {
                Typed::Trigger(Trigger::Immediate)
            }
            (Ty::Trigger, ValueKind::Call(c)) if c.callee.text() == "threshold" => {
                let [arg] = c.args.as_slice() else {
                    self.push(
                        Diagnostic::new(
                            "K2012",
                            "`threshold` takes one rate",
                            loc,
                            "wrong arguments",
                        )
                        .with_help("write `threshold(10/h)`"),
                    );
                    return None;
                };
                let rate = self.value(&Ty::Rate, &arg.value)?;
                match rate.value {
                    Typed::Rate(r) => Typed::Trigger(Trigger::Threshold(r)),
                    _ => return None,
                }
            }
            (Ty::Match, ValueKind::Call(c)) => {
                let name = c.callee.text();
                let arg = match c.args.as_slice() {
                    [a] if a.name.is_none() => match &a.value.kind {
                        ValueKind::Str(s) => Some(s.value.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(arg) = arg else {
                    self.push(
                        Diagnostic::new(
                            "K2012",
                            format!("`{name}` takes one string"),
                            loc,
                            "wrong arguments",
                        )
                        .with_help("write `mx_suffix(\".google.com\")`"),
                    );
                    return None;
                };
                let arg_loc = c.args.first().map_or(loc, |a| self.loc(a.value.span));
                self.match_argument(&name, &arg, loc, arg_loc)?;
                match name.as_str() {
                    "mx_suffix" => Typed::Match(MatchRule::MxSuffix(arg)),
                    "domain_suffix" => Typed::Match(MatchRule::DomainSuffix(arg)),
                    "host_name" => Typed::Match(MatchRule::HostName(arg)),
                    other => {
                        let mut d = Diagnostic::new(
                            "K2012",
                            format!("unknown match rule `{other}`"),
                            self.loc(c.callee.span),
                            "unknown function",
                        );
                        d = match did_you_mean(other, ["mx_suffix", "domain_suffix", "host_name"]) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")).with_replacement(format!("replace with `{s}`"), self.loc(c.callee.span), s),
                            None => d.with_help("match rules are `mx_suffix(...)`, `domain_suffix(...)` and `host_name(...)`"),
                        };
                        self.push(d);
                        return None;
                    }
                }
            }
            (_, ValueKind::Call(c)) => {
                let name = c.callee.text();
                self.push(
                    Diagnostic::new(
                        "K2012",
                        format!("`{name}(...)` is not allowed here"),
                        self.loc(c.callee.span),
                        format!("expected {}", short(ty)),
                    )
                    .with_help(format!("this field takes {}", ty.describe())),
                );
                return None;
            }
            _ => {
                self.mismatch(ty, v);
                return None;
            }
        };
        Some(TypedAt { value: typed, loc })
    }

    fn unknown_enum(&mut self, variants: &'static [Variant], name: &str, loc: Loc) {
        let mut d = Diagnostic::new(
            "K2006",
            format!("unknown value `{name}`"),
            loc,
            "not one of the allowed values",
        );
        let by_kumo = variants.iter().find(|x| x.kumo.eq_ignore_ascii_case(name));
        let suggestion = by_kumo
            .map(|x| x.name)
            .or_else(|| did_you_mean(name, variants.iter().map(|x| x.name)));
        // Only what the declared release has is "allowed".
        let names: Vec<String> = variants
            .iter()
            .filter(|x| self.too_new(x.since).is_none())
            .map(|x| format!("`{}`", x.name))
            .collect();
        let too_new = suggestion
            .and_then(|s| variants.iter().find(|x| x.name == s))
            .and_then(|x| self.too_new(x.since));
        d = match (suggestion, too_new) {
            (Some(s), Some(why)) => d.with_help(format!(
                "did you mean `{s}`? {why} (allowed: {})",
                names.join(", ")
            )),
            (Some(s), None) => d
                .with_help(format!(
                    "did you mean `{s}`? (allowed: {})",
                    names.join(", ")
                ))
                .with_replacement(format!("replace with `{s}`"), loc, s),
            (None, _) => d.with_help(format!("allowed: {}", names.join(", "))),
        };
        self.push(d);
    }

    fn secret(&mut self, c: &kumoc_lang::ast::Call, loc: Loc) -> Option<TypedAt> {
        let strings: Vec<(String, Loc)> = c
            .args
            .iter()
            .filter_map(|a| match (&a.name, &a.value.kind) {
                (None, ValueKind::Str(s)) => Some((s.value.clone(), self.loc(a.value.span))),
                _ => None,
            })
            .collect();
        if strings.len() != c.args.len() || strings.is_empty() || strings.len() > 2 {
            self.push(
                Diagnostic::new("K2012", "`secret` takes a Secret name and optionally a key", loc, "wrong arguments")
                    .with_help("write `secret(\"dkim-keys\")` or `secret(\"dkim-keys\", \"example.com.default.key\")`"),
            );
            return None;
        }
        let mut it = strings.into_iter();
        let (name, name_loc) = it.next()?;
        self.secret_name(&name, name_loc)?;
        let key = it.next();
        if let Some((k, kloc)) = &key {
            if let Err(why) = check_secret_key(k) {
                self.push(
                    Diagnostic::new(
                        "K2010",
                        format!("`{k}` is not a valid Secret key"),
                        *kloc,
                        why,
                    )
                    .with_help("Secret keys are letters, digits, `-`, `_` and `.`"),
                );
                return None;
            }
        }
        Some(TypedAt {
            value: Typed::Secret(SecretRef {
                name,
                name_loc,
                key,
            }),
            loc,
        })
    }

    fn set_config(&mut self, c: &kumoc_lang::ast::Call, loc: Loc) -> Option<TypedAt> {
        let name = c.callee.text();
        let Some(variant) = ACTIONS.iter().find(|a| a.name == name) else {
            self.unknown_enum(ACTIONS, &name, self.loc(c.callee.span));
            return None;
        };
        if !variant.name.starts_with("set_") {
            self.push(
                Diagnostic::new(
                    "K2012",
                    format!("`{name}` takes no arguments"),
                    loc,
                    "unexpected arguments",
                )
                .with_help(format!("write `{name}`")),
            );
            return None;
        }
        let [arg] = c.args.as_slice() else {
            self.push(
                Diagnostic::new(
                    "K2012",
                    format!("`{name}` sets exactly one field"),
                    loc,
                    "wrong arguments",
                )
                .with_help(format!("write `{name}(connection_limit = 1)`")),
            );
            return None;
        };
        let Some(fname) = &arg.name else {
            self.push(
                Diagnostic::new(
                    "K2012",
                    format!("`{name}` needs `field = value`"),
                    loc,
                    "field name missing",
                )
                .with_help(format!("write `{name}(connection_limit = 1)`")),
            );
            return None;
        };
        let Some(field) = egress_field(&fname.name) else {
            let at = self.loc(fname.span);
            let mut d = Diagnostic::new(
                "K1002",
                format!("`{}` is not a shaping field", fname.name),
                at,
                "unknown field",
            );
            let saved = std::mem::take(&mut self.present);
            if let Some(with) = self.suggest_field(
                d.clone(),
                &fname.name,
                at,
                crate::schema::EGRESS_FIELDS.iter(),
            ) {
                d = with;
            }
            self.present = saved;
            self.push(d);
            return None;
        };
        let value = self.value(&field.ty, &arg.value)?;
        Some(TypedAt {
            value: Typed::Action(Action::SetConfig {
                variant,
                field,
                value: Box::new(value),
            }),
            loc,
        })
    }
}

/// The value as written, for messages (long values are cut).
/// `2 hours`, `1 h 30 min`: a duration written with spaces, as a kumoc literal (`2h`,
/// `90m`), when it reads as one exactly. Months and years are left alone (`5 M` is five
/// months to humantime, and rarely what was meant), and so are fractions and units below
/// the millisecond, which a kumoc literal cannot hold exactly.
fn spaced_duration(written: &str) -> Option<String> {
    let refused = written.contains('.')
        || written.split(|c: char| !c.is_alphabetic()).any(|w| {
            matches!(
                w,
                "M" | "month"
                    | "months"
                    | "y"
                    | "year"
                    | "years"
                    | "yr"
                    | "yrs"
                    | "ns"
                    | "nsec"
                    | "nanos"
                    | "us"
                    | "usec"
                    | "µs"
            )
        });
    if refused {
        return None;
    }
    let ms = units::parse_humantime(written, units::HumantimeFlavor::V2_2).ok()?;
    (ms > 0).then(|| units::format_duration(ms))
}

fn source_text(v: &Value) -> String {
    let s = match &v.kind {
        ValueKind::Str(s) => s.value.clone(),
        ValueKind::Number(r) | ValueKind::Rate(r) | ValueKind::Ip(r) | ValueKind::Error(r) => {
            r.clone()
        }
        _ => String::new(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn short(ty: &Ty) -> String {
    match ty {
        Ty::Enum(_) => "one of the allowed values".into(),
        other => strip(&other.describe()),
    }
}

fn strip(s: &str) -> String {
    s.split(" like ").next().unwrap_or(s).to_string()
}

fn range_text(min: i64, max: i64) -> String {
    if max == i64::MAX {
        format!("at least {min}")
    } else {
        format!("between {min} and {max}")
    }
}

pub(crate) fn duplicate_block(h: &HBlock<'_>, first: Loc) -> Diagnostic {
    let what = match &h.label {
        Some(l) => format!("`{} {}`", h.schema.keyword, l),
        None => format!("`{}`", h.schema.keyword),
    };
    Diagnostic::new(
        "K1004",
        format!("{what} is defined twice"),
        h.header_loc(),
        "defined again here",
    )
    .with_secondary(first, "first defined here")
    .with_help("merge the two blocks into one")
}

/// Where a block keyword is allowed, for "belongs in" hints.
fn home_of_block(kw: &str) -> Option<String> {
    fn find(b: &'static BlockSchema, kw: &str, depth: usize) -> Option<String> {
        if depth > 4 {
            return None;
        }
        for c in b.children {
            if c.keyword == kw {
                return Some(if b.keyword == "<file>" {
                    "the top level".to_string()
                } else {
                    format!("`{}`", b.keyword)
                });
            }
        }
        for c in b.children {
            if c.keyword != "env" {
                if let Some(h) = find(c, kw, depth + 1) {
                    return Some(h);
                }
            }
        }
        None
    }
    find(&crate::schema::ROOT, kw, 0)
}

fn home_of_field(name: &str) -> Option<String> {
    fn find(b: &'static BlockSchema, name: &str, depth: usize) -> Option<String> {
        if depth > 4 {
            return None;
        }
        if b.field(name).is_some() {
            return Some(format!("`{}` blocks", b.keyword));
        }
        for c in b.children {
            if c.keyword != "env" {
                if let Some(h) = find(c, name, depth + 1) {
                    return Some(h);
                }
            }
        }
        None
    }
    find(&crate::schema::ROOT, name, 0)
}

pub fn check_domain(s: &str, wildcard: bool) -> Result<(), &'static str> {
    let body = if wildcard {
        s.strip_prefix("*.").unwrap_or(s)
    } else {
        s
    };
    if body.is_empty() {
        return Err("empty");
    }
    if body.len() > 253 {
        return Err("longer than 253 characters");
    }
    for label in body.split('.') {
        if label.is_empty() {
            return Err("empty label (two dots, or a leading or trailing dot)");
        }
        if label.len() > 63 {
            return Err("a label is longer than 63 characters");
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("only letters, digits, `-` and `_` are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label starts or ends with `-`");
        }
    }
    Ok(())
}

pub fn check_k8s_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 63 {
        return Err("must be 1 to 63 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("only lowercase letters, digits and `-`");
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must start and end with a letter or digit");
    }
    Ok(())
}

fn check_secret_key(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters");
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("invalid character");
    }
    // apimachinery's `IsConfigMapKey`: not `.`, and no `..` prefix (the kubelet writes each
    // key as a file beside its own `..data` link).
    if s == "." || s.starts_with("..") {
        return Err("`.` and names starting with `..` are not keys");
    }
    Ok(())
}

fn check_host_port(s: &str) -> Result<(), &'static str> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((h, p)) = rest.split_once("]:") else {
            return Err("an IPv6 host is written `[addr]:port`");
        };
        if h.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("not an IPv6 address");
        }
        (h, p)
    } else {
        let Some((h, p)) = s.rsplit_once(':') else {
            return Err("missing `:port`");
        };
        if h.parse::<IpAddr>().is_err() {
            check_domain(h, false)?;
        }
        (h, p)
    };
    if host.is_empty() {
        return Err("missing host");
    }
    match port.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("the port must be 1 to 65535"),
    }
}

fn check_url(s: &str, schemes: &[&str]) -> Result<(), (&'static str, String)> {
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err((
            "missing `scheme://`",
            format!(
                "write it like \"{}://host:6379\"",
                schemes.first().unwrap_or(&"redis")
            ),
        ));
    };
    if !schemes.contains(&scheme) {
        return Err((
            "unsupported scheme",
            format!("use one of: {}", schemes.join(", ")),
        ));
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        return Err((
            "credentials in the URL",
            "never write credentials in .kumo: set `username` and `password = secret(\"...\")`"
                .to_string(),
        ));
    }
    if authority.is_empty() {
        return Err(("missing host", "write the host after `://`".to_string()));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(("contains whitespace", "remove the spaces".to_string()));
    }
    Ok(())
}

// ----- strings that must mean something where they are emitted (issue 7) ------------------
//
// The emitters escape every string for Lua, TOML and YAML, so no value can inject code or
// structure. Some places give the text a meaning of its own, though: a header name, a
// Kubernetes name, a path on the pod, a log filter, an SMTP greeting line. A string that
// cannot mean anything there is reported here, at the value: control characters in any
// emitted string (K2015), and each such place's own grammar (K2010 for names, K2015 for
// other text).

impl Cx<'_, '_> {
    /// Strings are single lines of printable text.
    fn no_control_characters(&mut self, s: &str, loc: Loc) -> Option<()> {
        let Some(c) = s.chars().find(|c| c.is_control()) else {
            return Some(());
        };
        self.push(
            Diagnostic::new(
                "K2015",
                format!("a string with a control character (`{}`)", c.escape_default()),
                loc,
                "control character",
            )
            .with_help(if s.contains("-----BEGIN") {
                "this looks like a PEM key: secret material never goes in .kumo; reference a Secret with `secret(\"name\", \"key\")`"
            } else {
                "strings are one line of printable text: remove the newline, tab or other control character"
            }),
        );
        None
    }

    /// Every string of a field's value (list items and `set_config` values included) is
    /// printable, and follows the field's own grammar where it has one (see
    /// [`string_grammar`]). A value with a bad string is dropped, like any ill-typed value.
    fn emittable(&mut self, block: &str, field: &str, v: TypedAt) -> Option<TypedAt> {
        self.strings_ok(block, field, &v.value, v.loc).then_some(v)
    }

    fn strings_ok(&mut self, block: &str, field: &str, v: &Typed, loc: Loc) -> bool {
        match v {
            Typed::Str(s) => {
                if self.no_control_characters(s, loc).is_none() {
                    return false;
                }
                let Some((code, why, help)) = string_grammar(block, field, s) else {
                    return true;
                };
                self.push(
                    Diagnostic::new(
                        code,
                        format!("{} is not valid for `{field}`", shown(s)),
                        loc,
                        why,
                    )
                    .with_help(help),
                );
                false
            }
            Typed::List(items) => {
                // Every item is checked, so each bad one is reported.
                let mut ok = true;
                for i in items {
                    ok &= self.strings_ok(block, field, &i.value, i.loc);
                }
                ok
            }
            Typed::Action(Action::SetConfig {
                field: f, value, ..
            }) => self.strings_ok("shaping", f.name, &value.value, value.loc),
            _ => true,
        }
    }

    /// Map keys: printable; the keys of a Secret's `files` are Secret keys. (The values of
    /// `files` are paths `kumoc build --secrets` reads, never emitted; KUMO-SEC005 looks for
    /// secrets pasted there.)
    fn map_key_emittable(&mut self, block: &str, a: &Attr) -> bool {
        let loc = self.loc(a.key.span);
        if self.no_control_characters(&a.key.name, loc).is_none() {
            return false;
        }
        if block == "files" {
            if let Err(why) = check_secret_key(&a.key.name) {
                self.push(
                    Diagnostic::new(
                        "K2010",
                        format!("`{}` is not a valid Secret key", a.key.name),
                        loc,
                        why,
                    )
                    .with_help("Secret keys are letters, digits, `-`, `_` and `.`"),
                );
                return false;
            }
        }
        true
    }

    /// A Secret's name is a Kubernetes object name and a directory on the pod.
    fn secret_name(&mut self, name: &str, loc: Loc) -> Option<()> {
        match check_dns_subdomain(name) {
            Ok(()) => Some(()),
            Err(why) => {
                self.push(
                    Diagnostic::new(
                        "K2010",
                        format!("{} is not a valid Secret name", shown(name)),
                        loc,
                        why,
                    )
                    .with_help(
                        "Secret names are lowercase letters, digits, `-` and `.`, like `dkim-keys`",
                    ),
                );
                None
            }
        }
    }

    /// `mx_suffix`, `domain_suffix` and `host_name` compare a destination with their text: an
    /// empty suffix would match every destination, and whitespace none. (Wildcards and
    /// regex syntax are KUMO-SHP005's, with a fix.)
    fn match_argument(&mut self, rule: &str, arg: &str, loc: Loc, arg_loc: Loc) -> Option<()> {
        let text = match rule {
            "mx_suffix" | "domain_suffix" => arg.strip_prefix('.').unwrap_or(arg),
            "host_name" => arg,
            _ => return Some(()), // an unknown rule: reported with its name
        };
        // KumoMTA compares MX host names as DNS gives them, in lower case (hickory's
        // `Name::to_lowercase` in `fully_qualify`, `crates/dns-resolver`), and the suffix as
        // written: an upper-case letter never matches.
        if rule != "domain_suffix" && text.chars().any(|c| c.is_ascii_uppercase()) {
            let lower = arg.to_ascii_lowercase();
            let mut d = Diagnostic::new(
                "K2010",
                format!("{} never matches an MX host name", shown(arg)),
                arg_loc,
                "upper-case letters",
            )
            .with_help(format!(
                "KumoMTA compares MX host names in lower case: write `\"{lower}\"`"
            ));
            if !lower.contains(['"', '\\']) {
                d = d.with_replacement("write it in lower case", arg_loc, format!("\"{lower}\""));
            }
            self.push(d);
            return None;
        }
        let why = if text.is_empty() {
            "matches every destination"
        } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            "a domain has no spaces or control characters"
        } else {
            return Some(());
        };
        self.push(
            Diagnostic::new(
                "K2010",
                format!("{} is not a domain name", shown(arg)),
                loc,
                why,
            )
            .with_help("match rules take a domain or a suffix like `\".google.com\"`"),
        );
        None
    }
}

// ----- names that share a namespace with a consumer's own keys (issue 11) ----------------

/// The keys KumoMTA's queue helper reads as options in the tables where kumoc writes tenant
/// and campaign names: `[queue."d"]` holds options and tenants, `[queue."d"."t"]` options and
/// campaigns, and the helper decides which is which by trying each key as an option
/// (`assets/policy-extras/queue.lua`, `parse_domain` / `parse_tenant_with_campaign`, and
/// `is_queue_config_option`, which asks `kumo.make_queue_config`). So a tenant named
/// `max_age` is not TOML at all when the block also sets `max_age` (the same key twice), and
/// is read as a broken option otherwise; `tenants` and `campaigns` are the helper's own record
/// fields, which an empty table silently fills. The fields of `QueueConfig`
/// (`crates/kumod/src/queue/config.rs`) and of the helper's records.
pub const QUEUE_HELPER_KEYS: &[&str] = &[
    "retry_interval",
    "max_retry_interval",
    "max_age",
    "egress_pool",
    "max_message_rate",
    "protocol",
    "reap_interval",
    "refresh_interval",
    "timerwheel_tick_interval",
    "strategy",
    "refresh_strategy",
    "provider_name",
    "shrink_policy",
    "overall_max_message_rate",
    "routing_domain",
    "require_authz",
    "campaigns",
    "tenants",
];

/// Top-level keys of `shaping.toml` that are not destinations: `provider` holds the provider
/// blocks (`ShapingFile` in `crates/kumo-api-types/src/shaping.rs`). (`default` is the
/// `shaping default` block itself.)
pub const SHAPING_RESERVED_KEYS: &[&str] = &["provider"];

/// A tenant or campaign name. Besides being a key of `queues.toml` (see [`QUEUE_HELPER_KEYS`]),
/// it is a part of KumoMTA's scheduled queue names, `campaign:tenant@domain!routing_domain`,
/// which KumoMTA splits back at the first `@`, then at the first `:`
/// (`QueueNameComponents::parse`, `crates/message/src/message.rs`): a `@` or `:` in a tenant
/// or campaign puts mail in another queue than its configuration names.
pub fn check_queue_name_part(s: &str) -> Result<(), (&'static str, &'static str)> {
    if s.contains(['@', ':']) {
        return Err((
            "`@` and `:` separate the parts of a queue name",
            "KumoMTA names queues `campaign:tenant@domain` and splits the name at the first `:` and `@`: use other characters",
        ));
    }
    if QUEUE_HELPER_KEYS.contains(&s) {
        return Err((
            "an option name of KumoMTA's queue helper",
            "in queues.toml, tenants and campaigns share tables with the queue options, and KumoMTA reads a key named like an option as that option: choose another name",
        ));
    }
    Ok(())
}

// ----- values where they are used (issue 11) ----------------------------------------------

/// The largest duration any consumer reads back: Kubernetes stores seconds as 32-bit integers
/// (probes), and KumoMTA converts durations to `chrono::Duration` (milliseconds in an `i64`;
/// `QueueConfig::get_max_age` unwraps it) and Prometheus to nanoseconds in an `i64`.
pub const MAX_DURATION_MS: u64 = i32::MAX as u64 * 1000;

/// Why a typed value cannot be what `block.field` becomes: (label, help). The grammar was
/// checked already; these are the ranges of the values' consumers.
fn value_rule(block: &str, field: &str, v: &Typed) -> Option<(&'static str, String, String)> {
    let range = |why: &str, help: String| Some(("K2007", why.to_string(), help));
    match (block, field, v) {
        (_, _, Typed::Size(n)) if *n > i64::MAX as u64 => range(
            "larger than 8 EiB",
            "KumoMTA's Lua and Kubernetes read sizes as 64-bit signed integers: use at most `7Ei`".into(),
        ),
        (_, _, Typed::Cpu(n)) if *n > i64::MAX as u64 => range(
            "too many cores",
            "Kubernetes counts CPU in millicores in a 64-bit signed integer".into(),
        ),
        (_, _, Typed::Duration(ms)) if *ms > MAX_DURATION_MS => range(
            "longer than 68 years",
            format!(
                "durations are at most {}s (2^31 − 1 seconds): Kubernetes stores seconds as 32-bit integers and KumoMTA refuses longer ones at run time",
                MAX_DURATION_MS / 1000
            ),
        ),
        // Kubernetes and the DKIM helper read these in whole seconds: a fraction would be
        // rounded, 0 where they need at least 1 would be written as 1.
        (
            "readiness" | "startup" | "liveness" | "mta" | "dkim" | "dkim_defaults",
            "initial_delay" | "period" | "timeout" | "termination_grace_period" | "expiration",
            Typed::Duration(ms),
        ) if !ms.is_multiple_of(1000) => range(
            "not a whole number of seconds",
            format!("`{field}` is written in whole seconds: use `{}s`", ms.div_ceil(1000).max(1)),
        ),
        (
            "readiness" | "startup" | "liveness" | "mta" | "dkim" | "dkim_defaults",
            "period" | "timeout" | "termination_grace_period" | "expiration",
            Typed::Duration(0),
        ) => range(
            "0 seconds",
            match field {
                "termination_grace_period" => "kumod needs time to finish deliveries and flush the spool: give it at least `1s` (kumoc's default is `300s`)".to_string(),
                "expiration" => "signatures would already be expired when they are sent: use at least `1s` (days, in practice)".to_string(),
                _ => format!("Kubernetes requires a probe `{field}` of at least 1 second: use `1s`"),
            },
        ),
        ("mta", "spool", Typed::Size(0)) | ("tsa", "storage", Typed::Size(0)) => range(
            "a volume of 0 bytes",
            "the volume is a PersistentVolumeClaim, and Kubernetes requires it to request more than 0 bytes".into(),
        ),
        ("autoscale", "cpu" | "memory", Typed::Percent(0)) => range(
            "a target of 0%",
            "Kubernetes requires a utilization target of at least 1%".into(),
        ),
        // fancy-regex compiles an empty pattern, which matches every response: every
        // delivery would fire the rule.
        (_, _, Typed::Regex(r)) if r.is_empty() => Some((
            "K2011",
            "matches every response".into(),
            "an empty pattern fires the rule on every delivery: write what the response says, like `'4\\.7\\.28'`".into(),
        )),
        (_, _, Typed::List(items)) => items
            .iter()
            .find_map(|i| value_rule(block, field, &i.value)),
        (_, _, Typed::Action(Action::SetConfig { field: f, value, .. })) => {
            value_rule("shaping", f.name, &value.value)
        }
        _ => None,
    }
}

impl Cx<'_, '_> {
    /// A value outside what its consumer reads back is reported (K2007) and dropped.
    fn in_range(&mut self, block: &str, field: &str, v: TypedAt) -> Option<TypedAt> {
        let Some((code, why, help)) = value_rule(block, field, &v.value) else {
            return Some(v);
        };
        let message = if code == "K2007" {
            format!("`{field}` is out of range")
        } else {
            format!("invalid `{field}`")
        };
        self.push(Diagnostic::new(code, message, v.loc, why).with_help(help));
        None
    }
}

/// A string for a message: in backticks, cut when long, `""` when empty.
fn shown(s: &str) -> String {
    if s.is_empty() {
        return "`\"\"`".to_string();
    }
    let cut: String = s.chars().take(60).collect();
    if cut.len() < s.len() {
        format!("`{cut}…`")
    } else {
        format!("`{s}`")
    }
}

/// Why a string cannot be what `block.field` emits it as: (code, label, help). Only fields
/// whose text means something to its consumer are here; other strings only need to be
/// printable.
fn string_grammar(
    block: &str,
    field: &str,
    s: &str,
) -> Option<(&'static str, &'static str, &'static str)> {
    let bad = |code, why, help| Some((code, why, help));
    match (block, field) {
        ("dkim" | "dkim_defaults", "selector") => check_domain(s, false).err().and_then(|why| {
            bad("K2010", why, "a DKIM selector is dot-separated labels of letters, digits and `-`, like `s2048`")
        }),
        ("tenancy", "tenant_header" | "campaign_header" | "scheduling_header")
        | ("dkim" | "dkim_defaults" | "logging", "headers") => {
            let ok = !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic() && b != b':');
            if ok {
                None
            } else {
                bad("K2010", "not a header name", "a header name is printable ASCII without spaces or `:`, like `X-Tenant`")
            }
        }
        ("mta" | "tsa", "storage_class") => check_dns_subdomain(s).err().and_then(|why| {
            bad("K2010", why, "StorageClass names are lowercase letters, digits, `-` and `.`")
        }),
        ("secret", "keys") => check_secret_key(s).err().and_then(|why| {
            bad("K2010", why, "Secret keys are letters, digits, `-`, `_` and `.`")
        }),
        ("deployment", "image") => check_image(s).err().and_then(|why| {
            bad("K2010", why, "write the image repository, like `ghcr.io/kumocorp/kumomta`, optionally pinned to a digest: `ghcr.io/kumocorp/kumomta@sha256:<64 hex digits>`")
        }),
        ("queue", "routing_domain") => {
            // KumoMTA's `MailExchanger::resolve` (crates/dns-resolver): `[IPv6:addr]` (the
            // tag in any case), or `[addr]`, IPv4 or an untagged IPv6.
            let ip = s
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .is_some_and(|ip| {
                    let v6 = ip.get(..5).filter(|t| t.eq_ignore_ascii_case("ipv6:"));
                    match (v6, ip.get(5..)) {
                        (Some(_), Some(addr)) => addr.parse::<std::net::Ipv6Addr>().is_ok(),
                        _ => ip.parse::<IpAddr>().is_ok(),
                    }
                });
            if ip {
                return None;
            }
            check_domain(s, false).err().and_then(|why| {
                bad("K2010", why, "route to a domain, or to an address written `[10.0.0.5]` or `[IPv6:2001:db8::5]`")
            })
        }
        ("logging", "filter") => check_log_filter(s).err().and_then(|why| {
            bad("K2015", why, "a filter is comma-separated `target=level` or `level` directives without spaces, like `kumod=info,lua=warn`; levels are trace, debug, info, warn, error and off")
        }),
        _ => None,
    }
}

/// A DNS-1123 subdomain (Kubernetes object names such as Secrets and StorageClasses).
fn check_dns_subdomain(s: &str) -> Result<(), &'static str> {
    if s.is_empty() || s.len() > 253 {
        return Err("must be 1 to 253 characters");
    }
    for label in s.split('.') {
        if label.is_empty() {
            return Err("empty part between dots");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("only lowercase letters, digits, `-` and `.`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a part starts or ends with `-`");
        }
    }
    Ok(())
}

/// An image reference: `[registry[:port]/]path[:tag][@digest]`, path parts of lowercase
/// letters, digits and `._-`. A digest (`@sha256:<64 hex>`, the strongest pin: the registry
/// serves those bytes or nothing) is welcome; the tag comes from `kumomta`.
fn check_image(s: &str) -> Result<(), &'static str> {
    let (without_digest, digest) = match s.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (s, None),
    };
    if let Some(digest) = digest {
        // The OCI image spec's registered algorithms, as Kubernetes pulls them.
        let hex = |h: &str, n: usize| {
            h.len() == n
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        let ok = match digest.split_once(':') {
            Some(("sha256", h)) => hex(h, 64),
            Some(("sha512", h)) => hex(h, 128),
            _ => false,
        };
        if !ok {
            return Err("a digest is `@sha256:` and 64 lowercase hex digits");
        }
    }
    let repository = match without_digest.rfind(':') {
        Some(colon) if !without_digest[colon..].contains('/') => &without_digest[..colon],
        _ => without_digest,
    };
    if repository.is_empty() {
        return Err("no repository");
    }
    let parts: Vec<&str> = repository.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        let registry = i == 0 && parts.len() > 1;
        let ok = !part.is_empty()
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part.ends_with(|c: char| c.is_ascii_alphanumeric())
            && part.chars().all(|c| {
                c.is_ascii_digit()
                    || c.is_ascii_lowercase()
                    || matches!(c, '.' | '_' | '-')
                    || (registry && (c.is_ascii_uppercase() || c == ':'))
            });
        if !ok {
            return Err("not an image repository");
        }
    }
    if s.chars().any(|c| !(c.is_ascii_graphic())) {
        return Err("not an image reference");
    }
    Ok(())
}

/// A tracing `EnvFilter` (`kumo.set_diagnostic_log_filter`): comma-separated directives, each
/// a level, or a target and/or `[span]` with an optional `=level`.
fn check_log_filter(s: &str) -> Result<(), &'static str> {
    fn level(l: &str) -> bool {
        matches!(
            l.to_ascii_lowercase().as_str(),
            "trace"
                | "debug"
                | "info"
                | "warn"
                | "error"
                | "off"
                | "0"
                | "1"
                | "2"
                | "3"
                | "4"
                | "5"
        )
    }
    // tracing-subscriber splits on `,` and trims nothing: ` lua=info` is not a directive,
    // and kumod's `init` fails on it.
    for directive in s.split(',').filter(|d| !d.is_empty()) {
        if directive.trim() != directive {
            return Err(
                "a space around a directive (kumod reads the filter as written: no spaces)",
            );
        }
        let (what, lvl) = match directive.rsplit_once('=') {
            Some((what, l)) if !what.contains(['[', ']']) || what.ends_with(']') => (what, Some(l)),
            _ => (directive, None),
        };
        if let Some(l) = lvl {
            if !l.is_empty() && !level(l) {
                return Err("unknown level");
            }
        } else if level(what) {
            continue;
        }
        let (target, span) = match what.find('[') {
            Some(at) => (&what[..at], Some(&what[at..])),
            None => (what, None),
        };
        let target_ok = target
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '-'));
        let span_ok = span.is_none_or(|sp| {
            sp.len() >= 2 && sp.ends_with(']') && !sp[1..sp.len() - 1].contains(']')
        });
        if !target_ok || !span_ok || (target.is_empty() && span.is_none()) {
            return Err("not a filter directive");
        }
    }
    Ok(())
}

/// Why `pattern` does not compile (KumoMTA compiles automation patterns with fancy-regex), or
/// `None`. Memoized per thread: compiling the stdlib's automation patterns took most of the
/// check of a small deployment, on every analysis (every keystroke in the editor). The memo
/// is cleared when it grows past a few thousand patterns, so an editing session cannot grow it
/// without bound.
fn regex_error(pattern: &str) -> Option<String> {
    const MAX_MEMO: usize = 4096;
    thread_local! {
        static MEMO: std::cell::RefCell<rustc_hash::FxHashMap<String, Option<String>>> =
            std::cell::RefCell::default();
    }
    MEMO.with(|memo| {
        if let Some(known) = memo.borrow().get(pattern) {
            return known.clone();
        }
        let result = fancy_regex::Regex::new(pattern)
            .err()
            .map(|e| e.to_string());
        let mut memo = memo.borrow_mut();
        if memo.len() >= MAX_MEMO {
            memo.clear();
        }
        memo.insert(pattern.to_string(), result.clone());
        result
    })
}
