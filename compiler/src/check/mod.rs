//! Phase A: check every block of every file against the schema and type every value.
//!
//! This room walks the blocks and attributes: unknown blocks and fields (with "did you
//! mean"), labels, duplicates within a block, and the [`HBlock`] tree per file that comes
//! out (the schema of each block, the typed value of each attribute, and where each was
//! written: spans and shared names, so the tree does not borrow the syntax tree and outlives
//! it). Typing one value against its type is [`typing`]'s job; what a string must be
//! for the consumer it reaches is [`crate::grammars`]'. Unknown blocks and fields are
//! dropped; values that fail to type are reported and kept as `None`. Names are not
//! resolved here (that needs all files merged: see `resolve`).

mod top;
mod typing;

pub use top::{check_stmt, top_level_duplicates};

use std::borrow::Cow;
use std::collections::hash_map::Entry;

use rustc_hash::FxHashMap as HashMap;

use kumoc_lang::Span;
use kumoc_lang::ast::{Attr, Block, Name, Stmt, ValueKind};
use kumoc_lang::units::{self, KumoVersion};

use crate::codes;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::grammars::{
    SHAPING_RESERVED_KEYS, check_domain_case, check_log_hook_name, check_queue_name_part,
};
use crate::schema::{BlockSchema, ENVIRONMENTS, Field, LabelRule};
use crate::source::{FileId, Loc};
use crate::value::{Spanned, Typed, TypedAt};

use typing::shown;

/// A block checked against its schema.
#[derive(Debug, Clone)]
pub struct HBlock {
    pub file: FileId,
    /// The whole block, from its keyword to its closing brace.
    pub span: Span,
    /// Its label, or its keyword when it has none. The header (keyword and label) is the
    /// block's start to this span's end.
    pub label_span: Span,
    pub schema: &'static BlockSchema,
    pub attrs: Vec<HAttr>,
    pub blocks: Vec<HBlock>,
    /// `from provider.NAME`: the provider name and where it was written. Boxed: rare (a
    /// `shaping` block's), and 40 bytes in every block unboxed.
    pub from: Option<Box<(String, Loc)>>,
    /// The label, normalised (`"default"` and `default` are the same).
    pub label: Option<String>,
    /// Where later layers (user files over the stdlib, an `env` overlay) changed this block.
    pub overridden_at: Vec<Loc>,
}

