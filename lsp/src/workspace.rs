//! Documents and the deployments they belong to. A `.kumo` file is checked together with
//! the other `.kumo` files of its directory, exactly as `kumoc check DIR` does; open
//! documents override what is on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kumoc_compiler::session::{Input, Session};
use kumoc_compiler::{Analysis, FileId, Options};
use kumoc_lang::incremental::Pieces;

use crate::rope::Text;
use crate::stdlib_files;
use crate::text::{LineIndex, Lines};

/// An open document at one version (the text is shared, so snapshots of every open
/// document are cheap to take; see `rope.rs`).
#[derive(Debug, Clone)]
pub struct Doc {
    pub text: Text,
    pub version: i32,
}

impl Doc {
    pub fn new(text: String, version: i32) -> Self {
        Doc {
            text: Text::new(text),
            version,
        }
    }

    /// The text in one piece with its line index (made at the first call).
    pub fn lines(&self) -> Lines<'_> {
        Lines::of(self.text.flat(), self.text.index())
    }
}

/// `file:///a/b%20c.kumo` → `/a/b c.kumo`; other schemes have no path.
pub fn uri_to_path(uri: &str) -> Option<PathBuf> {
    let rest = uri.strip_prefix("file://")?;
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let bytes = rest.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = rest
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    Some(PathBuf::from(String::from_utf8(out).ok()?))
}

pub fn path_to_uri(path: &Path) -> String {
    let mut out = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One analysis of the deployment a document belongs to: the file names the analysis uses
/// mapped to URIs.
pub struct Snapshot {
    pub analysis: Analysis,
    /// What requests that never wait for an analysis keep of this one.
    pub summary: Arc<crate::features::summary::Summary>,
    /// FileId → URI (stdlib files map to a cached copy on disk, so definitions can open them).
    pub uris: BTreeMap<FileId, String>,
    /// The line indexes of the files that are open documents (the document's own, made as
    /// its edits were applied), so converting their positions never indexes them again.
    pub indexes: BTreeMap<FileId, Arc<LineIndex>>,
    /// The text and top-level pieces of the document the analysis is for, when the
    /// server had the pieces of exactly that text (the base of its quick diagnostics).
    pub own: Option<(Arc<String>, Pieces)>,
}

impl Snapshot {
    pub fn file_of(&self, uri: &str) -> Option<FileId> {
        self.uris
            .iter()
            .find(|(_, u)| u.as_str() == uri)
            .map(|(id, _)| *id)
    }
    pub fn uri(&self, id: FileId) -> Option<&str> {
        self.uris.get(&id).map(String::as_str)
    }
    pub fn index(&self, id: FileId) -> Option<&LineIndex> {
        self.indexes.get(&id).map(Arc::as_ref)
    }
}

/// A file of a deployment to analyse: display name, bytes, URI, and for an open document
/// the line index of its text.
struct File {
    name: String,
    bytes: Vec<u8>,
    uri: String,
    index: Option<Arc<LineIndex>>,
}

/// Analyse the deployment of `uri`: its directory's `.kumo` files, open documents first,
/// through `session` (the last analyses' syntax trees, re-parsed only where documents
/// changed); `pieces`: the top-level pieces of open documents, by URI, where the server
/// has those of exactly the text in `docs`.
pub fn analyze_for(
    uri: &str,
    docs: &BTreeMap<String, Doc>,
    pieces: &BTreeMap<String, Pieces>,
    session: &mut Session,
    options: &Options,
) -> Snapshot {
    let mut files: Vec<File> = Vec::new();
    match uri_to_path(uri) {
        // A stdlib file opened from "go to definition": the stdlib alone.
        Some(path) if stdlib_files::is_stdlib_path(&path) => {}
        Some(path) => {
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map(|rd| {
                    rd.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "kumo"))
                        .collect()
                })
                .unwrap_or_default();
            if !paths.contains(&path) {
                paths.push(path.clone());
            }
            // Open documents by path: they override the disk, under the URI the client
            // used (which may encode characters differently from `path_to_uri`).
            let open: BTreeMap<PathBuf, (&String, &Doc)> = docs
                .iter()
                .filter(|(u, _)| u.ends_with(".kumo") || u.as_str() == uri)
                .filter_map(|(u, d)| Some((uri_to_path(u)?, (u, d))))
                .filter(|(p, _)| p.parent() == Some(dir.as_path()))
                .collect();
            for p in open.keys() {
                if !paths.contains(p) {
                    paths.push(p.clone());
                }
            }
            paths.sort();
            paths.dedup();
            for p in paths {
                let (u, bytes, index) = match open.get(&p) {
                    Some((u, d)) => (
                        (*u).clone(),
                        d.text.to_bytes(),
                        Some(Arc::clone(d.text.index())),
                    ),
                    // A file deleted since the directory was listed is simply left out.
                    None => match std::fs::read(&p) {
                        Ok(b) => (path_to_uri(&p), b, None),
                        Err(_) => continue,
                    },
                };
                files.push(File {
                    name: p.to_string_lossy().into_owned(),
                    bytes,
                    uri: u,
                    index,
                });
            }
        }
        None => {
            if let Some(d) = docs.get(uri) {
                files.push(File {
                    name: uri.to_string(),
                    bytes: d.text.to_bytes(),
                    uri: uri.to_string(),
                    index: Some(Arc::clone(d.text.index())),
                });
            }
        }
    }
    let mut file_uris = Vec::with_capacity(files.len());
    let inputs: Vec<Input> = files
        .into_iter()
        .map(
            |File {
                 name,
                 bytes,
                 uri: u,
                 index,
             }| {
                let input = Input {
                    path: name.clone(),
                    name,
                    bytes,
                    pieces: pieces.get(&u).cloned(),
                };
                file_uris.push((u, index));
                input
            },
        )
        .collect();
    let analysis = session.analyze(inputs, options);
    let mut uris = BTreeMap::new();
    let mut indexes = BTreeMap::new();
    let mut user = file_uris.into_iter();
    for (id, f) in analysis.sources.iter() {
        if f.is_stdlib {
            if let Some(path) = stdlib_files::path(&f.name) {
                uris.insert(id, path_to_uri(&path));
            }
        } else if let Some((u, index)) = user.next() {
            uris.insert(id, u);
            // A document's text is UTF-8 already: the analysis decodes it to itself.
            if let Some(index) = index.filter(|i| i.fits(&f.text)) {
                indexes.insert(id, index);
            }
        }
    }
    let own = docs
        .get(uri)
        .and_then(|d| Some((Arc::clone(d.text.flat()), pieces.get(uri)?.clone())));
    Snapshot {
        analysis,
        uris,
        indexes,
        summary: Arc::default(),
        own,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_round_trip() {
        let p = Path::new("/tmp/a b/ç.kumo");
        let u = path_to_uri(p);
        assert_eq!(u, "file:///tmp/a%20b/%C3%A7.kumo");
        assert_eq!(uri_to_path(&u).as_deref(), Some(p));
        assert_eq!(uri_to_path("untitled:1"), None);
    }
}
