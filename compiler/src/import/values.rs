//! Values read from the policy (a TOML or JSON data file, or a Lua literal) and their `.kumo`
//! spelling, by the schema type of the field they go to.
//!
//! A value KumoMTA's own grammar reads is written as the `.kumo` literal of the same meaning
//! (`"24 hours"` becomes `1d`, `"100/min"` becomes `100/m`, `"OpportunisticInsecure"` becomes
//! `opportunistic_insecure`). A value it does not read is written as it was, as a string, so
//! `kumoc check` reports it with its own coded error (`"1000/3600"` is K2003): the import
//! never repairs or drops a value silently.

use kumoc_lang::units::{self, HumantimeFlavor};

use super::write::KVal;
use crate::schema::{ACTIONS, Ty, egress_field};

/// A value as data: what TOML, JSON and Lua literals have in common.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Raw>),
    /// Keys in file order.
    Table(Vec<(String, Raw)>),
}

impl Raw {
    pub fn get(&self, key: &str) -> Option<&Raw> {
        match self {
            Raw::Table(t) => t.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Raw::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_table(&self) -> Option<&[(String, Raw)]> {
        match self {
            Raw::Table(t) => Some(t),
            _ => None,
        }
    }
    pub fn is_table(&self) -> bool {
        matches!(self, Raw::Table(_))
    }
    /// What kind of value it is, for messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Raw::Str(_) => "a string",
            Raw::Int(_) => "an integer",
            Raw::Float(_) => "a number",
            Raw::Bool(_) => "a boolean",
            Raw::List(_) => "a list",
            Raw::Table(_) => "a table",
        }
    }
    /// The value as TOML-ish text, for messages.
    pub fn show(&self) -> String {
        match self {
            Raw::Str(s) => format!("{s:?}"),
            Raw::Int(n) => n.to_string(),
            Raw::Float(f) => f.to_string(),
            Raw::Bool(b) => b.to_string(),
            Raw::List(items) => {
                let parts: Vec<String> = items.iter().map(Raw::show).collect();
                format!("[{}]", parts.join(", "))
            }
            Raw::Table(t) => {
                let parts: Vec<String> = t
                    .iter()
                    .map(|(k, v)| format!("{k} = {}", v.show()))
                    .collect();
                format!("{{ {} }}", parts.join(", "))
            }
        }
    }
}

/// The `.kumo` duration literal of a number of milliseconds (`90s`, `20m`, `1d`, `500ms`).
pub fn duration_literal(ms: u64) -> KVal {
    KVal::Lit(units::format_duration(ms))
}