impl HBlock {
    pub fn loc(&self) -> Loc {
        Loc::new(self.file, self.span)
    }
    /// The location of the block header (keyword and label), for labels on the block.
    pub fn header_loc(&self) -> Loc {
        Loc::new(
            self.file,
            Span {
                start: self.span.start,
                end: self.label_span.end,
            },
        )
    }
    pub fn label_loc(&self) -> Loc {
        Loc::new(self.file, self.label_span)
    }
    pub fn attr(&self, name: &str) -> Option<&HAttr> {
        // A field's key is its schema's name (static, its length at hand): the syntax
        // tree's shared name is read only for a map block's entries.
        self.attrs.iter().find(|a| match a.field {
            Some(f) => f.name == name,
            None => a.name() == name,
        })
    }
    /// The typed value of attribute `name`, when it is set and typed.
    pub fn value(&self, name: &str) -> Option<&TypedAt> {
        self.attr(name).and_then(|a| a.value.as_ref())
    }
    /// The value of attribute `name` through one of [`Typed`]'s accessors.
    pub fn read<'s, T>(
        &'s self,
        name: &str,
        as_: impl FnOnce(&'s Typed) -> Option<T>,
    ) -> Option<T> {
        self.value(name).and_then(|v| as_(&v.value))
    }
    /// The items of list attribute `name` through one of [`Typed`]'s accessors, each with
    /// its location (empty when it is not set).
    pub fn read_items<'s, T: 's>(
        &'s self,
        name: &str,
        as_: impl Fn(&'s Typed) -> Option<T> + 's,
    ) -> Vec<Spanned<T>> {
        self.value(name)
            .map(|v| v.read_items(as_).collect())
            .unwrap_or_default()
    }
    pub fn child(&self, keyword: &str) -> Option<&HBlock> {
        self.blocks.iter().find(|b| b.schema.keyword == keyword)
    }
    pub fn children<'s>(&'s self, keyword: &'s str) -> impl Iterator<Item = &'s HBlock> + 's {
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
pub struct HAttr {
    pub file: FileId,
    /// Its key and its value (as written, typed or not); the attribute is from the key's
    /// start to the later end of the two.
    pub key_span: Span,
    pub value_span: Span,
    /// The key as written: the field's name (`field`) or an entry of a map block's key.
    pub key: Name,
    /// The field's schema; `None` for an entry of a map block.
    pub field: Option<&'static Field>,
    /// The typed value; `None` when it did not type (already reported).
    pub value: Option<TypedAt>,
}

impl HAttr {
    pub fn name(&self) -> &str {
        &self.key
    }
    pub fn loc(&self) -> Loc {
        Loc::new(
            self.file,
            Span {
                start: self.key_span.start,
                end: self.value_span.end.max(self.key_span.end),
            },
        )
    }
    pub fn key_loc(&self) -> Loc {
        Loc::new(self.file, self.key_span)
    }
    pub fn value_loc(&self) -> Loc {
        Loc::new(self.file, self.value_span)
    }
}

/// Check the top-level statements of one file (`text` is the file's text, `items` its parse).
/// `env` blocks come back like any other block; their children are checked against the
/// top-level schemas.
///
/// `release` is the deployment's declared release when known ([`declared_release`]); it
/// only decides which "did you mean" suggestions become fixes (version gates are
/// `resolve`'s).
pub fn check_file(
    file: FileId,
    text: &str,
    items: &[Stmt],
    release: Option<&KumoVersion>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<HBlock> {
    Cx::new(file, text, release, diags)
        .body(&crate::schema::ROOT, items)
        .1
}

/// The release a deployment declares, read from the syntax trees of its files: the
/// `kumomta` of the `deployment` block, or of `env NAME { deployment { ... } }` for the
/// environment being built. `None` when it is missing or unreadable.
pub fn declared_release<'a>(
    files: impl IntoIterator<Item = &'a [Stmt]>,
    env: Option<&str>,
) -> Option<KumoVersion> {
    let mut facts = ReleaseFacts::default();
    for items in files {
        for s in items {
            facts.see(s);
        }
    }
    facts.release(env)
}

/// What [`declared_release`] reads, gathered a top-level statement at a time (the user
/// files' statements in order), for a caller that does not keep the syntax trees: the
/// first `environment` and the first readable `kumomta` of a `deployment` block, and the
/// `kumomta` of each `env NAME { deployment { ... } }`.
#[derive(Debug, Default, Clone)]
pub struct ReleaseFacts {
    environment: Option<String>,
    base: Option<KumoVersion>,
    overlays: Vec<(Option<String>, KumoVersion)>,
}

impl ReleaseFacts {
    /// Read a top-level statement of a user file (in order); whether it told anything.
    pub fn see(&mut self, s: &Stmt) -> bool {
        fn kumomta(b: &Block) -> Option<KumoVersion> {
            b.attrs()
                .find_map(|a| match (&a.key.name[..], &a.value.kind) {
                    ("kumomta", ValueKind::Str(v)) => units::parse_version(&v.value).ok(),
                    _ => None,
                })
        }
        fn in_deployment(items: &[Stmt]) -> Option<KumoVersion> {
            items.iter().find_map(|s| match s {
                Stmt::Block(b) if b.keyword.name == "deployment" => kumomta(b),
                _ => None,
            })
        }
        let Stmt::Block(b) = s else { return false };
        match b.keyword.name.as_str() {
            "deployment" => {
                let mut told = false;
                // Without `--env`, the deployment's own `environment` is built.
                if self.environment.is_none() {
                    self.environment =
                        b.attrs()
                            .find_map(|a| match (&a.key.name[..], &a.value.kind) {
                                ("environment", ValueKind::Path(p)) => Some(p.text()),
                                _ => None,
                            });
                    told |= self.environment.is_some();
                }
                if self.base.is_none() {
                    self.base = kumomta(b);
                    told |= self.base.is_some();
                }
                told
            }
            "env" => match in_deployment(&b.body) {
                Some(v) => {
                    self.overlays.push((b.label_text().map(str::to_string), v));
                    true
                }
                None => false,
            },
            _ => false,
        }
    }

    /// Add what `later` read of the statements after those `self` read: the facts of
    /// both runs of statements read in order, as if one had read them all.
    pub fn append(&mut self, later: ReleaseFacts) {
        if self.environment.is_none() {
            self.environment = later.environment;
        }
        if self.base.is_none() {
            self.base = later.base;
        }
        self.overlays.extend(later.overlays);
    }

    /// The release declared for environment `env` (`None`: the deployment's own).
    pub fn release(&self, env: Option<&str>) -> Option<KumoVersion> {
        let env = env.or(self.environment.as_deref());
        let overlay = self
            .overlays
            .iter()
            .find(|(label, _)| env.is_some() && label.as_deref() == env)
            .map(|(_, v)| v);
        overlay.or(self.base.as_ref()).cloned()
    }
}

/// Up to this many attributes, a body is searched for a duplicate rather than indexed.
const SMALL_BODY: usize = 16;

struct Cx<'a, 't, 'd> {
    file: FileId,
    /// The file's text, to see what follows a value on its line.
    text: &'t str,
    diags: &'d mut Vec<Diagnostic>,
    /// While checking an attribute: its position in [`Self::present`], to find the
    /// unreadable rest of its line when a value needs it ([`Self::trailing`]).
    attr_at: Option<usize>,
    /// The release the description declares (see [`declared_release`]): a "did you mean"
    /// that names a field or value this release lacks is said, not offered as a fix.
    release: Option<&'t KumoVersion>,
    /// The statements of the block being checked: renaming a field to one of the keys
    /// written there would only trade an unknown field for a duplicate.
    present: &'a [Stmt],
}

impl<'t, 'd> Cx<'_, 't, 'd> {
    /// The checker of file `file` (`text`), for a deployment declaring `release`.
    fn new(
        file: FileId,
        text: &'t str,
        release: Option<&'t KumoVersion>,
        diags: &'d mut Vec<Diagnostic>,
    ) -> Self {
        Cx {
            file,
            text,
            diags,
            attr_at: None,
            release,
            present: &[],
        }
    }
}

