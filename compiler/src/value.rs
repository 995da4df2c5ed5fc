//! The value vocabulary: a checked value ([`Typed`]) and where it was written ([`Spanned`]),
//! with the one set of accessors everything reads them through.
//!
//! The checker makes these values (`check`), the resolver merges and lowers them into the
//! [`model`](crate::model), and the lints and emitters read them. None of those phases owns
//! them: this module depends only on the schema (enum variants, fields, reference kinds)
//! and on the unit grammars of `kumoc_lang`.

use std::net::IpAddr;

use kumoc_lang::ast::Name;
use kumoc_lang::units::{Cidr, KumoVersion, Limit, Rate};

use crate::schema::{Field, FieldDefault, Lit, RefKind, Ty, Variant};
use crate::source::Loc;

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub loc: Loc,
}

/// A typed value with where it was written.
pub type TypedAt = Spanned<Typed>;

/// A value checked against its field's type ([`crate::schema::Ty`]). Its text is an
/// [`Name`]: shared with the syntax tree it was written in, not copied.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Str(Name),
    Bool(bool),
    Int(i64),
    /// Milliseconds.
    Duration(u64),
    /// Boxed, like the other variants larger than a name: 40 bytes, it made every value
    /// 48 (now 32: a test holds it).
    Rate(Box<Rate>),
    Limit(Limit),
    /// Bytes.
    Size(u64),
    /// Millicores.
    Cpu(u64),
    Percent(u8),
    Ip(IpAddr),
    Cidr(Cidr),
    HostPort(Name),
    Domain(Name),
    Url(Name),
    K8sName(Name),
    HttpPath(Name),
    Enum(&'static Variant),
    Ref(RefKind, Name),
    /// Boxed: the largest variant by far, it would make every value twice as large.
    Secret(Box<SecretRef>),
    Version(Box<KumoVersion>),
    Regex(Name),
    Action(Action),
    Trigger(Box<Trigger>),
    Match(MatchRule),
    List(Vec<TypedAt>),
}

/// `secret("name")` / `secret("name", "key")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretRef {
    pub name: String,
    pub name_loc: Loc,
    pub key: Option<(String, Loc)>,
}

/// A TSA automation action.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Simple(&'static Variant),
    /// `set_config(field = value)` / `set_domain_config(...)`.
    SetConfig {
        variant: &'static Variant,
        field: &'static Field,
        value: Box<TypedAt>,
    },
}

impl Action {
    pub fn variant(&self) -> &'static Variant {
        match self {
            Action::Simple(v) | Action::SetConfig { variant: v, .. } => v,
        }
    }
}

/// When an automation rule fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Immediate,
    Threshold(Rate),
}

/// How a provider recognises its destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchRule {
    MxSuffix(String),
    DomainSuffix(String),
    HostName(String),
}

impl MatchRule {
    /// The functions a match rule is written with in `.kumo`.
    pub const FUNCTIONS: [&'static str; 3] = ["mx_suffix", "domain_suffix", "host_name"];

    /// The rule written `function(text)`; `None` for another function.
    pub fn new(function: &str, text: String) -> Option<Self> {
        match function {
            "mx_suffix" => Some(MatchRule::MxSuffix(text)),
            "domain_suffix" => Some(MatchRule::DomainSuffix(text)),
            "host_name" => Some(MatchRule::HostName(text)),
            _ => None,
        }
    }

    /// The function it is written with in `.kumo` (one of [`Self::FUNCTIONS`]).
    pub fn function(&self) -> &'static str {
        match self {
            MatchRule::MxSuffix(_) => "mx_suffix",
            MatchRule::DomainSuffix(_) => "domain_suffix",
            MatchRule::HostName(_) => "host_name",
        }
    }

    /// The suffix or host name the rule compares with.
    pub fn text(&self) -> &str {
        match self {
            MatchRule::MxSuffix(s) | MatchRule::DomainSuffix(s) | MatchRule::HostName(s) => s,
        }
    }
}

