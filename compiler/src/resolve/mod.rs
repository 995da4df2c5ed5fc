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

use kumoc_lang::units::KumoVersion;

use crate::check::HBlock;
use crate::codes;
use crate::diagnostic::Diagnostic;
use crate::model::{Deployment, Environment};
use crate::source::{FileId, Loc};
use crate::value::Spanned;

use merge::{dedupe, merge};

/// What phase A produced, by layer.
pub struct Input<'a> {
    pub stdlib: Vec<HBlock<'a>>,
    /// Top-level blocks of every user file, in file order.
    pub user: Vec<HBlock<'a>>,
    /// `--env`, if given.
    pub env: Option<Environment>,
    /// The first user file, for diagnostics that belong to no block.
    pub first_file: Option<FileId>,
}

/// Merge, resolve, check and lower; `None` when there is no model to build (no deployment
/// block, or no release).
pub fn resolve(input: Input<'_>, diags: &mut Vec<Diagnostic>) -> Option<Deployment> {
    let (envs, user): (Vec<_>, Vec<_>) = input
        .user
        .into_iter()
        .partition(|b| b.schema.keyword == "env");
    let user = dedupe(user, diags);
    let mut tree = input.stdlib;
    merge(&mut tree, user);

    // The deployment block decides the default environment and the KumoMTA version.
    let Some(dep) = tree.iter().find(|b| b.schema.keyword == "deployment") else {
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
        if e.label.as_deref() == Some(environment.value.name()) {
            overlay.extend(e.blocks);
        }
    }
    merge(&mut tree, dedupe(overlay, diags));

    let mut r = Resolver::new(&tree, diags);
    r.check_tree();
    r.lower(environment)
}

/// What the merged description defines, by kind (a secret with the keys it declares).
struct Names<'t> {
    pools: BTreeSet<&'t str>,
    sources: BTreeSet<&'t str>,
    tenants: BTreeSet<&'t str>,
    secrets: BTreeMap<String, BTreeSet<String>>,
    providers: BTreeSet<&'t str>,
}

/// The state of the phase over one merged tree; its steps are `impl` blocks in the rooms
/// named above.
struct Resolver<'t, 'a, 'd> {
    tree: &'t [HBlock<'a>],
    diags: &'d mut Vec<Diagnostic>,
    names: Names<'t>,
    version: Option<KumoVersion>,
    /// Where each pool is named by an `egress_pool` (a queue, tenant or campaign uses it).
    pool_uses: BTreeMap<String, Vec<Loc>>,
}

impl<'t, 'a> Resolver<'t, 'a, '_> {
    fn top(&self, kw: &'static str) -> impl Iterator<Item = &'t HBlock<'a>> + use<'t, 'a> {
        self.tree.iter().filter(move |b| b.schema.keyword == kw)
    }

    fn top_one(&self, kw: &'static str) -> Option<&'t HBlock<'a>> {
        self.tree.iter().find(|b| b.schema.keyword == kw)
    }
}
