//! How KumoMTA names and matches a destination: MX hosts in its order, the site name they
//! make, a `kumo.domain_map` lookup, whether a shaping block rolls up by site, and whether a
//! provider's rules match.

use std::collections::BTreeMap;

use crate::model::{Provider, Settings};
use crate::value::MatchRule;

/// KumoMTA's site name for MX hosts in preference order: `factor_names` in
/// `crates/dns-resolver/src/lib.rs` (labels reversed, the distinct labels of each position
/// in order of first appearance, `(a|b)` for several, `?` where a host is shorter). A NULL
/// MX (`.`, or no host) has the empty site name.
pub fn site_name(hosts: &[String]) -> String {
    let names: Vec<Vec<String>> = hosts
        .iter()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .map(|h| h.split('.').rev().map(str::to_string).collect())
        .collect();
    let longest = names.iter().map(Vec::len).max().unwrap_or(0);
    fn add(elements: &mut Vec<Vec<String>>, i: usize, field: &str) {
        match elements.get_mut(i) {
            Some(e) if e.iter().any(|x| x == field) => {}
            Some(e) => e.push(field.to_string()),
            None => elements.push(vec![field.to_string()]),
        }
    }
    let mut elements: Vec<Vec<String>> = Vec::new();
    for fields in &names {
        for (i, f) in fields.iter().enumerate() {
            add(&mut elements, i, f);
        }
        for i in fields.len()..longest {
            add(&mut elements, i, "?");
        }
    }
    let mut out: Vec<String> = elements
        .into_iter()
        .map(|mut e| {
            let q = e.iter().any(|x| x == "?");
            e.retain(|x| x != "?");
            let mut t = if let [one] = e.as_slice() {
                one.clone()
            } else {
                format!("({})", e.join("|"))
            };
            if q {
                t.push('?');
            }
            t
        })
        .collect();
    out.reverse();
    out.join(".")
}

/// MX records (preference, host) in KumoMTA's order (`lookup_mx_record`): by preference,
/// hosts sorted within one preference, lowercased.
pub fn order_mx(records: &[(u16, String)]) -> Vec<String> {
    let mut prefs: Vec<(u16, Vec<String>)> = Vec::new();
    for (pref, host) in records {
        let host = host.to_ascii_lowercase();
        match prefs.iter_mut().find(|(p, _)| p == pref) {
            Some((_, hosts)) => hosts.push(host),
            None => prefs.push((*pref, vec![host])),
        }
    }
    prefs.sort_by_key(|(p, _)| *p);
    prefs
        .into_iter()
        .flat_map(|(_, mut hosts)| {
            hosts.sort();
            hosts
        })
        .collect()
}

/// KumoMTA's `kumo.domain_map` lookup (`crates/domain-map/src/lib.rs`, `DomainMap::get`):
/// walk the labels from the top; where no child has the label, a `*` child answers; an
/// exact path whose node holds no value answers nothing (no fallback to a wildcard above).
pub fn domain_map_get<'a, T>(entries: &'a [(String, T)], domain: &str) -> Option<&'a T> {
    // A small trie over the keys' reversed labels, built per lookup (routes are one-off).
    #[derive(Default)]
    struct Node {
        value: Option<usize>,
        children: BTreeMap<String, Node>,
    }
    let mut top = Node::default();
    for (i, (key, _)) in entries.iter().enumerate() {
        let mut cur = &mut top;
        for seg in key.rsplit('.') {
            cur = cur.children.entry(seg.to_string()).or_default();
        }
        cur.value = Some(i);
    }
    let mut cur = &top;
    let labels: Vec<&str> = domain.rsplit('.').collect();
    for (i, seg) in labels.iter().enumerate() {
        match cur.children.get(*seg) {
            Some(node) => {
                if i + 1 == labels.len() {
                    return node.value.and_then(|v| entries.get(v)).map(|(_, t)| t);
                }
                cur = node;
            }
            None => {
                let wild = cur.children.get("*")?;
                return wild.value.and_then(|v| entries.get(v)).map(|(_, t)| t);
            }
        }
    }
    None
}

/// Whether a shaping block rolls up by MX: `mx_rollup` as set, else its default.
pub(super) fn mx_rollup(s: &Settings) -> bool {
    s.value_or_default(&crate::schema::SHAPING, "mx_rollup")
        .and_then(|v| v.as_bool())
        != Some(false)
}

