//! Every relative link in the repository's markdown resolves: a link to a file or directory
//! names one that exists inside the repository, and a `#anchor` names a heading (or an
//! `id`/`name` attribute) of the page it points into, spelled as GitHub spells heading
//! anchors. External links (`https:`, `mailto:`, ...) are not followed: the tests never use
//! the network.
//!
//! Markdown is read the way GitHub reads it, as far as links go: fenced code blocks and code
//! spans hold no links; inline links and images `[text](dest "title")`, reference
//! definitions `[label]: dest`, and `href`/`src` attributes of inline HTML are links.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use crate::support::root;

/// Directories that hold no documentation of the repository: build output, installed
/// packages, scratch output (all gitignored).
const SKIPPED_DIRS: &[&str] = &["target", "node_modules", ".git", ".tools"];

/// One dangling link: the page, the 1-based line, the link as written, and why.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Dangling {
    page: String,
    line: usize,
    link: String,
    why: String,
}

#[test]
fn every_relative_link_in_the_markdown_resolves() {
    let dangling = check_tree(&root());
    let list: Vec<String> = dangling
        .iter()
        .map(|d| format!("{}:{}: {} ({})", d.page, d.line, d.link, d.why))
        .collect();
    assert!(
        list.is_empty(),
        "dangling links in the markdown:\n{}",
        list.join("\n")
    );
}

/// The check finds what it must, and only that, on a made-up repository.
#[test]
fn the_link_check_finds_dangling_links() {
    let dir = std::env::temp_dir().join(format!("kumoc-links-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("docs/sub")).unwrap();
    std::fs::create_dir_all(dir.join("target")).unwrap();
    std::fs::write(dir.join("code.rs"), "").unwrap();
    std::fs::write(
        dir.join("README.md"),
        "# Title\n\n## The `code` map: A, b & c!\n\n## Twice\n\n## Twice\n\n\
         [ok](docs/guide.md) [ok](docs/) [ok](./code.rs) [ok](<docs/guide.md>)\n\
         [ok](docs/guide.md#setup) [ok](#title) [ok](#the-code-map-a-b--c) [ok](#twice-1)\n\
         [ok](https://example.com/missing) [ok](mailto:a@example.com) ![ok](code.rs \"t\")\n\
         [ok](/docs/sub) [ok](docs/guide.md#anchor-by-id) [ok](docs/guide.md#named)\n\
         `[not a link](missing.md)` and [ok][ref]\n\
         ```\n[not a link](missing.md)\n```\n\
         [ref]: docs/guide.md\n\
         [bad](missing.md) [bad](docs/guide.md#nowhere) [bad](#twice-2)\n\
         [bad](../outside.md) ![bad](img.png) [bad](docs/missing/)\n\
         [bad][bad-ref] <a href=\"gone.md\">bad</a>\n\
         [bad-ref]: gone/\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("docs/guide.md"),
        "Setup\n=====\n\n<a id=\"anchor-by-id\"></a> <a name=\"named\"></a>\n\n\
         [ok](../README.md#title) [ok](sub) [bad](../README.md#setup) [bad](sub/x.md)\n",
    )
    .unwrap();
    // Build output is not documentation: its links are not checked.
    std::fs::write(dir.join("target/x.md"), "[skipped](missing.md)\n").unwrap();
    let found: Vec<(String, usize, String)> = check_tree(&dir)
        .into_iter()
        .map(|d| (d.page, d.line, d.link))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    let want: Vec<(String, usize, String)> = [
        ("README.md", 18, "#twice-2"),
        ("README.md", 18, "docs/guide.md#nowhere"),
        ("README.md", 18, "missing.md"),
        ("README.md", 19, "../outside.md"),
        ("README.md", 19, "docs/missing/"),
        ("README.md", 19, "img.png"),
        ("README.md", 20, "gone.md"),
        ("README.md", 21, "gone/"),
        ("docs/guide.md", 6, "../README.md#setup"),
        ("docs/guide.md", 6, "sub/x.md"),
    ]
    .into_iter()
    .map(|(p, l, t)| (p.to_string(), l, t.to_string()))
    .collect();
    assert_eq!(found, want);
}

#[test]
fn github_heading_anchors() {
    for (heading, anchor) in [
        ("Architecture", "architecture"),
        (
            "`lang/` (crate `kumoc-lang`): the language",
            "lang-crate-kumoc-lang-the-language",
        ),
        ("Adding a lint rule", "adding-a-lint-rule"),
        ("A [link](x.md) and *emphasis*", "a-link-and-emphasis"),
        ("Runs so far", "runs-so-far"),
        ("snake_case & 2.0", "snake_case--20"),
        ("Überblick", "überblick"),
    ] {
        assert_eq!(slug(heading), anchor, "{heading:?}");
    }
}

/// The dangling links of every markdown file under `repo`, sorted by page and line.
fn check_tree(repo: &Path) -> Vec<Dangling> {
    let mut pages = Vec::new();
    collect_markdown(repo, repo, &mut pages);
    pages.sort();
    let mut anchors: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(repo.join(page)).unwrap_or_default();
        let page_dir = page.parent().unwrap_or(Path::new(""));
        for (line, link) in links(&text) {
            if let Err(why) = resolve(repo, page, page_dir, &link, &mut anchors) {
                out.push(Dangling {
                    page: page.to_string_lossy().replace('\\', "/"),
                    line,
                    link,
                    why,
                });
            }
        }
    }
    out.sort();
    out
}

fn collect_markdown(repo: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            // `out/` at the top is scratch output of the CLI and CI.
            let scratch = dir == repo && name == "out";
            if !(scratch || SKIPPED_DIRS.contains(&name.as_str())) {
                collect_markdown(repo, &path, out);
            }
        } else if kind.is_file() && name.ends_with(".md") {
            if let Ok(rel) = path.strip_prefix(repo) {
                out.push(rel.to_path_buf());
            }
        }
    }
}