impl<'a> Cx<'a, '_, '_> {
    fn loc(&self, span: kumoc_lang::Span) -> Loc {
        Loc::new(self.file, span)
    }

    /// While checking an attribute: the unreadable rest of its line, when the parser read
    /// the value and left the rest as an error statement (`max_age = 2 hours`: the value is
    /// `2`, the rest `hours`). A fix for the value must replace both. Looked for only when a
    /// value does not type (not for every attribute).
    fn trailing(&self) -> Option<kumoc_lang::Span> {
        let i = self.attr_at?;
        let (Some(Stmt::Attr(a)), Some(Stmt::Error(junk))) =
            (self.present.get(i), self.present.get(i + 1))
        else {
            return None;
        };
        self.text
            .get(a.value.span.end as usize..junk.span.start as usize)
            .filter(|gap| gap.chars().all(|c| c == ' ' || c == '\t'))
            .map(|_| junk.span)
    }

    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn body(
        &mut self,
        schema: &'static BlockSchema,
        items: &'a [Stmt],
    ) -> (Vec<HAttr>, Vec<HBlock>) {
        // Sized for what is written (unknown ones are dropped): a body's vectors never grow,
        // and hold no room they will not use (the tree of a large deployment is megabytes).
        let (n_attrs, n_blocks) = items.iter().fold((0, 0), |(a, b), s| match s {
            Stmt::Attr(_) => (a + 1, b),
            Stmt::Block(_) => (a, b + 1),
            Stmt::Error(_) => (a, b),
        });
        let mut attrs: Vec<HAttr> = Vec::with_capacity(n_attrs);
        let mut blocks: Vec<HBlock> = Vec::with_capacity(n_blocks);
        // Indexes for the duplicate checks, so a body of N items costs O(N), not O(N²). A
        // body of a few attributes (nearly all of them) is searched instead: no map to build.
        let mut attr_index: HashMap<&'a str, usize> = HashMap::default();
        // Labels are borrowed from the syntax tree when normalising left them as written.
        let mut block_index: HashMap<(&'static str, Option<Cow<'a, str>>), usize> =
            HashMap::default();
        if n_blocks > SMALL_BODY {
            block_index.reserve(n_blocks);
        }
        let outer = std::mem::replace(&mut self.present, items);
        for (i, stmt) in items.iter().enumerate() {
            match stmt {
                Stmt::Attr(a) => {
                    self.attr_at = Some(i);
                    // The key's text, read once (a shared name costs a slice to read).
                    let name = a.key.name.as_str();
                    let h = self.attr(schema, a, name);
                    self.attr_at = None;
                    if let Some(h) = h {
                        let prev = if attrs.len() <= SMALL_BODY {
                            // A field is its schema's (static): the same field is the same
                            // key, one compare; a map block's entries compare their keys.
                            match h.field {
                                Some(f) => attrs
                                    .iter()
                                    .find(|p| p.field.is_some_and(|g| std::ptr::eq(f, g))),
                                None => attrs.iter().find(|p| p.name() == name),
                            }
                        } else {
                            attr_index.get(name).and_then(|&i| attrs.get(i))
                        };
                        if let Some(prev) = prev {
                            let first = prev.key_loc();
                            self.push(
                                Diagnostic::new(
                                    codes::DUPLICATE_FIELD,
                                    format!("`{}` is set twice", a.key.name),
                                    self.loc(a.key.span),
                                    "set again here",
                                )
                                .with_secondary(first, "first set here")
                                .with_help("remove one of them"),
                            );
                            continue;
                        }
                        if attrs.len() == SMALL_BODY {
                            // Keyed by the syntax tree's names (they outlive this body's
                            // vectors): the kept attributes are found by where their keys are.
                            let kept = items.get(..i).unwrap_or_default().iter().filter_map(|s| {
                                let Stmt::Attr(a) = s else { return None };
                                let j = attrs.iter().position(|p| p.key_span == a.key.span)?;
                                Some((a.key.name.as_str(), j))
                            });
                            attr_index.extend(kept);
                        }
                        if attrs.len() >= SMALL_BODY {
                            attr_index.insert(name, attrs.len());
                        }
                        attrs.push(h);
                    }
                }
                Stmt::Block(b) => {
                    if let Some(h) = self.block(schema, b) {
                        if indexed(&h) {
                            let prev = if n_blocks <= SMALL_BODY {
                                // A few blocks (nearly every body): searched, not indexed.
                                blocks.iter().find(|p| indexed(p) && p.key() == h.key())
                            } else {
                                let (kw, label) = h.key();
                                let written = b.label.as_ref().map(|l| l.text.as_str());
                                let label = label.map(|l| match written {
                                    Some(w) if w == l => Cow::Borrowed(w),
                                    _ => Cow::Owned(l.to_string()),
                                });
                                // One lookup: the first block of the key, or this one
                                // kept as the first.
                                match block_index.entry((kw, label)) {
                                    Entry::Occupied(first) => blocks.get(*first.get()),
                                    Entry::Vacant(slot) => {
                                        slot.insert(blocks.len());
                                        None
                                    }
                                }
                            };
                            if let Some(prev) = prev {
                                let first = prev.header_loc();
                                self.push(duplicate_block(&h, first));
                                continue;
                            }
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
        let present: Vec<&str> = self
            .present
            .iter()
            .filter_map(|s| match s {
                Stmt::Attr(a) => Some(a.key.name.as_str()),
                _ => None,
            })
            .collect();
        // Another misspelling in the block (or this one twice) that would become `s` too:
        // renaming both would make a duplicate.
        let rivals = present
            .iter()
            .filter(|k| did_you_mean(k, fields.iter().map(|f| f.name)) == Some(s))
            .count()
            > 1;
        Some(if present.contains(&s) {
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
        let (feature, release) = (since?, self.release?);
        (!release.supports(feature)).then(|| {
            let since = feature.introduced_in();
            format!("It needs KumoMTA {since} or later; this deployment runs {release}")
        })
    }

    fn block(&mut self, parent: &'static BlockSchema, b: &'a Block) -> Option<HBlock> {
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
                            codes::INVALID_FROM,
                            format!("`{kw}` blocks cannot start `from` a preset"),
                            self.loc(path.span),
                            "`from` not allowed here",
                        )
                        .with_help("only `shaping` blocks take `from provider.NAME`"),
                    );
                    None
                } else {
                    match &path.segments[..] {
                        [ns, name] if ns.name == "provider" => Some(Box::new((
                            name.name.as_str().to_owned(),
                            self.loc(name.span),
                        ))),
                        _ => {
                            self.push(
                                Diagnostic::new(
                                    codes::INVALID_FROM,
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
            span: b.span,
            label_span: b.label.as_ref().map_or(b.keyword.span, |l| l.span),
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
            codes::UNKNOWN_BLOCK,
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
                        codes::INVALID_LABEL,
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
        // The label's text, read once (a shared name costs a slice to read).
        let text = label.text.as_str();
        match schema.label {
            LabelRule::None => {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_LABEL,
                        format!("`{kw}` takes no name"),
                        at,
                        "unexpected name",
                    )
                    .with_help(format!("write `{kw} {{ ... }}`")),
                );
                None
            }
            LabelRule::Name => {
                let control = !text.bytes().all(|b| (0x20..0x7f).contains(&b))
                    && text.chars().any(char::is_control);
                if text.is_empty() || control {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_NAME,
                            "invalid name",
                            at,
                            "empty or has control characters",
                        )
                        .with_help("names are non-empty and printable"),
                    );
                    return None;
                }
                if kw == "secret" {
                    self.secret_name(text, at)?;
                }
                // Tenants are checked where they are defined (a queue's `tenant` block
                // refers to one), campaigns wherever they are written (each is a definition);
                // a webhook's name is the domain of its records' queue.
                let queue_part = if std::ptr::eq(schema, &crate::schema::TENANT) || kw == "campaign"
                {
                    check_queue_name_part(text)
                } else if kw == "webhook" {
                    check_log_hook_name(text)
                } else {
                    Ok(())
                };
                if let Err((why, help)) = queue_part {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_NAME,
                            format!("{} cannot name a {kw}", shown(text)),
                            at,
                            why,
                        )
                        .with_help(help),
                    );
                }
                Some(text.to_owned())
            }
            LabelRule::Domain { wildcard } => {
                let upper = match check_domain_case(text, wildcard) {
                    Ok(upper) => upper,
                    Err(why) => {
                        self.push(
                            Diagnostic::new(
                                codes::INVALID_NAME,
                                format!("`{}` is not a domain name", text),
                                at,
                                why,
                            )
                            .with_help("write the domain in quotes, like `\"example.com\"`"),
                        );
                        return None;
                    }
                };
                Some(lowered(text, upper))
            }
            LabelRule::DefaultOrDomain { wildcard } => {
                if text == "default" {
                    return Some("default".to_string());
                }
                if !label.quoted {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_LABEL,
                            format!("`{kw} {}` is neither `default` nor a quoted domain", text),
                            at,
                            "expected `default` or \"domain\"",
                        )
                        .with_help(format!(
                            "write `{kw} default {{ ... }}` or `{kw} \"example.com\" {{ ... }}`"
                        )),
                    );
                    return None;
                }
                let upper = match check_domain_case(text, wildcard) {
                    Ok(upper) => upper,
                    Err(why) => {
                        let (why, help) = if text.starts_with("*.") {
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
                                codes::INVALID_NAME,
                                format!("`{}` is not a domain name", text),
                                at,
                                why,
                            )
                            .with_help(help),
                        );
                        return None;
                    }
                };
                let domain = lowered(text, upper);
                if kw == "shaping" && SHAPING_RESERVED_KEYS.contains(&domain.as_str()) {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_NAME,
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
                if ENVIRONMENTS.iter().any(|e| e.name == text) {
                    Some(text.to_owned())
                } else {
                    let mut d = Diagnostic::new(
                        codes::UNKNOWN_VALUE,
                        format!("unknown environment `{}`", text),
                        at,
                        "not an environment",
                    );
                    d = match did_you_mean(text, ENVIRONMENTS.iter().map(|e| e.name)) {
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

    /// Attribute `a` (its key's text: `name`) of a block of schema `schema`, checked.
    fn attr(&mut self, schema: &'static BlockSchema, a: &'a Attr, name: &str) -> Option<HAttr> {
        if let Some(ty) = &schema.map_of {
            let value = self.value(ty, &a.value);
            let value = value.filter(|_| self.map_key_emittable(schema.keyword, a));
            return Some(HAttr {
                file: self.file,
                key_span: a.key.span,
                value_span: a.value.span,
                key: a.key.name.clone(),
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
        // The typed value is checked in place, not moved through each check.
        let value = self.value(&field.ty, &a.value).filter(|v| {
            self.emittable(schema.keyword, field.name, v)
                && self.in_range(schema.keyword, field.name, v)
        });
        Some(HAttr {
            file: self.file,
            key_span: a.key.span,
            value_span: a.value.span,
            key: a.key.name.clone(),
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
            codes::UNKNOWN_FIELD,
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
}

/// Whether a checked block can be a duplicate of another: not a block of which there may be
/// many, nor a keyed block whose name was refused (already reported).
fn indexed(h: &HBlock) -> bool {
    use crate::schema::Multiplicity;
    match h.schema.multiplicity {
        Multiplicity::Many => false,
        Multiplicity::Keyed => h.label.is_some(),
        Multiplicity::One => true,
    }
}

pub(crate) fn duplicate_block(h: &HBlock, first: Loc) -> Diagnostic {
    let what = match &h.label {
        Some(l) => format!("`{} {}`", h.schema.keyword, l),
        None => format!("`{}`", h.schema.keyword),
    };
    Diagnostic::new(
        codes::DUPLICATE_DEFINITION,
        format!("{what} is defined twice"),
        h.header_loc(),
        "defined again here",
    )
    .with_secondary(first, "first defined here")
    .with_help("merge the two blocks into one")
}

/// `text` in ASCII lower case, `upper` telling whether it has an upper-case letter (when it
/// has none, nearly always, a plain copy: no pass to lower it).
fn lowered(text: &str, upper: bool) -> String {
    if upper {
        text.to_ascii_lowercase()
    } else {
        text.to_owned()
    }
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

#[cfg(test)]
mod tests {
    /// The typed tree holds a block per block and an attribute per attribute of the whole
    /// deployment, alive with the syntax trees at the analysis' peak: rare parts are boxed.
    #[test]
    fn checked_nodes_stay_small() {
        assert!(std::mem::size_of::<super::HBlock>() <= 136);
        assert!(std::mem::size_of::<super::HAttr>() <= 96);
    }
}