/// The accessors: each reads one shape of value, and answers `None` for every other.
impl Typed {
    /// The text of a string-like value: a string, and each string the checker gave a
    /// grammar (domain, URL, `host:port`, Kubernetes name, HTTP path, regex). The emitters
    /// write these as strings. Names (references) and enum values are not text here.
    pub fn text(&self) -> Option<&str> {
        match self {
            Typed::Str(s)
            | Typed::HostPort(s)
            | Typed::Domain(s)
            | Typed::Url(s)
            | Typed::K8sName(s)
            | Typed::HttpPath(s)
            | Typed::Regex(s) => Some(s),
            Typed::Bool(_)
            | Typed::Int(_)
            | Typed::Duration(_)
            | Typed::Rate(_)
            | Typed::Limit(_)
            | Typed::Size(_)
            | Typed::Cpu(_)
            | Typed::Percent(_)
            | Typed::Ip(_)
            | Typed::Cidr(_)
            | Typed::Enum(_)
            | Typed::Ref(..)
            | Typed::Secret(_)
            | Typed::Version(_)
            | Typed::Action(_)
            | Typed::Trigger(_)
            | Typed::Match(_)
            | Typed::List(_) => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Typed::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Typed::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// Milliseconds.
    pub fn as_duration_ms(&self) -> Option<u64> {
        match self {
            Typed::Duration(ms) => Some(*ms),
            _ => None,
        }
    }

    pub fn as_rate(&self) -> Option<Rate> {
        match self {
            Typed::Rate(r) => Some(**r),
            _ => None,
        }
    }

    pub fn as_limit(&self) -> Option<Limit> {
        match self {
            Typed::Limit(l) => Some(*l),
            _ => None,
        }
    }

    /// Bytes.
    pub fn as_size(&self) -> Option<u64> {
        match self {
            Typed::Size(n) => Some(*n),
            _ => None,
        }
    }

    /// A Kubernetes resource quantity: millicores of CPU or bytes of memory.
    pub fn as_quantity(&self) -> Option<u64> {
        match self {
            Typed::Cpu(n) | Typed::Size(n) => Some(*n),
            _ => None,
        }
    }

    pub fn as_percent(&self) -> Option<u8> {
        match self {
            Typed::Percent(p) => Some(*p),
            _ => None,
        }
    }

    pub fn as_ip(&self) -> Option<IpAddr> {
        match self {
            Typed::Ip(ip) => Some(*ip),
            _ => None,
        }
    }

    /// The name a reference names (a pool, tenant, ...).
    pub fn as_ref_name(&self) -> Option<&str> {
        match self {
            Typed::Ref(_, name) => Some(name),
            _ => None,
        }
    }

    pub fn as_cidr(&self) -> Option<Cidr> {
        match self {
            Typed::Cidr(c) => Some(*c),
            _ => None,
        }
    }

    pub fn as_k8s_name(&self) -> Option<&str> {
        match self {
            Typed::K8sName(s) => Some(s),
            _ => None,
        }
    }

    /// An enum field's value (its `.kumo` spelling is `name`, KumoMTA's `kumo`).
    pub fn as_enum(&self) -> Option<&'static Variant> {
        match self {
            Typed::Enum(v) => Some(v),
            _ => None,
        }
    }

    pub fn as_secret(&self) -> Option<&SecretRef> {
        match self {
            Typed::Secret(s) => Some(&**s),
            _ => None,
        }
    }

    pub fn as_version(&self) -> Option<&KumoVersion> {
        match self {
            Typed::Version(v) => Some(&**v),
            _ => None,
        }
    }

    pub fn as_regex(&self) -> Option<&str> {
        match self {
            Typed::Regex(r) => Some(r),
            _ => None,
        }
    }

    pub fn as_action(&self) -> Option<&Action> {
        match self {
            Typed::Action(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_trigger(&self) -> Option<Trigger> {
        match self {
            Typed::Trigger(t) => Some(**t),
            _ => None,
        }
    }

    pub fn as_match(&self) -> Option<&MatchRule> {
        match self {
            Typed::Match(m) => Some(m),
            _ => None,
        }
    }

    /// The items of a list (each with its own location).
    pub fn as_list(&self) -> Option<&[TypedAt]> {
        match self {
            Typed::List(items) => Some(items),
            _ => None,
        }
    }
}

/// Defaults: the schema states each once, typed ([`Lit`]); these are the values they stand
/// for.
impl Typed {
    /// The value `field`'s default stands for, typed as the field's values are. `None` for a
    /// field without a default, a described one, or a default that does not fit the field's
    /// type (a test holds the schema to that).
    pub fn of_default(field: &Field) -> Option<Typed> {
        Typed::of_lit(field.default?.lit()?, &field.ty)
    }

    /// The value kumoc applies when `field` is not set: its default when the default is
    /// kumoc's own ([`FieldDefault::Kumoc`]; KumoMTA applies its own defaults itself).
    pub fn applied_default(field: &Field) -> Option<Typed> {
        match field.default? {
            FieldDefault::Kumoc(lit) => Typed::of_lit(lit, &field.ty),
            FieldDefault::KumoMta(_) | FieldDefault::Described(_) => None,
        }
    }

    fn of_lit(lit: Lit, ty: &Ty) -> Option<Typed> {
        Some(match (lit, ty) {
            (Lit::Bool(b), Ty::Bool) => Typed::Bool(b),
            (Lit::Int(n), Ty::Int { min, max }) if (*min..=*max).contains(&n) => Typed::Int(n),
            (Lit::Int(n), Ty::Limit) => Typed::Limit(Limit {
                local: false,
                limit: u64::try_from(n).ok()?,
            }),
            (Lit::Secs(_) | Lit::Mins(_) | Lit::Days(_), Ty::Duration) => {
                Typed::Duration(lit.duration_ms()?)
            }
            (Lit::Mi(_) | Lit::Gi(_), Ty::Size) => Typed::Size(lit.bytes()?),
            (Lit::Pct(p), Ty::Percent) if p <= 100 => Typed::Percent(p),
            (Lit::Str(s), Ty::Str) => Typed::Str(Name::new(s)),
            (Lit::Name(n), Ty::Enum(variants)) => {
                Typed::Enum(variants.iter().find(|v| v.name == n)?)
            }
            (Lit::Name("immediate"), Ty::Trigger) => Typed::Trigger(Box::new(Trigger::Immediate)),
            (Lit::Cidrs(cidrs), Ty::List(Ty::Cidr)) => Typed::List(
                cidrs
                    .iter()
                    .map(|c| Spanned {
                        value: Typed::Cidr(*c),
                        loc: Loc::default(),
                    })
                    .collect(),
            ),
            _ => return None,
        })
    }
}

impl TypedAt {
    /// The value through one of [`Typed`]'s accessors, with its location.
    pub fn read<'a, T>(&'a self, as_: impl FnOnce(&'a Typed) -> Option<T>) -> Option<Spanned<T>> {
        as_(&self.value).map(|value| Spanned {
            value,
            loc: self.loc,
        })
    }

    /// The items of a list value read through one of [`Typed`]'s accessors, each with its
    /// location; items of another shape are left out. Empty when the value is no list.
    pub fn read_items<'a, T>(
        &'a self,
        as_: impl Fn(&'a Typed) -> Option<T> + 'a,
    ) -> impl Iterator<Item = Spanned<T>> + 'a
    where
        T: 'a,
    {
        self.value
            .as_list()
            .unwrap_or_default()
            .iter()
            .filter_map(move |i| as_(&i.value).map(|value| Spanned { value, loc: i.loc }))
    }
}

#[cfg(test)]
mod tests {
    /// Every value of a deployment is one of these, twice (the typed tree and the model):
    /// a large variant belongs in a box.
    #[test]
    fn a_typed_value_stays_small() {
        assert!(std::mem::size_of::<super::Typed>() <= 32);
        assert!(std::mem::size_of::<super::TypedAt>() <= 48);
    }
}
