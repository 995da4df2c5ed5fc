//! Typed values in KumoMTA's own spelling: durations in a form every release parses,
//! rates in ThrottleSpec form, enums in KumoMTA's case, secrets as the path where the
//! Secret's key is mounted (the policy never holds secret material).

use kumoc_lang::units::{self, format_duration};

use super::lua;
use super::toml::Value as T;
use crate::names;
use crate::value::{Action, MatchRule, Trigger, Typed};

pub fn toml(v: &Typed) -> T {
    // String-like values: `Typed::text` says which.
    if let Some(s) = v.text() {
        return T::Str(s.to_string());
    }
    match v {
        Typed::Bool(b) => T::Bool(*b),
        Typed::Int(n) => T::Int(*n),
        Typed::Duration(ms) => T::Str(format_duration(*ms)),
        Typed::Rate(r) => T::Str(r.to_kumo()),
        Typed::Limit(l) if l.local => T::Str(l.to_kumo_string()),
        Typed::Limit(l) => T::Int(i64::try_from(l.limit).unwrap_or(i64::MAX)),
        Typed::Size(n) | Typed::Cpu(n) => T::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        Typed::Percent(p) => T::Int(i64::from(*p)),
        Typed::Ip(ip) => T::Str(ip.to_string()),
        Typed::Cidr(c) => T::Str(c.to_string()),
        Typed::Enum(v) => T::Str(v.kumo.to_string()),
        Typed::Ref(_, name) => T::Str(name.as_str().to_owned()),
        Typed::Secret(s) => T::Str(names::secret_path(
            &s.name,
            s.key.as_ref().map_or("", |(k, _)| k.as_str()),
        )),
        Typed::Version(v) => T::Str(v.to_string()),
        Typed::Action(a) => action(a),
        Typed::Trigger(t) => match **t {
            Trigger::Immediate => T::Str("Immediate".into()),
            Trigger::Threshold(r) => T::Inline(vec![("Threshold".into(), T::Str(r.to_kumo()))]),
        },
        Typed::Match(m) => {
            let (k, s) = match m {
                MatchRule::MxSuffix(s) => ("MXSuffix", s),
                MatchRule::DomainSuffix(s) => ("DomainSuffix", s),
                MatchRule::HostName(s) => ("HostName", s),
            };
            T::Inline(vec![(k.into(), T::Str(s.clone()))])
        }
        Typed::List(items) => T::Array(items.iter().map(|i| toml(&i.value)).collect()),
        Typed::Str(_)
        | Typed::HostPort(_)
        | Typed::Domain(_)
        | Typed::Url(_)
        | Typed::K8sName(_)
        | Typed::HttpPath(_)
        | Typed::Regex(_) => T::Str(v.text().unwrap_or_default().to_string()),
    }
}

/// [`toml`] written straight into `out` (the same text as `write_value(&toml(v))`), without
/// building the value first for the common shapes. Returns what JSON adds to what it wrote
/// (see `toml::write_value`).
pub fn write_toml(out: &mut String, v: &Typed) -> usize {
    if let Some(s) = v.text() {
        return super::toml::push_quoted(out, s);
    }
    match v {
        Typed::Bool(b) => {
            out.push_str(if *b { "true" } else { "false" });
            0
        }
        Typed::Int(n) => {
            super::toml::push_int(out, *n);
            0
        }
        // Durations, rates and IPv4 addresses need no escape (ASCII letters, digits and
        // `:/,=.`): written between quotes as they are formatted, without a `String` each;
        // JSON adds only their quotes.
        Typed::Duration(ms) => {
            out.push('"');
            units::write_duration(out, *ms);
            out.push('"');
            2
        }
        Typed::Rate(r) => {
            out.push('"');
            r.write_kumo(out);
            out.push('"');
            2
        }
        Typed::Ip(std::net::IpAddr::V4(ip)) => {
            out.push('"');
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                units::push_decimal(out, u64::from(octet));
            }
            out.push('"');
            2
        }
        Typed::Enum(e) => super::toml::push_quoted(out, e.kumo),
        Typed::Ref(_, name) => super::toml::push_quoted(out, name),
        Typed::List(items) => {
            let mut extra = 0;
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                extra += write_toml(out, &item.value);
            }
            out.push(']');
            extra
        }
        other => super::toml::write_value(out, &toml(other)),
    }
}