/// Whether a provider matches (`ProviderEntry::domain_matches`): any `domain_suffix` is a
/// plain, case-sensitive `ends_with` on the domain (a trailing dot stripped); otherwise, when
/// there are `mx_suffix` / `host_name` rules, every MX host must match one of them.
pub(super) fn provider_matches(p: &Provider, domain: &str, mx: &[String]) -> Option<String> {
    let domain = domain.trim_end_matches('.');
    for m in &p.matches {
        if let MatchRule::DomainSuffix(s) = &m.value {
            if domain.ends_with(s.as_str()) {
                return Some(format!("domain_suffix({s:?})"));
            }
        }
    }
    let mx_rules: Vec<&MatchRule> = p
        .matches
        .iter()
        .map(|m| &m.value)
        .filter(|m| !matches!(m, MatchRule::DomainSuffix(_)))
        .collect();
    if mx_rules.is_empty() || mx.is_empty() {
        return None;
    }
    let mut used: Vec<String> = Vec::new();
    for host in mx {
        let host = host.trim_end_matches('.');
        let hit = mx_rules.iter().find(|r| match r {
            MatchRule::MxSuffix(s) => host.ends_with(s.as_str()),
            MatchRule::HostName(h) => host == h.trim_end_matches('.'),
            MatchRule::DomainSuffix(_) => false,
        })?;
        let how = match hit {
            MatchRule::MxSuffix(s) => format!("mx_suffix({s:?})"),
            MatchRule::HostName(h) => format!("host_name({h:?})"),
            MatchRule::DomainSuffix(s) => format!("domain_suffix({s:?})"),
        };
        if !used.contains(&how) {
            used.push(how);
        }
    }
    Some(format!("every MX host matches {}", used.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    /// KumoMTA's own tests of `factor_names` (`crates/dns-resolver/src/lib.rs`).
    #[test]
    fn site_names_match_kumomta() {
        assert_eq!(
            site_name(&s(&[
                "mta5.am0.yahoodns.net",
                "mta6.am0.yahoodns.net",
                "mta7.am0.yahoodns.net"
            ])),
            "(mta5|mta6|mta7).am0.yahoodns.net"
        );
        assert_eq!(
            site_name(&s(&[
                "mta5.AM0.yahoodns.net",
                "mta6.am0.yAHOodns.net",
                "mta7.am0.yahoodns.net"
            ])),
            "(mta5|mta6|mta7).am0.yahoodns.net"
        );
        assert_eq!(
            site_name(&s(&[
                "gmail-smtp-in.l.google.com",
                "alt1.gmail-smtp-in.l.google.com",
                "alt2.gmail-smtp-in.l.google.com",
                "alt3.gmail-smtp-in.l.google.com",
                "alt4.gmail-smtp-in.l.google.com",
            ])),
            "(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com"
        );
        assert_eq!(
            site_name(&s(&[
                "example-com.mail.protection.outlook.com.",
                "mx-biz.mail.am0.yahoodns.net.",
                "mx-biz.mail.am0.yahoodns.net.",
            ])),
            "(example-com|mx-biz).mail.(protection|am0).(outlook|yahoodns).(com|net)"
        );
        assert_eq!(
            site_name(&s(&[
                "mx-biz.mail.am0.yahoodns.net.",
                "mx-biz.mail.am0.yahoodns.net.",
                "example-com.mail.protection.outlook.com.",
            ])),
            "(mx-biz|example-com).mail.(am0|protection).(yahoodns|outlook).(net|com)"
        );
    }

    #[test]
    fn mx_order_is_by_preference_then_name() {
        let recs = vec![
            (20, "B.example.net.".to_string()),
            (10, "z.example.net.".to_string()),
            (20, "a.example.net.".to_string()),
        ];
        assert_eq!(
            order_mx(&recs),
            s(&["z.example.net.", "a.example.net.", "b.example.net."])
        );
    }

    /// KumoMTA's own test of `DomainMap::get` (`crates/domain-map/src/lib.rs`).
    #[test]
    fn domain_map_matches_kumomta() {
        let map = vec![
            ("*.example.com".to_string(), 42),
            ("example.com".to_string(), 24),
            ("omg.wtf.woot.example.com".to_string(), 128),
        ];
        assert_eq!(domain_map_get(&map, "foo.com"), None);
        assert_eq!(domain_map_get(&map, "example.com"), Some(&24));
        assert_eq!(domain_map_get(&map, "lemon.example.com"), Some(&42));
        assert_eq!(domain_map_get(&map, "lemon.cake.example.com"), Some(&42));
        assert_eq!(domain_map_get(&map, "woot.example.com"), None);
        assert_eq!(domain_map_get(&map, "wtf.woot.example.com"), None);
        assert_eq!(domain_map_get(&map, "omg.wtf.woot.example.com"), Some(&128));
    }
}