/// A value for a field of type `ty`, or why it cannot be written at all (a table where a
/// scalar goes). `flavor` is the humantime of the deployment's release: a duration string
/// that release does not read stays a string (so the check reports it for that release).
pub fn convert(ty: &Ty, raw: &Raw, flavor: HumantimeFlavor) -> Result<KVal, String> {
    match (ty, raw) {
        (Ty::OneOrList(inner), Raw::List(items)) => list(inner, items, flavor),
        (Ty::OneOrList(inner), one) => convert(inner, one, flavor),
        (Ty::List(inner), Raw::List(items)) => list(inner, items, flavor),
        (Ty::Action | Ty::Trigger | Ty::Match, Raw::Table(_)) => special(ty, raw, flavor),
        (_, Raw::Table(_)) => Err(format!("{} where {} goes", raw.describe(), ty.describe())),
        (Ty::Duration, Raw::Int(n)) if *n >= 0 => {
            Ok(duration_literal((*n as u64).saturating_mul(1000)))
        }
        (Ty::Duration, Raw::Float(f)) if *f >= 0.0 && f.is_finite() => {
            // Fractional seconds, to the millisecond.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let ms = (f * 1000.0).round() as u64;
            Ok(duration_literal(ms))
        }
        (Ty::Duration, Raw::Str(s)) => Ok(match units::parse_humantime(s, flavor) {
            Ok(ms) => duration_literal(ms),
            Err(_) => KVal::Str(s.clone()),
        }),
        (Ty::Rate, Raw::Str(s)) => Ok(match units::parse_rate(s) {
            Ok(r) => KVal::Lit(r.to_kumo()),
            Err(_) => KVal::Str(s.clone()),
        }),
        (Ty::Limit, Raw::Int(n)) => Ok(KVal::Lit(n.to_string())),
        (Ty::Limit, Raw::Str(s)) => Ok(match units::parse_limit(s) {
            Ok(l) => KVal::Lit(l.to_kumo_string()),
            Err(_) => KVal::Str(s.clone()),
        }),
        (Ty::Size, Raw::Int(n)) if *n >= 0 => Ok(KVal::Lit(units::format_size(*n as u64))),
        (Ty::Size, Raw::Str(s)) => Ok(match units::parse_size(s) {
            Ok(_) => KVal::Lit(s.clone()),
            Err(_) => KVal::Str(s.clone()),
        }),
        (Ty::Cpu, Raw::Int(n)) if *n >= 0 => Ok(KVal::Lit(n.to_string())),
        (Ty::Cpu, Raw::Float(f)) => Ok(match units::parse_cpu(&f.to_string()) {
            Ok(m) => KVal::Lit(units::format_cpu(m)),
            Err(_) => KVal::Str(f.to_string()),
        }),
        (Ty::Cpu, Raw::Str(s)) => Ok(match units::parse_cpu(s) {
            Ok(m) => KVal::Lit(units::format_cpu(m)),
            Err(_) => KVal::Str(s.clone()),
        }),
        (Ty::Percent, Raw::Int(n)) => Ok(KVal::Lit(format!("{n}%"))),
        (Ty::Ip, Raw::Str(s)) => Ok(match units::parse_ip(s) {
            Ok(ip) if ip.is_ipv4() => KVal::Lit(ip.to_string()),
            _ => KVal::Str(s.clone()),
        }),
        (Ty::Cidr, Raw::Str(s)) => Ok(cidr(s)),
        (Ty::Enum(variants), Raw::Str(s)) => Ok(match variants.iter().find(|v| v.kumo == s) {
            Some(v) => KVal::Lit(v.name.to_string()),
            None => KVal::Str(s.clone()),
        }),
        (Ty::Ref(_), Raw::Str(s)) => Ok(KVal::name(s)),
        (Ty::Regex, Raw::Str(s)) => Ok(KVal::Raw(s.clone())),
        (Ty::Trigger, Raw::Str(s)) if s == "Immediate" => Ok(KVal::lit("immediate")),
        (Ty::Action, Raw::Str(s)) => Ok(match ACTIONS.iter().find(|a| a.kumo == s) {
            Some(a) => KVal::Lit(a.name.to_string()),
            None => KVal::Str(s.clone()),
        }),
        (_, Raw::Str(s)) => Ok(KVal::Str(s.clone())),
        (_, Raw::Int(n)) => Ok(KVal::Lit(n.to_string())),
        (_, Raw::Float(f)) => Ok(KVal::Lit(float(*f))),
        (_, Raw::Bool(b)) => Ok(KVal::Lit(b.to_string())),
        (_, Raw::List(items)) => {
            let inner: Vec<KVal> = items
                .iter()
                .map(|i| convert(&Ty::Str, i, flavor))
                .collect::<Result<_, _>>()?;
            Ok(KVal::List(inner))
        }
    }
}