/// Whether `link`, found in `page` (relative to `repo`), resolves.
fn resolve(
    repo: &Path,
    page: &Path,
    page_dir: &Path,
    link: &str,
    anchors: &mut BTreeMap<PathBuf, BTreeSet<String>>,
) -> Result<(), String> {
    let (path, fragment) = match link.split_once('#') {
        Some((p, f)) => (p, Some(f)),
        None => (link, None),
    };
    let path = percent_decode(path.split('?').next().unwrap_or(path));
    let target = if path.is_empty() {
        page.to_path_buf()
    } else {
        let joined = match path.strip_prefix('/') {
            Some(from_root) => PathBuf::from(from_root),
            None => page_dir.join(&path),
        };
        normalize(&joined).ok_or("outside the repository")?
    };
    let full = repo.join(&target);
    if !full.exists() {
        return Err("no such file or directory".into());
    }
    if path.ends_with('/') && !full.is_dir() {
        return Err("not a directory".into());
    }
    let Some(fragment) = fragment.filter(|f| !f.is_empty()) else {
        return Ok(());
    };
    if full.extension().is_none_or(|e| e != "md") {
        // Anchors into code (GitHub's `#L10` line links) are not checked.
        return Ok(());
    }
    let known = anchors
        .entry(target)
        .or_insert_with(|| page_anchors(&std::fs::read_to_string(&full).unwrap_or_default()));
    if known.contains(&percent_decode(fragment).to_lowercase()) {
        Ok(())
    } else {
        Err("no such anchor".into())
    }
}

/// `a/./b/../c` as `a/c`; `None` when it leaves the repository.
fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The lines of `text` outside fenced code blocks, with their 1-based numbers and code
/// spans blanked out.
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<(char, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let run = marker.map_or(0, |m| trimmed.chars().take_while(|c| *c == m).count());
        match (fence, marker) {
            (None, Some(m)) if run >= 3 => fence = Some((m, run)),
            (Some((f, n)), Some(m)) if m == f && run >= n && trimmed[run..].trim().is_empty() => {
                fence = None;
            }
            (None, _) => out.push((i + 1, blank_code_spans(line))),
            _ => {}
        }
    }
    out
}

/// The line with the content of each code span replaced by spaces (`` `x` `` holds no link).
fn blank_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        // The closing run has the same length.
        let close = (i + run..chars.len()).find(|&j| {
            chars[j..].iter().take_while(|c| **c == '`').count() == run
                && (j == 0 || chars[j - 1] != '`')
        });
        match close {
            Some(j) => {
                out.extend(std::iter::repeat_n(' ', j + run - i));
                i = j + run;
            }
            None => {
                out.extend(&chars[i..i + run]);
                i += run;
            }
        }
    }
    out
}