fn action(a: &Action) -> T {
    match a {
        Action::Simple(v) => T::Str(v.kumo.to_string()),
        Action::SetConfig {
            variant,
            field,
            value,
        } => T::Inline(vec![(
            variant.kumo.to_string(),
            T::Inline(vec![
                ("name".into(), T::Str(field.name.to_string())),
                ("value".into(), toml(&value.value)),
            ]),
        )]),
    }
}

pub fn lua(v: &Typed) -> lua::Value {
    use lua::Value as L;
    match toml(v) {
        T::Str(s) => L::Str(s),
        T::Int(n) => L::Int(n),
        T::Bool(b) => L::Bool(b),
        other => L::Raw(toml_to_lua(&other)),
    }
}

fn toml_to_lua(v: &T) -> String {
    match v {
        T::Str(s) => lua::string(s),
        T::Int(n) => n.to_string(),
        T::Bool(b) => b.to_string(),
        T::Array(items) => {
            let parts: Vec<String> = items.iter().map(toml_to_lua).collect();
            format!("{{ {} }}", parts.join(", "))
        }
        T::Inline(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("[{}] = {}", lua::string(k), toml_to_lua(v)))
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
    }
}

/// A duration for Lua/TOML parameters the emitter sets itself.
pub fn duration(ms: u64) -> String {
    format_duration(ms)
}

/// `local:N` where the release reads it ([`units::Feature::LocalConnectionLimit`]); older
/// releases get a plain number.
pub fn local_limit(n: u64, version: &units::KumoVersion) -> T {
    if version.supports(units::Feature::LocalConnectionLimit) {
        T::Str(format!("local:{n}"))
    } else {
        T::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct writer gives the text of the value built first and written.
    #[test]
    fn write_toml_is_the_written_value() {
        let rate = |local, limit, period_secs, max_burst| {
            Typed::Rate(Box::new(units::Rate {
                local,
                limit,
                period_secs,
                max_burst,
            }))
        };
        let values = [
            Typed::Duration(0),
            Typed::Duration(1500),
            Typed::Duration(172_800_000),
            Typed::Duration(u64::MAX),
            rate(false, 24, 1, None),
            rate(true, 10, 3600, Some(5)),
            rate(false, 100, 7380, None),
            Typed::Ip("10.0.4.26".parse().unwrap()),
            Typed::Ip("0.0.0.0".parse().unwrap()),
            Typed::Ip("255.255.255.255".parse().unwrap()),
            Typed::Ip("::1".parse().unwrap()),
            Typed::Ip("2001:db8::8a2e:370:7334".parse().unwrap()),
            Typed::Int(-42),
            Typed::Bool(true),
        ];
        // Every octet value in every position (the octets are written a digit at a time).
        let octets = (0..=255u8).map(|o| {
            Typed::Ip(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
                o,
                255 - o,
                o / 3,
                o.wrapping_mul(7),
            )))
        });
        for v in values.into_iter().chain(octets) {
            let mut fast = String::new();
            let extra = write_toml(&mut fast, &v);
            let mut slow = String::new();
            let slow_extra = super::super::toml::write_value(&mut slow, &toml(&v));
            assert_eq!(fast, slow, "{v:?}");
            // What JSON adds, as the writers count it.
            let json = super::super::shard::json_len(&fast) - fast.len();
            assert_eq!((extra, slow_extra), (json, json), "{v:?}");
        }
    }
}
