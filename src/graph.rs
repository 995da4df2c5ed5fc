//! `kumoc graph PATH`: the deployment as Mermaid text or SVG (`kumoc_compiler::graph`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::{ColorChoice, EnvArg, Shown, fail};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Svg,
}

pub fn run(
    paths: &[PathBuf],
    env: Option<EnvArg>,
    format: GraphFormat,
    top: usize,
    out: Option<&Path>,
    color: ColorChoice,
) -> ExitCode {
    let shown = Shown {
        color,
        max_diagnostics: 100,
    };
    let a = match crate::dns::load(paths, env, shown) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let Some(model) = &a.model else {
        return fail("no deployment");
    };
    let g = kumoc_compiler::graph::graph(model, top.max(1));
    let text = match format {
        GraphFormat::Mermaid => kumoc_compiler::graph::mermaid(&g),
        GraphFormat::Svg => kumoc_compiler::graph::svg(&g),
    };
    match out {
        Some(path) => match crate::write_atomically(path, text.as_bytes()) {
            Ok(()) => {
                eprintln!("wrote {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("cannot write {}: {e}", path.display())),
        },
        None => crate::print_stdout(&text),
    }
}
