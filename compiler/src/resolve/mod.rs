//! Phase B: merge the layers, resolve names, check what needs the whole description, and
//! lower it to the [`model`](crate::model). This room runs the phase; each step has its own:
//! `merge` (layers), `names` (definitions, references, required fields, secret keys),
//! `gates` (what the release accepts), `lower` (the model) and `checks` (on what was
//! lowered and what kumoc derives from it).

mod checks;
mod gates;
mod lower;
mod merge;
mod names;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kumoc_lang::units::{self, KumoVersion};
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use crate::check::HBlock;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::{Deployment, Domain, Environment, QueueRule, ShapingBlock};
use crate::schema::Field;
use crate::source::{FileId, Loc, Sources};
use crate::value::Spanned;

use merge::{dedupe, merge_deduped, merge_in_place};

/// What phase A produced, by layer. The checked blocks (`B`, see [`Block`]) are owned
/// (`kumoc build`: their values move into the model, and each is freed once lowered) or
/// borrowed (the language server's session keeps them across edits: only what the model
/// holds is copied, and a block that merges with another).
pub struct Input<'s, B> {
    /// The text of every file (version gates read duration strings as written).
    pub sources: &'s Sources,
    pub stdlib: Vec<B>,
    /// Top-level blocks of every user file, in file order, in chunks (as the front end
    /// read them: a large file's blocks are never copied into one vector).
    pub user: Vec<Vec<B>>,
    /// `--env`, if given.
    pub env: Option<Environment>,
    /// The first user file, for diagnostics that belong to no block.
    pub first_file: Option<FileId>,
    /// How many user files `user` comes from. Each file's blocks come without duplicates
    /// among them (the checks drop them), so the blocks of one file need no [`dedupe`].
    pub user_files: usize,
    /// How many threads may walk and lower the `domain`, `queue` and `shaping` blocks (two
    /// parts when it is two or more and they are many: [`SPLIT_BLOCKS`]).
    pub threads: usize,
}

/// A checked block as resolve takes it: an [`HBlock`] (consumed) or a [`Lent`] one.
pub(crate) trait Block: merge::Layer + lower::Lowered + Send {}

impl<B: merge::Layer + lower::Lowered + Send> Block for B {}

/// A checked block lent to resolve (a session's kept block), or its copy once another
/// merged into it. Two words: the blocks are moved about by merging and sorting, and an
/// `HBlock` (or a `Cow` of one) is seventeen (136 bytes, a test in `check` holds it).
#[derive(Debug)]
pub(crate) enum Lent<'a> {
    /// A session's top-level block, with what resolve lowered of it last time.
    Top(&'a Kept),
    /// A child of one.
    Kept(&'a HBlock),
    Merged(Box<HBlock>),
}

impl std::borrow::Borrow<HBlock> for Lent<'_> {
    fn borrow(&self) -> &HBlock {
        match self {
            Lent::Top(k) => &k.block,
            Lent::Kept(b) => b,
            Lent::Merged(b) => b,
        }
    }
}

/// A checked top-level block a session keeps across analyses, and what resolve lowered of
/// it (see [`Memo`]).
#[derive(Debug)]
pub(crate) struct Kept {
    pub block: HBlock,
    pub memo: Memo,
}

impl Kept {
    pub fn new(block: HBlock) -> Self {
        Kept {
            block,
            memo: Memo::default(),
        }
    }
}

/// What resolve lowered of a kept `domain`, `queue` or `shaping` block that no other block
/// merged with, shared with the model it went into (`Arc`): the next analysis takes it
/// again instead of lowering the block again, when what else its lowering read is the
/// same. A domain's lowering reads `dkim_defaults` (`DkimCx`) and is kept only when it found
/// nothing; a shaping block is kept only when it does not start `from` a preset. The
/// session drops a memo whenever its block changes or moves (its locations are the
/// block's).
#[derive(Debug, Default)]
pub(crate) struct Memo(std::sync::Mutex<Option<(Part, lower::DkimCx)>>);

/// A block's lowered part (see [`Memo`]); a domain's with whether its key's name was derived
/// (then checked again against its secret's declared keys, which may have changed).
#[derive(Debug, Clone)]
pub(crate) enum Part {
    Domain(Arc<Domain>, bool),
    Queue(Arc<QueueRule>),
    Shaping(Arc<ShapingBlock>),
}