/// Every link destination in `text`, with its line: inline links and images, reference
/// definitions, and `href`/`src` attributes; external ones (with a scheme) left out.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in prose_lines(text) {
        let mut found = Vec::new();
        // Reference definitions: `[label]: dest` at the start of a line.
        let trimmed = line.trim_start();
        if line.len() - trimmed.len() <= 3 && trimmed.starts_with('[') {
            if let Some(end) = trimmed.find("]:") {
                if !trimmed[1..end].is_empty() {
                    let dest = trimmed[end + 2..].split_whitespace().next().unwrap_or("");
                    found.push(
                        dest.trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_string(),
                    );
                }
            }
        }
        // Inline links and images: `](dest)`.
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            if let Some((dest, after)) = destination(rest) {
                found.push(dest);
                rest = after;
            }
        }
        // Inline HTML.
        for attr in ["href=\"", "src=\""] {
            let mut rest = line.as_str();
            while let Some(at) = rest.find(attr) {
                rest = &rest[at + attr.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                found.push(rest[..end].to_string());
                rest = &rest[end..];
            }
        }
        for link in found {
            if !link.is_empty() && !has_scheme(&link) {
                out.push((n, link));
            }
        }
    }
    out
}

/// The destination at the start of `s` (just after `](`), and the text after it.
fn destination(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    if let Some(inner) = s.strip_prefix('<') {
        let end = inner.find('>')?;
        return Some((inner[..end].to_string(), &inner[end + 1..]));
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return Some((s[..i].to_string(), &s[i..])),
            ')' => depth -= 1,
            c if c.is_whitespace() => return Some((s[..i].to_string(), &s[i..])),
            _ => {}
        }
    }
    Some((s.to_string(), ""))
}

/// `https:`, `mailto:`, ... (a Windows drive letter is not a scheme; none is used here).
fn has_scheme(link: &str) -> bool {
    match link.split_once(':') {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// The anchors a page defines: its headings' slugs (numbered from the second occurrence,
/// `-1`, `-2`, ...) and `id`/`name` attributes of inline HTML.
fn page_anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |heading: &str, out: &mut BTreeSet<String>| {
        let base = slug(heading);
        let n = seen.entry(base.clone()).or_insert(0);
        let anchor = if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        *n += 1;
        out.insert(anchor);
    };
    let lines = prose_lines(text);
    let raw: Vec<&str> = text.lines().collect();
    let mut prev: Option<(usize, &str)> = None;
    for (n, line) in &lines {
        let original = raw.get(n - 1).copied().unwrap_or("");
        let trimmed = original.trim_start();
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes)
            && original.len() - trimmed.len() <= 3
            && trimmed[hashes..]
                .chars()
                .next()
                .is_none_or(char::is_whitespace)
        {
            let title = trimmed[hashes..].trim().trim_end_matches('#').trim();
            add(title, &mut out);
        } else if let Some((pn, p)) = prev {
            // A setext heading: a paragraph line underlined with `=` or `-`.
            let underline = trimmed.trim_end();
            let is_underline = !underline.is_empty()
                && (underline.chars().all(|c| c == '=') || underline.chars().all(|c| c == '-'));
            if is_underline && pn + 1 == *n && !p.trim().is_empty() && !p.contains('|') {
                add(p.trim(), &mut out);
            }
        }
        for attr in ["id=\"", "name=\""] {
            let mut rest = line.as_str();
            while let Some(at) = rest.find(attr) {
                rest = &rest[at + attr.len()..];
                let end = rest.find('"').unwrap_or(rest.len());
                out.insert(rest[..end].to_lowercase());
                rest = &rest[end..];
            }
        }
        prev = Some((*n, original));
    }
    out
}

/// GitHub's anchor for a heading: the text as rendered (markup and link targets dropped),
/// lower-cased, keeping letters, digits, `-` and `_`, spaces turned into `-`.
fn slug(heading: &str) -> String {
    // `[text](dest)` renders as `text`.
    let mut rendered = String::new();
    let mut rest = heading;
    while let Some(at) = rest.find("](") {
        rendered.push_str(&rest[..at]);
        rest = &rest[at + 2..];
        match destination(rest) {
            Some((_, after)) => rest = after.strip_prefix(')').unwrap_or(after),
            None => break,
        }
    }
    rendered.push_str(rest);
    rendered
        .chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
