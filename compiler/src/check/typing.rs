//! Phase A, one value: a literal typed against its field's type ([`Ty`]), with the
//! diagnostics (and fixes) of a value that does not type, and the checks that keep a typed
//! value readable by its consumer (printable strings, each string's grammar, each value's
//! range: [`crate::grammars`]).

use kumoc_lang::ast::{Attr, Value, ValueKind};
use kumoc_lang::units::{self, UnitError};

use super::Cx;
use crate::codes::{self, Code};
use crate::diagnostic::{Applicability, Diagnostic, did_you_mean};
use crate::grammars::{
    StringGrammar, check_dns_subdomain, check_domain_case, check_host_port, check_k8s_name,
    check_secret_key, check_url, regex_error, value_rule,
};
use crate::schema::{ACTIONS, RefKind, Ty, Variant, egress_field};
use crate::source::Loc;
use crate::value::{Action, MatchRule, SecretRef, Trigger, Typed, TypedAt};

impl Cx<'_, '_, '_> {
    fn mismatch(&mut self, ty: &Ty, v: &Value) {
        let at = self.loc(v.span);
        let mut d = Diagnostic::new(
            codes::TYPE_MISMATCH,
            format!("expected {}, found {}", ty.describe(), v.describe()),
            at,
            format!("expected {}", short(ty)),
        );
        d = match (ty, &v.kind) {
            (Ty::Secret, ValueKind::Str(_)) => d.with_help(
                "secret values are never written in .kumo: declare `secret \"name\" { }` and refer to it with `secret(\"name\")`",
            ),
            (Ty::Rate, ValueKind::Number(raw)) => d.with_help(format!("a rate needs a period: `{raw}/s`, `{raw}/min` or `{raw}/h`")),
            (Ty::Duration, ValueKind::Number(raw)) if raw.chars().all(|c| c.is_ascii_digit()) => {
                match self.trailing() {
                    // `2 hours`: the unit is on the line, after a space. The fix replaces
                    // both with the duration they spell, or there is none.
                    Some(junk) => {
                        let whole = v.span.cover(junk);
                        let written = self.text.get(whole.range()).unwrap_or_default();
                        match spaced_duration(written) {
                            Some(fixed) => d
                                .with_help(format!("no spaces inside a duration: write `{fixed}`"))
                                .with_replacement(
                                    format!("write `{fixed}`"),
                                    self.loc(whole),
                                    fixed,
                                ),
                            None => d.with_help(format!(
                                "a duration is a number and a unit without spaces, like `{raw}s`, `{raw}m` or `{raw}h`"
                            )),
                        }
                    }
                    // A bare number: KumoMTA itself reads an integer duration as seconds.
                    None => d
                        .with_help(format!("durations need a unit: `{raw}s`, `{raw}m` or `{raw}h`"))
                        .with_fix(
                            format!("use `{raw}s` (KumoMTA reads a bare number as seconds)"),
                            crate::diagnostic::Applicability::Unsafe,
                            vec![crate::diagnostic::Edit { loc: at, replacement: format!("{raw}s") }],
                        ),
                }
            }
            (Ty::Bool, ValueKind::Str(s)) if s.value == "true" || s.value == "false" => d
                .with_help(format!("write `{}` without quotes", s.value))
                .with_replacement("remove the quotes", at, s.value.clone()),
            (Ty::Enum(_), ValueKind::Str(s)) => d.with_help(format!("enum values are written without quotes: `{}`", s.value)),
            (Ty::Ref(k), ValueKind::Str(s)) => d.with_help(format!("refer to a {} by its bare name: `{}`", k.noun(), s.value)),
            _ => d.with_help(format!("this field takes {}", ty.describe())),
        };
        self.push(d);
    }

    /// The typed value of a literal parsed by `units`, or its error reported.
    fn lit<T>(
        &mut self,
        parsed: Result<T, UnitError>,
        code: Code,
        what: &str,
        v: &Value,
        wrap: impl FnOnce(T) -> Typed,
    ) -> Option<Typed> {
        self.lit_fix(parsed, code, what, v, wrap, Applicability::Safe)
    }

    /// [`Self::lit`], with the error's suggestion (the literal, corrected: see
    /// [`UnitError::suggestion`]) offered as a fix of the given applicability.
    fn lit_fix<T>(
        &mut self,
        parsed: Result<T, UnitError>,
        code: Code,
        what: &str,
        v: &Value,
        wrap: impl FnOnce(T) -> Typed,
        applicability: Applicability,
    ) -> Option<Typed> {
        match parsed {
            Ok(x) => Some(wrap(x)),
            Err(e) => {
                // A string's contents start one byte after its opening quote.
                let quoted = matches!(v.kind, ValueKind::Str(_));
                let suggestion = e.suggestion.clone();
                self.unit_error(code, what, v, usize::from(quoted), e);
                if let (Some(fixed), Some(last)) = (suggestion, self.diags.last_mut()) {
                    let replacement = if quoted {
                        format!("\"{}\"", fixed.replace('\\', "\\\\").replace('"', "\\\""))
                    } else {
                        fixed.clone()
                    };
                    last.fix = Some(crate::diagnostic::Fix {
                        title: format!("write `{fixed}`"),
                        applicability,
                        edits: vec![crate::diagnostic::Edit {
                            loc: Loc::new(self.file, v.span),
                            replacement,
                        }],
                    });
                }
                None
            }
        }
    }

    fn unit_error(&mut self, code: Code, what: &str, v: &Value, text_offset: usize, e: UnitError) {
        // Point inside the literal only when its text is exactly what was parsed (a string
        // with escapes is longer in the source than its value).
        let exact = match &v.kind {
            ValueKind::Str(st) => v.span.len() as usize == st.value.len() + 2,
            _ => true,
        };
        let span = v
            .span
            .subspan(e.range.start + text_offset..e.range.end + text_offset);
        let span = if span.is_empty() || !exact {
            v.span
        } else {
            span
        };
        let shown = source_text(v);
        let mut d = Diagnostic::new(
            code,
            format!("invalid {what} `{shown}`"),
            self.loc(span),
            e.message.clone(),
        );
        d = match e.help {
            Some(h) => d.with_help(h),
            None => d.with_help(format!(
                "see `kumoc explain {code}` for how a {what} is written"
            )),
        };
        self.push(d);
    }

    pub(super) fn value(&mut self, ty: &Ty, v: &Value) -> Option<TypedAt> {
        let loc = self.loc(v.span);
        let typed = match (ty, &v.kind) {
            // Already reported by the parser.
            (_, ValueKind::Missing | ValueKind::Error(_)) => return None,
            (Ty::OneOrList(inner), ValueKind::List(_)) => return self.value(&Ty::List(inner), v),
            (Ty::OneOrList(inner), _) => {
                let one = self.value(inner, v)?;
                Typed::List(vec![one])
            }
            (Ty::List(inner), ValueKind::List(list)) => {
                // Sized for the items written (those that do not type are dropped): the list
                // lives on in the model, through the emit (a collected `filter_map` holds
                // room for four of three headers).
                let mut items = Vec::with_capacity(list.items.len());
                for i in &list.items {
                    if let Some(t) = self.value(inner, i) {
                        items.push(t);
                    }
                }
                Typed::List(items)
            }
            (Ty::Str, ValueKind::Str(s)) => Typed::Str(s.value.clone()),
            (Ty::Bool, ValueKind::Bool(b)) => Typed::Bool(*b),
            (Ty::Int { min, max }, ValueKind::Number(raw)) => {
                let digits = raw.replace('_', "");
                match digits.parse::<i64>() {
                    Ok(n) if n < *min || n > *max => {
                        self.push(
                            Diagnostic::new(
                                codes::OUT_OF_RANGE,
                                format!("{n} is out of range"),
                                loc,
                                format!("must be {}", range_text(*min, *max)),
                            )
                            .with_help(format!("the allowed range is {}", range_text(*min, *max))),
                        );
                        return None;
                    }
                    Ok(n) => Typed::Int(n),
                    Err(_) => {
                        self.mismatch(ty, v);
                        return None;
                    }
                }
            }
            (Ty::Duration, ValueKind::Number(raw))
                if !raw.chars().all(|c| c.is_ascii_digit() || c == '_') =>
            {
                self.lit(
                    units::parse_duration_literal(raw),
                    codes::INVALID_DURATION,
                    "duration",
                    v,
                    Typed::Duration,
                )?
            }
            // The newest humantime here: what an older release cannot read is reported by
            // `resolve`, which knows the deployment's release (per environment).
            (Ty::Duration, ValueKind::Str(s)) => self.lit(
                units::parse_humantime(&s.value, units::HumantimeFlavor::V2_3),
                codes::INVALID_DURATION,
                "duration",
                v,
                Typed::Duration,
            )?,
            (Ty::Rate, ValueKind::Rate(raw)) if raw.contains('/') => self.lit(
                units::parse_rate(raw),
                codes::INVALID_RATE,
                "rate",
                v,
                |r| Typed::Rate(Box::new(r)),
            )?,
            (Ty::Rate, ValueKind::Str(s)) => self.lit(
                units::parse_rate(&s.value),
                codes::INVALID_RATE,
                "rate",
                v,
                |r| Typed::Rate(Box::new(r)),
            )?,
            (
                Ty::Limit,
                ValueKind::Number(raw) | ValueKind::Str(kumoc_lang::ast::StrLit { value: raw, .. }),
            ) => self.lit(
                units::parse_limit(raw),
                codes::OUT_OF_RANGE,
                "connection limit",
                v,
                Typed::Limit,
            )?,
            (Ty::Limit, ValueKind::Rate(raw)) if !raw.contains('/') => self.lit(
                units::parse_limit(raw),
                codes::OUT_OF_RANGE,
                "connection limit",
                v,
                Typed::Limit,
            )?,
            (Ty::Size, ValueKind::Number(raw)) => self.lit(
                units::parse_size(raw),
                codes::INVALID_QUANTITY,
                "size",
                v,
                Typed::Size,
            )?,
            (Ty::Cpu, ValueKind::Number(raw)) => self.lit(
                units::parse_cpu(raw),
                codes::INVALID_QUANTITY,
                "CPU quantity",
                v,
                Typed::Cpu,
            )?,
            (Ty::Percent, ValueKind::Number(raw)) if raw.ends_with('%') => self.lit(
                units::parse_percent(raw),
                codes::INVALID_QUANTITY,
                "percentage",
                v,
                Typed::Percent,
            )?,
            (
                Ty::Ip,
                ValueKind::Ip(raw) | ValueKind::Str(kumoc_lang::ast::StrLit { value: raw, .. }),
            ) => self.lit(
                units::parse_ip(raw),
                codes::INVALID_ADDRESS,
                "IP address",
                v,
                Typed::Ip,
            )?,
            (Ty::Cidr, ValueKind::Ip(raw))
            | (Ty::Cidr, ValueKind::Str(kumoc_lang::ast::StrLit { value: raw, .. })) => {
                // Unsafe: `10.0.0.1/8` -> `10.0.0.0/8` is KumoMTA's own "did you mean", but
                // the writer may have meant the host.
                self.lit_fix(
                    units::parse_cidr(raw),
                    codes::INVALID_ADDRESS,
                    "CIDR",
                    v,
                    Typed::Cidr,
                    Applicability::Unsafe,
                )?
            }
            (Ty::HostPort, ValueKind::Str(s)) => match check_host_port(&s.value) {
                Ok(()) => Typed::HostPort(s.value.clone()),
                Err(why) => {
                    self.push(
                        Diagnostic::new(codes::INVALID_ADDRESS, format!("invalid \"host:port\": {why}"), loc, why)
                            .with_help(format!(
                                "write it like \"10.0.0.5:1080\" or \"[2001:db8::5]:1080\" (KumoMTA reads a DNS name like \"proxy.example.com:1080\" from {} on)",
                                units::Feature::ProxyServerByName.introduced_in()
                            )),
                    );
                    return None;
                }
            },
            (Ty::Domain { wildcard }, ValueKind::Str(s)) => {
                match check_domain_case(&s.value, *wildcard) {
                    // Already in lower case (nearly always): the name is shared, not scanned
                    // again to be lowered.
                    Ok(false) => Typed::Domain(s.value.clone()),
                    Ok(true) => Typed::Domain(s.value.ascii_lowercase()),
                    Err(why) => {
                        self.push(
                            Diagnostic::new(
                                codes::INVALID_NAME,
                                format!("`{}` is not a domain name", s.value),
                                loc,
                                why,
                            )
                            .with_help(
                                "a domain name is dot-separated labels of letters, digits and `-`",
                            ),
                        );
                        return None;
                    }
                }
            }
            (Ty::Url(schemes), ValueKind::Str(s)) => match check_url(&s.value, schemes) {
                Ok(()) => Typed::Url(s.value.clone()),
                Err((why, help)) => {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_ADDRESS,
                            format!("invalid URL: {why}"),
                            loc,
                            why,
                        )
                        .with_help(help),
                    );
                    return None;
                }
            },
            (Ty::K8sName, ValueKind::Str(s)) => match check_k8s_name(&s.value) {
                Ok(()) => Typed::K8sName(s.value.clone()),
                Err(why) => {
                    self.push(Diagnostic::new(codes::INVALID_NAME, format!("`{}` is not a valid Kubernetes name", s.value), loc, why).with_help("use at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit"));
                    return None;
                }
            },
            (Ty::HttpPath, ValueKind::Str(s)) if s.value.starts_with('/') => {
                Typed::HttpPath(s.value.clone())
            }
            (Ty::Enum(variants), ValueKind::Path(p)) => {
                let name = p.text_cow();
                match variants.iter().find(|x| x.name == name) {
                    Some(x) => Typed::Enum(x),
                    None => {
                        self.unknown_enum(variants, &name, loc);
                        return None;
                    }
                }
            }
            (Ty::Enum(variants), ValueKind::Bool(b)) => {
                self.unknown_enum(variants, &b.to_string(), loc);
                return None;
            }
            (Ty::Ref(kind), ValueKind::Path(p)) => match &p.segments[..] {
                [one] => Typed::Ref(*kind, one.name.clone()),
                _ => {
                    self.mismatch(ty, v);
                    return None;
                }
            },
            (Ty::Ref(kind), ValueKind::Str(s))
                if !s.value.is_empty() && *kind != RefKind::Secret =>
            {
                // Names with characters a bare name cannot hold may be quoted.
                Typed::Ref(*kind, s.value.clone())
            }
            (Ty::Secret, ValueKind::Call(c)) if c.callee.is("secret") => {
                return self.secret(c, loc);
            }
            (Ty::Version, ValueKind::Str(s)) => self.lit(
                units::parse_version(&s.value),
                codes::INVALID_VERSION,
                "KumoMTA release",
                v,
                |r| Typed::Version(Box::new(r)),
            )?,
            (Ty::Regex, ValueKind::Str(s)) => match regex_error(&s.value) {
                None => Typed::Regex(s.value.clone()),
                Some(e) => {
                    self.push(
                        Diagnostic::new(codes::INVALID_REGEX, "invalid regular expression", loc, e)
                            .with_help("patterns use fancy-regex syntax; in a '...' string backslashes are taken literally"),
                    );
                    return None;
                }
            },
            (Ty::Action, ValueKind::Path(p)) => {
                let name = p.text_cow();
                match ACTIONS.iter().find(|a| a.name == name) {
                    Some(a) if a.name.starts_with("set_") => {
                        self.push(
                            Diagnostic::new(
                                codes::INVALID_CALL,
                                format!("`{name}` needs the field to set"),
                                loc,
                                "arguments missing",
                            )
                            .with_help(format!("write `{name}(connection_limit = 1)`")),
                        );
                        return None;
                    }
                    Some(a) => Typed::Action(Action::Simple(a)),
                    None => {
                        self.unknown_enum(ACTIONS, &name, loc);
                        return None;
                    }
                }
            }
            (Ty::Action, ValueKind::Call(c)) => return self.set_config(c, loc),
            (Ty::Trigger, ValueKind::Path(p)) if p.is("immediate") => {
                Typed::Trigger(Box::new(Trigger::Immediate))
            }
            (Ty::Trigger, ValueKind::Call(c)) if c.callee.is("threshold") => {
                let [arg] = &c.args[..] else {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_CALL,
                            "`threshold` takes one rate",
                            loc,
                            "wrong arguments",
                        )
                        .with_help("write `threshold(10/h)`"),
                    );
                    return None;
                };
                let rate = self.value(&Ty::Rate, &arg.value)?;
                match rate.value {
                    Typed::Rate(r) => Typed::Trigger(Box::new(Trigger::Threshold(*r))),
                    _ => return None,
                }
            }
            (Ty::Match, ValueKind::Call(c)) => {
                let name = c.callee.text();
                let arg = match &c.args[..] {
                    [a] if a.name.is_none() => match &a.value.kind {
                        ValueKind::Str(s) => Some(s.value.clone()),
                        _ => None,
                    },
                    _ => None,
                };
                let Some(arg) = arg else {
                    self.push(
                        Diagnostic::new(
                            codes::INVALID_CALL,
                            format!("`{name}` takes one string"),
                            loc,
                            "wrong arguments",
                        )
                        .with_help("write `mx_suffix(\".google.com\")`"),
                    );
                    return None;
                };
                let arg_loc = c.args.first().map_or(loc, |a| self.loc(a.value.span));
                self.match_argument(&name, &arg, loc, arg_loc)?;
                match MatchRule::new(&name, arg.as_str().to_owned()) {
                    Some(rule) => Typed::Match(rule),
                    None => {
                        let other = name.as_str();
                        let mut d = Diagnostic::new(
                            codes::INVALID_CALL,
                            format!("unknown match rule `{other}`"),
                            self.loc(c.callee.span),
                            "unknown function",
                        );
                        d = match did_you_mean(other, MatchRule::FUNCTIONS) {
                            Some(s) => d.with_help(format!("did you mean `{s}`?")).with_replacement(format!("replace with `{s}`"), self.loc(c.callee.span), s),
                            None => d.with_help("match rules are `mx_suffix(...)`, `domain_suffix(...)` and `host_name(...)`"),
                        };
                        self.push(d);
                        return None;
                    }
                }
            }
            (_, ValueKind::Call(c)) => {
                let name = c.callee.text();
                self.push(
                    Diagnostic::new(
                        codes::INVALID_CALL,
                        format!("`{name}(...)` is not allowed here"),
                        self.loc(c.callee.span),
                        format!("expected {}", short(ty)),
                    )
                    .with_help(format!("this field takes {}", ty.describe())),
                );
                return None;
            }
            _ => {
                self.mismatch(ty, v);
                return None;
            }
        };
        Some(TypedAt { value: typed, loc })
    }

    fn unknown_enum(&mut self, variants: &'static [Variant], name: &str, loc: Loc) {
        let mut d = Diagnostic::new(
            codes::UNKNOWN_VALUE,
            format!("unknown value `{name}`"),
            loc,
            "not one of the allowed values",
        );
        let by_kumo = variants.iter().find(|x| x.kumo.eq_ignore_ascii_case(name));
        let suggestion = by_kumo
            .map(|x| x.name)
            .or_else(|| did_you_mean(name, variants.iter().map(|x| x.name)));
        // Only what the declared release has is "allowed".
        let names: Vec<String> = variants
            .iter()
            .filter(|x| self.too_new(x.since).is_none())
            .map(|x| format!("`{}`", x.name))
            .collect();
        let too_new = suggestion
            .and_then(|s| variants.iter().find(|x| x.name == s))
            .and_then(|x| self.too_new(x.since));
        d = match (suggestion, too_new) {
            (Some(s), Some(why)) => d.with_help(format!(
                "did you mean `{s}`? {why} (allowed: {})",
                names.join(", ")
            )),
            (Some(s), None) => d
                .with_help(format!(
                    "did you mean `{s}`? (allowed: {})",
                    names.join(", ")
                ))
                .with_replacement(format!("replace with `{s}`"), loc, s),
            (None, _) => d.with_help(format!("allowed: {}", names.join(", "))),
        };
        self.push(d);
    }

    fn secret(&mut self, c: &kumoc_lang::ast::Call, loc: Loc) -> Option<TypedAt> {
        fn string(a: &kumoc_lang::ast::Arg) -> Option<(&str, kumoc_lang::Span)> {
            match (&a.name, &a.value.kind) {
                (None, ValueKind::Str(s)) => Some((s.value.as_str(), a.value.span)),
                _ => None,
            }
        }
        // One or two arguments, each a plain string.
        let parts = match &c.args[..] {
            [n] => string(n).map(|n| (n, None)),
            [n, k] => string(n).zip(string(k)).map(|(n, k)| (n, Some(k))),
            _ => None,
        };
        let Some(((name, name_span), key)) = parts else {
            self.push(
                Diagnostic::new(codes::INVALID_CALL, "`secret` takes a Secret name and optionally a key", loc, "wrong arguments")
                    .with_help("write `secret(\"dkim-keys\")` or `secret(\"dkim-keys\", \"example.com.default.key\")`"),
            );
            return None;
        };
        let name_loc = self.loc(name_span);
        self.secret_name(name, name_loc)?;
        if let Some((k, kspan)) = key {
            if let Err(why) = check_secret_key(k) {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_NAME,
                        format!("`{k}` is not a valid Secret key"),
                        self.loc(kspan),
                        why,
                    )
                    .with_help("Secret keys are letters, digits, `-`, `_` and `.`"),
                );
                return None;
            }
        }
        Some(TypedAt {
            value: Typed::Secret(Box::new(SecretRef {
                name: name.to_string(),
                name_loc,
                key: key.map(|(k, kspan)| (k.to_string(), self.loc(kspan))),
            })),
            loc,
        })
    }

    fn set_config(&mut self, c: &kumoc_lang::ast::Call, loc: Loc) -> Option<TypedAt> {
        let name = c.callee.text();
        let Some(variant) = ACTIONS.iter().find(|a| a.name == name) else {
            self.unknown_enum(ACTIONS, &name, self.loc(c.callee.span));
            return None;
        };
        if !variant.name.starts_with("set_") {
            self.push(
                Diagnostic::new(
                    codes::INVALID_CALL,
                    format!("`{name}` takes no arguments"),
                    loc,
                    "unexpected arguments",
                )
                .with_help(format!("write `{name}`")),
            );
            return None;
        }
        let [arg] = &c.args[..] else {
            self.push(
                Diagnostic::new(
                    codes::INVALID_CALL,
                    format!("`{name}` sets exactly one field"),
                    loc,
                    "wrong arguments",
                )
                .with_help(format!("write `{name}(connection_limit = 1)`")),
            );
            return None;
        };
        let Some(fname) = &arg.name else {
            self.push(
                Diagnostic::new(
                    codes::INVALID_CALL,
                    format!("`{name}` needs `field = value`"),
                    loc,
                    "field name missing",
                )
                .with_help(format!("write `{name}(connection_limit = 1)`")),
            );
            return None;
        };
        let Some(field) = egress_field(&fname.name) else {
            let at = self.loc(fname.span);
            let mut d = Diagnostic::new(
                codes::UNKNOWN_FIELD,
                format!("`{}` is not a shaping field", fname.name),
                at,
                "unknown field",
            );
            let saved = std::mem::take(&mut self.present);
            if let Some(with) = self.suggest_field(
                d.clone(),
                &fname.name,
                at,
                crate::schema::EGRESS_FIELDS.iter(),
            ) {
                d = with;
            }
            self.present = saved;
            self.push(d);
            return None;
        };
        let value = self.value(&field.ty, &arg.value)?;
        Some(TypedAt {
            value: Typed::Action(Action::SetConfig {
                variant,
                field,
                value: Box::new(value),
            }),
            loc,
        })
    }
}

