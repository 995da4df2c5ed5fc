//! A recorded DNS snapshot: zone-file lines, as `dig +noall +question +answer NAME TYPE`
//! prints them (or as `kumoc dns` prints its zone fragment).
//!
//! ```text
//! ;example.com.                   IN      TXT
//! example.com.            300     IN      TXT     "v=spf1 ip4:203.0.113.10 ~all"
//! s1._domainkey.example.com. 300 IN TXT ( "v=DKIM1; k=rsa; p=MIIB..." "...IDAQAB" )
//! ```
//!
//! A record is `name [ttl] [class] type data`; `;` starts a comment; parentheses continue a
//! record over lines; TXT data is one or more quoted strings, concatenated (RFC 6376
//! §3.6.2.2, as KumoMTA's verifier does in `crates/dkim/src/dns.rs`). A comment that is a
//! question (`;name. IN TXT`, as dig prints with `+question`) records that the name was
//! looked up: when a snapshot has questions, a name and type it never asked is *not
//! known* (nothing is concluded), while one asked without an answer has no record. A
//! snapshot without questions (a zone file) is taken as complete.

use std::collections::{BTreeMap, BTreeSet};

/// One parse problem, with its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotError {
    pub line: usize,
    pub message: String,
}

/// Record types kumoc reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Type {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "CNAME")]
    Cname,
    #[serde(rename = "MX")]
    Mx,
    #[serde(rename = "PTR")]
    Ptr,
    #[serde(rename = "TXT")]
    Txt,
}

impl Type {
    pub fn parse(s: &str) -> Option<Type> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => Type::A,
            "AAAA" => Type::Aaaa,
            "CNAME" => Type::Cname,
            "MX" => Type::Mx,
            "PTR" => Type::Ptr,
            "TXT" => Type::Txt,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Type::A => "A",
            Type::Aaaa => "AAAA",
            Type::Cname => "CNAME",
            Type::Mx => "MX",
            Type::Ptr => "PTR",
            Type::Txt => "TXT",
        }
    }
}

/// What the snapshot says about a name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Looked up: these records (possibly none). TXT data is the concatenated strings; MX is
    /// `(preference, host)` text `"10 mx.example.net"`; names are lowercase, without the
    /// trailing dot.
    Records(Vec<String>),
    /// The snapshot never asked.
    NotQueried,
}

#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    records: BTreeMap<(String, Type), Vec<String>>,
    questions: BTreeSet<(String, Type)>,
    /// Names that have a record of any type (a CNAME answers every type).
    pub names: BTreeSet<String>,
}