impl Memo {
    /// The part kept for a block of `keyword`, when it was lowered under `cx`.
    fn get(&self, keyword: &str, cx: &lower::DkimCx) -> Option<Part> {
        let memo = self.0.lock().ok()?;
        let (part, at) = memo.as_ref()?;
        match part {
            Part::Domain(..) if keyword == "domain" && at == cx => Some(part.clone()),
            Part::Queue(_) if keyword == "queue" => Some(part.clone()),
            Part::Shaping(_) if keyword == "shaping" => Some(part.clone()),
            _ => None,
        }
    }

    fn set(&self, part: Part, cx: &lower::DkimCx) {
        if let Ok(mut memo) = self.0.lock() {
            let cx = match part {
                Part::Domain(..) => cx.clone(),
                _ => lower::DkimCx::default(),
            };
            *memo = Some((part, cx));
        }
    }

    /// Forget the part (the block changed or moved).
    pub fn clear(&mut self) {
        if let Ok(memo) = self.0.get_mut() {
            *memo = None;
        }
    }
}

/// Merge, resolve, check and lower; `None` when there is no model to build (no deployment
/// block, or no release).
pub fn resolve<B: Block>(input: Input<'_, B>, diags: &mut Vec<Diagnostic>) -> Option<Deployment> {
    let is_env = |b: &B| b.block().schema.keyword == "env";
    // The user's blocks stay in their vector (the typed tree of every domain): the `env`
    // blocks are taken out of it, the blocks that merge into the stdlib's too, and the rest
    // of the merged tree is the stdlib's blocks then what is left of the user's.
    let mut user = input.user;
    let envs: Vec<B> = if user.iter().flatten().any(is_env) {
        user.iter_mut()
            .flat_map(|c| c.extract_if(.., |b| is_env(b)))
            .collect()
    } else {
        Vec::new()
    };
    // One file's blocks have no duplicates left (hashing 30,000 keys again was 7 M
    // instructions at 10,000 domains). Several files' are deduplicated in one vector.
    let mut user = if input.user_files > 1 {
        let mut all = Vec::with_capacity(user.iter().map(Vec::len).sum());
        for c in user {
            all.extend(c);
        }
        vec![dedupe(all, diags)]
    } else {
        user
    };
    let mut tree = input.stdlib;
    merge_in_place(&mut tree, &mut user);

    // The deployment block decides the default environment and the KumoMTA version.
    let Some(dep) = tree
        .iter()
        .chain(user.iter().flatten())
        .map(B::block)
        .find(|b| b.schema.keyword == "deployment")
    else {
        let at = Loc::new(
            input.first_file.unwrap_or_default(),
            kumoc_lang::Span::default(),
        );
        diags.push(
            Diagnostic::new(codes::MISSING_DEPLOYMENT, "no `deployment` block", at, "none in this file or the others checked with it")
                .with_help("add `deployment \"name\" { namespace = \"...\"  kumomta = \"2025.03.19-1d3f1f67\"  environment = staging }` (or run `kumoc init`)"),
        );
        return None;
    };
    let declared_env = dep
        .value("environment")
        .and_then(|v| v.read(|v| Environment::from_name(v.as_enum()?.name)));
    let dep_loc = dep.header_loc();
    let environment = match (input.env, declared_env) {
        (Some(e), Some(d)) => Spanned {
            value: e,
            loc: d.loc,
        },
        (Some(e), None) => Spanned {
            value: e,
            loc: dep_loc,
        },
        (None, Some(d)) => d,
        (None, None) => Spanned {
            value: Environment::Staging,
            loc: dep_loc,
        },
    };

    // The overlay of the selected environment.
    let mut overlay = Vec::new();
    for e in envs {
        if e.block().label.as_deref() == Some(environment.value.name()) {
            overlay.extend(e.into_children());
        }
    }
    if !overlay.is_empty() {
        // It may merge into any block: the tree in one vector.
        for mut c in user.drain(..) {
            tree.append(&mut c);
        }
        merge_deduped(&mut tree, dedupe(overlay, diags));
    }

    // The blocks there are one of per domain are lowered apart, consumed (see
    // `Resolver::lower`), each part of the tree left in its vector; the rest is the tree the
    // resolver borrows. `rest_at` keeps how many of the former come before each of the
    // latter, so the checks still walk the blocks in the order they are written.
    let is_bulk = |b: &HBlock| matches!(b.schema.keyword, "domain" | "queue" | "shaping");
    let mut rest = Vec::new();
    let mut rest_at = Vec::new();
    let mut bulk = Vec::with_capacity(1 + user.len());
    let mut n_bulk = 0;
    for mut part in std::iter::once(tree).chain(user) {
        rest.extend(part.extract_if(.., |b| {
            if is_bulk(b.block()) {
                n_bulk += 1;
                return false;
            }
            rest_at.push(n_bulk);
            true
        }));
        bulk.push(part);
    }
    let rest: Vec<&HBlock> = rest.iter().map(B::block).collect();
    let mut r = Resolver::new(&rest, input.sources, diags);
    r.release_checks();
    let parts = lower::BulkParts::sized_for(&bulk);
    let n: usize = bulk.iter().map(Vec::len).sum();
    if input.threads < 2 || n < SPLIT_BLOCKS {
        r.walk_from(bulk.iter().flatten().map(B::block), 0, &rest, &rest_at);
        return r.lower(environment, bulk, parts, &mut None);
    }
    // In two parts, the second (and the tree's blocks written among it) walked and lowered
    // on a thread of its own while this one does the first; what it did is put where one
    // thread would have done it (`Resolver::join`), so the findings and the model are the
    // same, in the same order. The first part is the smaller by this thread's other work
    // meanwhile: it lowers every source (`Resolver::sources`), and walks the tree's blocks
    // written before the cut, where the pools and their sources are in practice (see
    // `lower::source_weight`); at least a quarter of the blocks.
    let mid = (n.saturating_sub(lower::source_weight(&rest)) / 2).max(n / 4);
    let (first, second) = lower::halves(bulk, mid);
    let k = rest_at.partition_point(|&before| before <= mid);
    let (rest_first, rest_later) = rest.split_at(k);
    let (at_first, at_later) = rest_at.split_at(k);
    let seed = r.seed();
    std::thread::scope(|scope| {
        let thread = scope.spawn(move || {
            let mut walk_diags = Vec::new();
            let mut h = seed.resolver(&mut walk_diags);
            h.walk_from(
                second.iter().flatten().map(B::block),
                mid,
                rest_later,
                at_later,
            );
            let pool_uses = std::mem::take(&mut h.pool_uses);
            let mut parts = lower::BulkParts::sized_for(&second);
            h.lower_bulk(second, &mut parts);
            lower::LaterDone {
                walk_diags,
                pool_uses,
                parts,
            }
        });
        r.walk_from(
            first.iter().flatten().map(B::block),
            0,
            rest_first,
            at_first,
        );
        let walked = r.diags.len();
        let mut later = Some(lower::Later { thread, walked });
        let model = r.lower(environment, first, parts, &mut later);
        // Stopped before the lowering of the blocks (no deployment, no release): the
        // thread's findings still count.
        if let Some(l) = later {
            r.join(l, None);
        }
        model
    })
}