/// `2 hours`, `1 h 30 min`: a duration written with spaces, as a kumoc literal (`2h`,
/// `90m`), when it reads as one exactly. Months and years are left alone (`5 M` is five
/// months to humantime, and rarely what was meant), and so are fractions and units below
/// the millisecond, which a kumoc literal cannot hold exactly.
fn spaced_duration(written: &str) -> Option<String> {
    let refused = written.contains('.')
        || written.split(|c: char| !c.is_alphabetic()).any(|w| {
            matches!(
                w,
                "M" | "month"
                    | "months"
                    | "y"
                    | "year"
                    | "years"
                    | "yr"
                    | "yrs"
                    | "ns"
                    | "nsec"
                    | "nanos"
                    | "us"
                    | "usec"
                    | "µs"
            )
        });
    if refused {
        return None;
    }
    let ms = units::parse_humantime(written, units::HumantimeFlavor::V2_2).ok()?;
    (ms > 0).then(|| units::format_duration(ms))
}

/// The value as written, for messages (long values are cut).
fn source_text(v: &Value) -> String {
    let s = match &v.kind {
        ValueKind::Str(s) => s.value.as_str().to_owned(),
        ValueKind::Number(r) | ValueKind::Rate(r) | ValueKind::Ip(r) => r.as_str().to_owned(),
        ValueKind::Error(r) => r.clone(),
        _ => String::new(),
    };
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}...")
    } else {
        s
    }
}

