//! Accessors the rules share: typed reads of `Settings` with the location of each value.

use kumoc_lang::units::{Cidr, Limit, Rate};

use crate::check::Typed;
use crate::diagnostic::Loc;
use crate::model::{Settings, Spanned};

fn get<'s>(s: &'s Settings, name: &str) -> Option<(&'s Typed, Loc)> {
    s.get(name).map(|x| (&x.value, x.loc))
}

pub fn cidrs(s: &Settings, name: &str) -> Vec<Spanned<Cidr>> {
    match get(s, name) {
        Some((Typed::List(items), _)) => items
            .iter()
            .filter_map(|i| match i.value {
                Typed::Cidr(c) => Some(Spanned {
                    value: c,
                    loc: i.loc,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Milliseconds.
pub fn duration(s: &Settings, name: &str) -> Option<Spanned<u64>> {
    match get(s, name)? {
        (Typed::Duration(ms), loc) => Some(Spanned { value: *ms, loc }),
        _ => None,
    }
}

pub fn rate(s: &Settings, name: &str) -> Option<Spanned<Rate>> {
    match get(s, name)? {
        (Typed::Rate(r), loc) => Some(Spanned { value: *r, loc }),
        _ => None,
    }
}

pub fn limit(s: &Settings, name: &str) -> Option<Spanned<Limit>> {
    match get(s, name)? {
        (Typed::Limit(l), loc) => Some(Spanned { value: *l, loc }),
        _ => None,
    }
}

pub fn int(s: &Settings, name: &str) -> Option<Spanned<i64>> {
    match get(s, name)? {
        (Typed::Int(n), loc) => Some(Spanned { value: *n, loc }),
        _ => None,
    }
}

pub fn boolean(s: &Settings, name: &str) -> Option<Spanned<bool>> {
    match get(s, name)? {
        (Typed::Bool(b), loc) => Some(Spanned { value: *b, loc }),
        _ => None,
    }
}

/// An enum field's `.kumo` spelling (`required`, `opportunistic_insecure`, ...).
pub fn variant(s: &Settings, name: &str) -> Option<Spanned<&'static str>> {
    match get(s, name)? {
        (Typed::Enum(v), loc) => Some(Spanned { value: v.name, loc }),
        _ => None,
    }
}

pub fn string(s: &Settings, name: &str) -> Option<Spanned<String>> {
    match get(s, name)? {
        (Typed::Str(x) | Typed::Domain(x) | Typed::Url(x) | Typed::HostPort(x), loc) => {
            Some(Spanned {
                value: x.clone(),
                loc,
            })
        }
        _ => None,
    }
}

/// The strings of a list-of-strings field.
pub fn strings(s: &Settings, name: &str) -> Vec<Spanned<String>> {
    match get(s, name) {
        Some((Typed::List(items), _)) => items
            .iter()
            .filter_map(|i| match &i.value {
                Typed::Str(x) => Some(Spanned {
                    value: x.clone(),
                    loc: i.loc,
                }),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a CIDR opens a service to the internet at large: `0.0.0.0/0`, `::/0`, or a
/// large block (IPv4 /16 or wider, IPv6 /32 or wider) outside the private ranges
/// (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
pub fn is_public_wide(c: &Cidr) -> bool {
    use std::net::IpAddr;
    if c.prefix == 0 {
        return true;
    }
    let private = [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "fc00::/7",
    ]
    .iter()
    .filter_map(|p| kumoc_lang::units::parse_cidr(p).ok())
    .any(|p| p.prefix <= c.prefix && p.contains(c.addr));
    if private {
        return false;
    }
    match c.addr {
        IpAddr::V4(_) => c.prefix <= 16,
        IpAddr::V6(_) => c.prefix <= 32,
    }
}