fn float(f: f64) -> String {
    let s = f.to_string();
    if s.contains('.') || s.contains('e') || !f.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

fn list(inner: &Ty, items: &[Raw], flavor: HumantimeFlavor) -> Result<KVal, String> {
    items
        .iter()
        .map(|i| convert(inner, i, flavor))
        .collect::<Result<Vec<_>, _>>()
        .map(KVal::List)
}

/// An IP or CIDR: bare when it is IPv4 (the grammar's `ipv4` token), quoted otherwise; as
/// written, so a CIDR with host bits set is reported (with its fix) by the check.
pub fn cidr(s: &str) -> KVal {
    let v4 = s.split('/').next().is_some_and(|a| {
        a.split('.').count() == 4
            && a.split('.')
                .all(|o| !o.is_empty() && o.len() <= 3 && o.bytes().all(|b| b.is_ascii_digit()))
    }) && s
        .split_once('/')
        .is_none_or(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if v4 && units::parse_cidr(s).is_ok() {
        KVal::Lit(s.to_string())
    } else {
        KVal::Str(s.to_string())
    }
}

/// Actions, triggers and match rules, whose TOML form is a one-key table:
/// `{ SetConfig = { name, value } }`, `{ Threshold = "2/h" }`, `{ MXSuffix = "..." }`.
pub fn special(ty: &Ty, raw: &Raw, flavor: HumantimeFlavor) -> Result<KVal, String> {
    let one = match raw {
        Raw::Table(t) if t.len() == 1 => &t[0],
        Raw::Table(_) => {
            return Err(format!(
                "{} with several keys where {} goes",
                raw.describe(),
                ty.describe()
            ));
        }
        _ => return convert(ty, raw, flavor),
    };
    let (key, value) = (one.0.as_str(), &one.1);
    match (ty, key) {
        (Ty::Trigger, "Threshold") => {
            let rate = convert(&Ty::Rate, value, flavor)?;
            Ok(KVal::Call("threshold".into(), vec![(None, rate)]))
        }
        (Ty::Match, "MXSuffix" | "DomainSuffix" | "HostName") => {
            let name = match key {
                "MXSuffix" => "mx_suffix",
                "DomainSuffix" => "domain_suffix",
                _ => "host_name",
            };
            let s = value
                .as_str()
                .ok_or_else(|| format!("`{key}` takes a string"))?;
            Ok(KVal::Call(name.into(), vec![(None, KVal::str(s))]))
        }
        (Ty::Action, "SetConfig" | "SetDomainConfig") => {
            let call = if key == "SetConfig" {
                "set_config"
            } else {
                "set_domain_config"
            };
            let name = value
                .get("name")
                .and_then(Raw::as_str)
                .ok_or_else(|| format!("`{key}` needs a `name`"))?;
            let v = value
                .get("value")
                .ok_or_else(|| format!("`{key}` needs a `value`"))?;
            let field_ty = egress_field(name).map_or(&Ty::Str, |f| &f.ty);
            let converted = convert(field_ty, v, flavor)?;
            let arg = if crate::import::write::is_bare(name) {
                name.to_string()
            } else {
                return Err(format!("`{name}` is not a shaping field"));
            };
            Ok(KVal::Call(call.into(), vec![(Some(arg), converted)]))
        }
        _ => Err(format!("`{key}` is not {}", ty.describe())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::schema::TLS_MODES;

    fn c(ty: &Ty, raw: Raw) -> KVal {
        convert(ty, &raw, HumantimeFlavor::V2_2).unwrap()
    }

    #[test]
    fn kumomta_spellings_become_kumo_literals() {
        assert_eq!(
            c(&Ty::Duration, Raw::Str("24 hours".into())),
            KVal::lit("1d")
        );
        assert_eq!(c(&Ty::Duration, Raw::Str("60 s".into())), KVal::lit("1m"));
        assert_eq!(c(&Ty::Duration, Raw::Int(90)), KVal::lit("90s"));
        // 2025.03.19's humantime does not read fractions: kept, for the check to report.
        assert_eq!(c(&Ty::Duration, Raw::Str("1.5h".into())), KVal::str("1.5h"));
        assert_eq!(c(&Ty::Rate, Raw::Str("100/min".into())), KVal::lit("100/m"));
        assert_eq!(
            c(&Ty::Rate, Raw::Str("1000/3600".into())),
            KVal::str("1000/3600")
        );
        assert_eq!(
            c(&Ty::Limit, Raw::Str("local:5".into())),
            KVal::lit("local:5")
        );
        assert_eq!(
            c(
                &Ty::Enum(TLS_MODES),
                Raw::Str("OpportunisticInsecure".into())
            ),
            KVal::lit("opportunistic_insecure")
        );
        assert_eq!(
            c(&Ty::Cidr, Raw::Str("0.0.0.0/0".into())),
            KVal::lit("0.0.0.0/0")
        );
        assert_eq!(c(&Ty::Cidr, Raw::Str("::/0".into())), KVal::str("::/0"));
        assert_eq!(
            c(&Ty::Cidr, Raw::Str("10.0.0.1/8".into())),
            KVal::str("10.0.0.1/8")
        );
        assert_eq!(c(&Ty::Size, Raw::Int(20 * 1024 * 1024)), KVal::lit("20Mi"));
        let action = Raw::Table(vec![(
            "SetConfig".into(),
            Raw::Table(vec![
                ("name".into(), Raw::Str("max_message_rate".into())),
                ("value".into(), Raw::Str("1/minute".into())),
            ]),
        )]);
        assert_eq!(
            special(&Ty::Action, &action, HumantimeFlavor::V2_2).unwrap(),
            KVal::Call(
                "set_config".into(),
                vec![(Some("max_message_rate".into()), KVal::lit("1/m"))]
            )
        );
        assert!(convert(&Ty::Str, &Raw::Table(vec![]), HumantimeFlavor::V2_2).is_err());
    }
}