/// With two threads or more, `domain`, `queue` and `shaping` blocks of at least this many
/// are walked and lowered in two parts (at 10,000 domains, 30,000 blocks: 84 M
/// instructions). Below it, a thread costs more than it saves.
pub(super) const SPLIT_BLOCKS: usize = 2048;

/// What the merged description defines, by kind (a secret with the keys it declares).
struct Names<'t> {
    pools: HashSet<&'t str>,
    sources: HashSet<&'t str>,
    tenants: HashSet<&'t str>,
    secrets: HashMap<&'t str, BTreeSet<String>>,
    providers: HashSet<&'t str>,
}

/// The state of the phase over one merged tree; its steps are `impl` blocks in the rooms
/// named above.
struct Resolver<'t, 'd> {
    tree: &'t [&'t HBlock],
    /// The files' text (duration strings as written).
    texts: &'t Sources,
    diags: &'d mut Vec<Diagnostic>,
    /// Shared with the resolver of a second thread (see [`Seed`]).
    names: Arc<Names<'t>>,
    version: Option<KumoVersion>,
    /// The humantime of that release, found once (a search of the releases per duration
    /// was 1,350 instructions each).
    humantime: Option<units::HumantimeFlavor>,
    /// The required fields of a block schema (by address), found once per schema (most have
    /// none).
    required: HashMap<usize, Box<[&'static Field]>>,
    /// Where each pool is named by an `egress_pool` (a queue, tenant or campaign uses it).
    pool_uses: BTreeMap<String, Vec<Loc>>,
}

impl<'t> Resolver<'t, '_> {
    fn top(&self, kw: &'static str) -> impl Iterator<Item = &'t HBlock> + use<'t> {
        self.tree
            .iter()
            .copied()
            .filter(move |b| b.schema.keyword == kw)
    }

    fn top_one(&self, kw: &'static str) -> Option<&'t HBlock> {
        self.tree.iter().copied().find(|b| b.schema.keyword == kw)
    }
}
