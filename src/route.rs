//! `kumoc route DOMAIN PATH`: where mail to a domain goes (`kumoc_compiler::route`).

use std::path::PathBuf;
use std::process::ExitCode;

use kumoc_compiler::emit::{Places, Provenance};
use kumoc_compiler::route::{self, Query};

use crate::{EnvArg, Shown, fail};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum RouteFormat {
    Human,
    Json,
}

pub struct RouteArgs {
    pub domain: String,
    pub paths: Vec<PathBuf>,
    pub env: Option<EnvArg>,
    pub mx: Option<String>,
    pub snapshot: Option<PathBuf>,
    pub tenant: Option<String>,
    pub campaign: Option<String>,
    pub format: RouteFormat,
    pub top: usize,
    pub shown: Shown,
}

pub fn run(args: RouteArgs) -> ExitCode {
    let a = match crate::dns::load(&args.paths, args.env, args.shown) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Some(model) = &a.model else {
        return fail("no deployment");
    };
    let mut q = Query {
        domain: args.domain.clone(),
        mx: args.mx.as_ref().map(|m| {
            m.split(',')
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
                .collect()
        }),
        tenant: args.tenant.clone(),
        campaign: args.campaign.clone(),
        ..Default::default()
    };
    if let Some(path) = &args.snapshot {
        let text = match crate::input::Budget::deployment().read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => return fail(format!("cannot read {}: {e}", path.display())),
        };
        match kumoc_compiler::dns::Snapshot::parse(&text) {
            Ok(s) => q.other_mx = s.all_mx(),
            Err(errors) => {
                for e in errors {
                    eprintln!("{}:{}: {}", path.display(), e.line, e.message);
                }
                return fail(format!("{} is not a DNS snapshot", path.display()));
            }
        }
    }
    let places = Places::new(&a.sources, &a.parses);
    let prov = Provenance::new(&places, true);
    let r = route::route(model, &prov, &q);
    let text = match args.format {
        RouteFormat::Human => route::render_human(&r, args.top),
        RouteFormat::Json => {
            let mut s = serde_json::to_string_pretty(&r).unwrap_or_default();
            s.push('\n');
            s
        }
    };
    crate::print_stdout(&text)
}
