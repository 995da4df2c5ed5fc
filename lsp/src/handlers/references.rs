//! `textDocument/references` and `textDocument/rename`: every place the name under the
//! cursor is written in the deployment's user files (its definition and its uses).

use std::collections::HashMap;

use tower_lsp_server::jsonrpc::{Error, Result};
use tower_lsp_server::ls_types::*;

use crate::features::navigation;
use crate::from_proto;
use crate::state::Backend;
use crate::text::Lines;
use crate::to_proto;

pub async fn references(
    server: &Backend,
    params: ReferenceParams,
) -> Result<Option<Vec<Location>>> {
    let uri = params.text_document_position.text_document.uri;
    let Some((keyword, name)) =
        name_under(server, &uri, params.text_document_position.position).await?
    else {
        return Ok(None);
    };
    Ok(Some(
        locations(server, &uri, keyword, &name)
            .await?
            .into_iter()
            .map(|(location, _)| location)
            .collect(),
    ))
}

pub async fn rename(server: &Backend, params: RenameParams) -> Result<Option<WorkspaceEdit>> {
    let uri = params.text_document_position.text_document.uri;
    let new = params.new_name;
    if new.is_empty() || new.chars().any(char::is_control) || new.contains('"') {
        return Err(Error::invalid_params(format!(
            "`{new}` is not a valid name"
        )));
    }
    let Some((keyword, name)) =
        name_under(server, &uri, params.text_document_position.position).await?
    else {
        return Ok(None);
    };
    // A built-in preset cannot be renamed: the user's block of that name changes it.
    if let Some(snap) = server.snapshot(&uri).await? {
        let preset = snap
            .analysis
            .sources
            .iter()
            .zip(&snap.analysis.parses)
            .any(|((_, f), p)| {
                f.is_stdlib && navigation::find_definition(&p.file.items, keyword, &name).is_some()
            });
        if preset {
            return Err(Error::invalid_params(format!(
                "`{name}` is a built-in preset: a block of that name changes it"
            )));
        }
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for (location, quoted) in locations(server, &uri, keyword, &name).await? {
        let new_text = if quoted || !navigation::is_bare_name(&new) {
            format!("\"{new}\"")
        } else {
            new.clone()
        };
        changes.entry(location.uri).or_default().push(TextEdit {
            range: location.range,
            new_text,
        });
    }
    Ok(Some(WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }))
}

/// The name (definition or reference) under a position, as (block keyword, name).
async fn name_under(
    server: &Backend,
    uri: &Uri,
    pos: Position,
) -> Result<Option<(&'static str, String)>> {
    let Some(syntax) = server.syntax(uri).await? else {
        return Ok(None);
    };
    let offset = from_proto::offset(&syntax.lines(), pos, server.encoding());
    Ok(navigation::name_at(&syntax.target_at(offset).0))
}

/// Every occurrence of a name in the deployment's user files, with whether it is quoted.
async fn locations(
    server: &Backend,
    uri: &Uri,
    keyword: &str,
    name: &str,
) -> Result<Vec<(Location, bool)>> {
    let Some(snap) = server.snapshot(uri).await? else {
        return Ok(Vec::new());
    };
    let enc = server.encoding();
    let mut out = Vec::new();
    for ((id, file), p) in snap.analysis.sources.iter().zip(&snap.analysis.parses) {
        let Some(u) = snap.uri(id).and_then(|u| u.parse::<Uri>().ok()) else {
            continue;
        };
        if file.is_stdlib {
            continue;
        }
        let lines = Lines::new(&file.text);
        for span in navigation::occurrences(&p.file.items, keyword, name) {
            let quoted = file.slice(span).starts_with('"');
            out.push((
                Location {
                    uri: u.clone(),
                    range: to_proto::range(&lines, span, enc),
                },
                quoted,
            ));
        }
    }
    Ok(out)
}