/// A DNS name as compared: lowercase, without the trailing dot.
pub fn norm(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

impl Snapshot {
    pub fn parse(text: &str) -> Result<Snapshot, Vec<SnapshotError>> {
        let mut snap = Snapshot::default();
        let mut errors = Vec::new();
        let mut tokens: Vec<Token> = Vec::new();
        let mut depth = 0usize;
        let mut start_line = 1;
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if depth == 0 {
                start_line = n;
                if let Some(q) = line.trim_start().strip_prefix(';') {
                    if let Some(key) = question(q) {
                        snap.questions.insert(key);
                    }
                    continue;
                }
            }
            match tokenize(line, &mut tokens, &mut depth) {
                Ok(()) => {}
                Err(m) => {
                    errors.push(SnapshotError {
                        line: n,
                        message: m,
                    });
                    tokens.clear();
                    depth = 0;
                    continue;
                }
            }
            if depth == 0 && !tokens.is_empty() {
                if let Err(m) = snap.record(&tokens) {
                    errors.push(SnapshotError {
                        line: start_line,
                        message: m,
                    });
                }
                tokens.clear();
            }
        }
        if depth > 0 {
            errors.push(SnapshotError {
                line: start_line,
                message: "unclosed `(`".into(),
            });
        }
        if errors.is_empty() {
            Ok(snap)
        } else {
            Err(errors)
        }
    }

    fn record(&mut self, tokens: &[Token]) -> Result<(), String> {
        let mut it = tokens.iter();
        let name = match it.next() {
            Some(Token::Word(w)) => norm(w),
            _ => return Err("a record starts with its name".into()),
        };
        let mut ty = None;
        for t in it.by_ref() {
            let Token::Word(w) = t else {
                return Err("a quoted string before the record type".into());
            };
            if w.chars().all(|c| c.is_ascii_digit()) || w.eq_ignore_ascii_case("IN") {
                continue;
            }
            ty = Some(w.as_str());
            break;
        }
        let Some(ty) = ty else {
            return Err(format!("no record type after {name}"));
        };
        let Some(ty) = Type::parse(ty) else {
            // Other types (SOA, NS, TLSA, ...) are kept out: nothing kumoc checks.
            self.names.insert(name);
            return Ok(());
        };
        let rest: Vec<&Token> = it.collect();
        let data = match ty {
            Type::Txt => {
                let mut s = String::new();
                for t in &rest {
                    match t {
                        Token::Quoted(q) => s.push_str(q),
                        Token::Word(w) => s.push_str(w),
                    }
                }
                s
            }
            Type::Mx => match rest.as_slice() {
                [Token::Word(p), Token::Word(h)] if p.parse::<u16>().is_ok() => {
                    format!("{p} {}", norm(h))
                }
                _ => return Err(format!("MX data of {name} is `PREFERENCE HOST`")),
            },
            Type::A | Type::Aaaa | Type::Cname | Type::Ptr => match rest.as_slice() {
                [Token::Word(w)] => {
                    if matches!(ty, Type::A) && w.parse::<std::net::Ipv4Addr>().is_err() {
                        return Err(format!("A data of {name} is not an IPv4 address: {w}"));
                    }
                    if matches!(ty, Type::Aaaa) && w.parse::<std::net::Ipv6Addr>().is_err() {
                        return Err(format!("AAAA data of {name} is not an IPv6 address: {w}"));
                    }
                    norm(w)
                }
                _ => return Err(format!("{} data of {name} is one word", ty.as_str())),
            },
        };
        self.names.insert(name.clone());
        let v = self.records.entry((name, ty)).or_default();
        if !v.contains(&data) {
            v.push(data);
        }
        Ok(())
    }

    /// Every record, for tests and `--format json`.
    pub fn records(&self) -> impl Iterator<Item = (&str, Type, &str)> {
        self.records
            .iter()
            .flat_map(|((n, t), v)| v.iter().map(move |d| (n.as_str(), *t, d.as_str())))
    }

    /// The records of `name` and `ty`, following CNAMEs (at most 8).
    pub fn lookup(&self, name: &str, ty: Type) -> Answer {
        let mut name = norm(name);
        for _ in 0..8 {
            if let Some(v) = self.records.get(&(name.clone(), ty)) {
                return Answer::Records(v.clone());
            }
            match self.records.get(&(name.clone(), Type::Cname)) {
                Some(targets) if ty != Type::Cname => match targets.first() {
                    Some(t) => name = t.clone(),
                    None => break,
                },
                _ => break,
            }
        }
        if self.questions.is_empty() || self.questions.contains(&(name.clone(), ty)) {
            Answer::Records(Vec::new())
        } else {
            Answer::NotQueried
        }
    }

    /// MX hosts in KumoMTA's order, or the implicit MX (the name itself) when the name has
    /// no MX record; `None` when the snapshot never asked. A NULL MX gives `[""]`.
    pub fn mx_hosts(&self, domain: &str) -> Option<Vec<String>> {
        match self.lookup(domain, Type::Mx) {
            Answer::NotQueried => None,
            Answer::Records(v) if v.is_empty() => Some(vec![norm(domain)]),
            Answer::Records(v) => {
                let recs: Vec<(u16, String)> = v
                    .iter()
                    .filter_map(|r| {
                        let (p, h) = r.split_once(' ')?;
                        Some((p.parse().ok()?, h.to_string()))
                    })
                    .collect();
                Some(crate::route::order_mx(&recs))
            }
        }
    }

    /// Every domain with an MX answer, with its hosts (for `kumoc route --snapshot`).
    pub fn all_mx(&self) -> BTreeMap<String, Vec<String>> {
        let mut names: BTreeSet<String> = self
            .records
            .keys()
            .filter(|(_, t)| *t == Type::Mx)
            .map(|(n, _)| n.clone())
            .collect();
        names.extend(
            self.questions
                .iter()
                .filter(|(_, t)| *t == Type::Mx)
                .map(|(n, _)| n.clone()),
        );
        names
            .into_iter()
            .filter_map(|n| self.mx_hosts(&n).map(|h| (n, h)))
            .collect()
    }
}