fn short(ty: &Ty) -> String {
    match ty {
        Ty::Enum(_) => "one of the allowed values".into(),
        other => strip(&other.describe()),
    }
}

fn strip(s: &str) -> String {
    s.split(" like ").next().unwrap_or(s).to_string()
}

fn range_text(min: i64, max: i64) -> String {
    if max == i64::MAX {
        format!("at least {min}")
    } else {
        format!("between {min} and {max}")
    }
}

// ----- strings that must mean something where they are emitted (issue 7) ------------------
//
// The emitters escape every string for Lua, TOML and YAML, so no value can inject code or
// structure. Some places give the text a meaning of its own, though: a header name, a
// Kubernetes name, a path on the pod, a log filter, an SMTP greeting line. A string that
// cannot mean anything there is reported here, at the value: control characters in any
// emitted string (K2015), and each such place's own grammar (K2010 for names, K2015 for
// other text).

impl Cx<'_, '_, '_> {
    /// Strings are single lines of printable text.
    fn no_control_characters(&mut self, s: &str, loc: Loc) -> Option<()> {
        // Printable ASCII (nearly every string) has none: one compare a byte.
        if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return Some(());
        }
        let Some(c) = s.chars().find(|c| c.is_control()) else {
            return Some(());
        };
        self.push(
            Diagnostic::new(
                codes::INVALID_TEXT,
                format!("a string with a control character (`{}`)", c.escape_default()),
                loc,
                "control character",
            )
            .with_help(if s.contains("-----BEGIN") {
                "this looks like a PEM key: secret material never goes in .kumo; reference a Secret with `secret(\"name\", \"key\")`"
            } else {
                "strings are one line of printable text: remove the newline, tab or other control character"
            }),
        );
        None
    }

    /// Every string of a field's value (list items and `set_config` values included) is
    /// printable, and follows the field's own grammar where it has one (see
    /// [`StringGrammar`]). A value with a bad string is dropped, like any ill-typed value.
    pub(super) fn emittable(&mut self, block: &str, field: &str, v: &TypedAt) -> bool {
        // Only a value that holds strings looks its field's grammar up, and only once.
        match &v.value {
            Typed::Str(_) | Typed::List(_) | Typed::Action(Action::SetConfig { .. }) => {
                let grammar = StringGrammar::of(block, field);
                self.strings_ok(grammar, field, &v.value, v.loc)
            }
            _ => true,
        }
    }

    fn strings_ok(&mut self, grammar: StringGrammar, field: &str, v: &Typed, loc: Loc) -> bool {
        match v {
            Typed::Str(s) => self.string_ok(grammar, field, s, loc),
            Typed::List(items) => {
                // Every item is checked, so each bad one is reported. A string item (the
                // usual one) is checked here, without a call to this function again.
                let mut ok = true;
                for i in items {
                    ok &= match &i.value {
                        Typed::Str(s) => self.string_ok(grammar, field, s, i.loc),
                        other => self.strings_ok(grammar, field, other, i.loc),
                    };
                }
                ok
            }
            Typed::Action(Action::SetConfig {
                field: f, value, ..
            }) => self.strings_ok(
                StringGrammar::of("shaping", f.name),
                f.name,
                &value.value,
                value.loc,
            ),
            _ => true,
        }
    }

    /// One string of [`Self::strings_ok`]: printable ASCII that follows the grammar (nearly
    /// every string) passes here; the rest is [`Self::string_finding`]'s to report.
    #[inline]
    fn string_ok(&mut self, grammar: StringGrammar, field: &str, s: &str, loc: Loc) -> bool {
        let printable = s.bytes().all(|b| (0x20..0x7f).contains(&b));
        if printable && (grammar == StringGrammar::Any || grammar.check(s).is_none()) {
            return true;
        }
        self.string_finding(grammar, field, s, loc)
    }

    /// [`Self::string_ok`] of a string that is not printable ASCII or breaks the grammar:
    /// its finding, if it has one.
    #[cold]
    fn string_finding(&mut self, grammar: StringGrammar, field: &str, s: &str, loc: Loc) -> bool {
        if self.no_control_characters(s, loc).is_none() {
            return false;
        }
        let Some((code, why, help)) = grammar.check(s) else {
            return true;
        };
        self.push(
            Diagnostic::new(
                code,
                format!("{} is not valid for `{field}`", shown(s)),
                loc,
                why,
            )
            .with_help(help),
        );
        false
    }

    /// Map keys: printable; the keys of a Secret's `files` are Secret keys. (The values of
    /// `files` are paths `kumoc build --secrets` reads, never emitted; KUMO-SEC005 looks for
    /// secrets pasted there.)
    pub(super) fn map_key_emittable(&mut self, block: &str, a: &Attr) -> bool {
        let loc = self.loc(a.key.span);
        if self.no_control_characters(&a.key.name, loc).is_none() {
            return false;
        }
        if block == "files" {
            if let Err(why) = check_secret_key(&a.key.name) {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_NAME,
                        format!("`{}` is not a valid Secret key", a.key.name),
                        loc,
                        why,
                    )
                    .with_help("Secret keys are letters, digits, `-`, `_` and `.`"),
                );
                return false;
            }
        }
        true
    }

    /// A Secret's name is a Kubernetes object name and a directory on the pod.
    pub(super) fn secret_name(&mut self, name: &str, loc: Loc) -> Option<()> {
        match check_dns_subdomain(name) {
            Ok(()) => Some(()),
            Err(why) => {
                self.push(
                    Diagnostic::new(
                        codes::INVALID_NAME,
                        format!("{} is not a valid Secret name", shown(name)),
                        loc,
                        why,
                    )
                    .with_help(
                        "Secret names are lowercase letters, digits, `-` and `.`, like `dkim-keys`",
                    ),
                );
                None
            }
        }
    }

    /// `mx_suffix`, `domain_suffix` and `host_name` compare a destination with their text: an
    /// empty suffix would match every destination, and whitespace none. (Wildcards and
    /// regex syntax are KUMO-SHP005's, with a fix.)
    fn match_argument(&mut self, rule: &str, arg: &str, loc: Loc, arg_loc: Loc) -> Option<()> {
        let text = match rule {
            "mx_suffix" | "domain_suffix" => arg.strip_prefix('.').unwrap_or(arg),
            "host_name" => arg,
            _ => return Some(()), // an unknown rule: reported with its name
        };
        // KumoMTA compares MX host names as DNS gives them, in lower case (hickory's
        // `Name::to_lowercase` in `fully_qualify`, `crates/dns-resolver`), and the suffix as
        // written: an upper-case letter never matches.
        if rule != "domain_suffix" && text.chars().any(|c| c.is_ascii_uppercase()) {
            let lower = arg.to_ascii_lowercase();
            let mut d = Diagnostic::new(
                codes::INVALID_NAME,
                format!("{} never matches an MX host name", shown(arg)),
                arg_loc,
                "upper-case letters",
            )
            .with_help(format!(
                "KumoMTA compares MX host names in lower case: write `\"{lower}\"`"
            ));
            if !lower.contains(['"', '\\']) {
                d = d.with_replacement("write it in lower case", arg_loc, format!("\"{lower}\""));
            }
            self.push(d);
            return None;
        }
        let why = if text.is_empty() {
            "matches every destination"
        } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            "a domain has no spaces or control characters"
        } else {
            return Some(());
        };
        self.push(
            Diagnostic::new(
                codes::INVALID_NAME,
                format!("{} is not a domain name", shown(arg)),
                loc,
                why,
            )
            .with_help("match rules take a domain or a suffix like `\".google.com\"`"),
        );
        None
    }
}

impl Cx<'_, '_, '_> {
    /// A value outside what its consumer reads back is reported (K2007) and dropped.
    pub(super) fn in_range(&mut self, block: &str, field: &str, v: &TypedAt) -> bool {
        let Some((code, why, help)) = value_rule(block, field, &v.value) else {
            return true;
        };
        let message = if code == codes::OUT_OF_RANGE {
            format!("`{field}` is out of range")
        } else {
            format!("invalid `{field}`")
        };
        self.push(Diagnostic::new(code, message, v.loc, why).with_help(help));
        false
    }
}

/// A string for a message: in backticks, cut when long, `""` when empty.
pub(super) fn shown(s: &str) -> String {
    if s.is_empty() {
        return "`\"\"`".to_string();
    }
    let cut: String = s.chars().take(60).collect();
    if cut.len() < s.len() {
        format!("`{cut}…`")
    } else {
        format!("`{s}`")
    }
}