/// `;example.com. IN TXT` (dig's question section: an absolute name, the class, the type)
/// → the name and type. Any other comment is a comment.
fn question(comment: &str) -> Option<(String, Type)> {
    let words: Vec<&str> = comment.split_whitespace().collect();
    match words.as_slice() {
        [name, class, ty]
            if class.eq_ignore_ascii_case("IN")
                && name.ends_with('.')
                && !comment.starts_with(' ') =>
        {
            Some((norm(name), Type::parse(ty)?))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
}

/// Split one line into tokens (words and quoted strings with `\"`, `\\` and `\DDD`
/// escapes), tracking parentheses; a `;` outside quotes ends the line.
fn tokenize(line: &str, out: &mut Vec<Token>, depth: &mut usize) -> Result<(), String> {
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ';' => break,
            '(' => *depth += 1,
            ')' => {
                if *depth == 0 {
                    return Err("`)` without `(`".into());
                }
                *depth -= 1;
            }
            '"' => {
                let mut bytes: Vec<u8> = Vec::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            let mut digits = String::new();
                            while digits.len() < 3 && chars.peek().is_some_and(char::is_ascii_digit)
                            {
                                digits.extend(chars.next());
                            }
                            if digits.is_empty() {
                                match chars.next() {
                                    Some(e) => {
                                        let mut b = [0u8; 4];
                                        bytes.extend_from_slice(e.encode_utf8(&mut b).as_bytes());
                                    }
                                    None => return Err("a `\\` at the end of the line".into()),
                                }
                            } else {
                                let v: u32 = digits.parse().unwrap_or(256);
                                let b = u8::try_from(v)
                                    .map_err(|_| format!("`\\{digits}` is not a byte"))?;
                                bytes.push(b);
                            }
                        }
                        other => {
                            let mut b = [0u8; 4];
                            bytes.extend_from_slice(other.encode_utf8(&mut b).as_bytes());
                        }
                    }
                }
                if !closed {
                    return Err("unclosed `\"`".into());
                }
                out.push(Token::Quoted(String::from_utf8_lossy(&bytes).into_owned()));
            }
            c if c.is_whitespace() => {}
            c => {
                let mut w = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || matches!(n, '(' | ')' | ';' | '"') {
                        break;
                    }
                    w.push(n);
                    chars.next();
                }
                out.push(Token::Word(w));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dig_output_and_zone_fragments() {
        let snap = Snapshot::parse(
            ";example.com.\t\t\tIN\tTXT\n\
             example.com.\t300\tIN\tTXT\t\"v=spf1 ip4:203.0.113.10 \" \"~all\"\n\
             ;gmail.com. IN MX\n\
             gmail.com. 300 IN MX 10 ALT1.gmail-smtp-in.l.google.com.\n\
             gmail.com. 300 IN MX 5 gmail-smtp-in.l.google.com.\n\
             s1._domainkey.example.com. 3600 IN TXT ( \"v=DKIM1; k=rsa; \"\n  \"p=AB\\\"C\" ) ; the key\n\
             _dmarc.example.com. CNAME dmarc.example.net.\n\
             dmarc.example.net. IN TXT \"v=DMARC1; p=none\"\n",
        )
        .unwrap();
        assert_eq!(
            snap.lookup("Example.com.", Type::Txt),
            Answer::Records(vec!["v=spf1 ip4:203.0.113.10 ~all".into()])
        );
        assert_eq!(
            snap.mx_hosts("gmail.com"),
            Some(vec![
                "gmail-smtp-in.l.google.com".to_string(),
                "alt1.gmail-smtp-in.l.google.com".to_string()
            ])
        );
        assert_eq!(
            snap.lookup("s1._domainkey.example.com", Type::Txt),
            Answer::Records(vec!["v=DKIM1; k=rsa; p=AB\"C".into()])
        );
        assert_eq!(
            snap.lookup("_dmarc.example.com", Type::Txt),
            Answer::Records(vec!["v=DMARC1; p=none".into()])
        );
        // A comment is not a question.
        let zone = Snapshot::parse("; the TXT\n; a. IN TXT\nb. IN TXT \"x\"\n").unwrap();
        assert_eq!(zone.lookup("a", Type::Txt), Answer::Records(vec![]));
        // Questions were recorded: an unasked name is not known.
        assert_eq!(snap.lookup("yahoo.com", Type::Mx), Answer::NotQueried);
        assert_eq!(snap.mx_hosts("yahoo.com"), None);
    }

    #[test]
    fn reports_bad_lines() {
        let err =
            Snapshot::parse("a. IN MX ten b.\nb. IN A 300.1.1.1\nc. IN TXT \"x\n(").unwrap_err();
        let lines: Vec<usize> = err.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4]);
    }
}
