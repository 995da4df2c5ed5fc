//! Static evaluation of the Lua expressions a policy passes to KumoMTA: literals, tables of
//! literals, local constants, and the environment idioms.
//!
//! `os.getenv("X") or LITERAL` is read as "the environment's X, else LITERAL": the import
//! takes X from the environment it is given (`--env-var X=V`, or the container `env` of the
//! Helm values), else the literal, and reports which (K4006); kumoc's policy then has that
//! value written in, since it reads no environment variables. Conditions on known values
//! (`os.getenv("X") == "true"`) are evaluated the same way. Anything else is not a literal:
//! [`Eval`] says where (the span of the part that is not), and the caller reports it.

use std::collections::BTreeMap;

use kumoc_lang::Span;

use super::lua::{Expr, ExprKind, Field};
use super::values::Raw;

/// An environment variable as the import sees it: its value and where that came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    pub value: String,
    /// `--env-var`, or the file and list it came from (`values.yaml: env`).
    pub origin: String,
}

/// The environment of one workload.
#[derive(Debug, Clone, Default)]
pub struct Env {
    pub vars: BTreeMap<String, EnvVar>,
    /// Variables that hold a Secret reference (`valueFrom.secretKeyRef`): (secret, key).
    pub secret_refs: BTreeMap<String, (String, String)>,
}

/// One `os.getenv` the evaluation went through.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvUse {
    pub name: String,
    pub span: Span,
    /// The value used: the environment's, or the default (`None` when nil).
    pub value: Option<String>,
    /// Where the value came from: the variable's origin, or `"the policy's default"`.
    pub origin: String,
}

/// A value not known statically: the span of the part that is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unknown(pub Span);

pub type Eval = Result<Option<Raw>, Unknown>;

/// What a name is bound to, for evaluation.
pub trait Scope {
    /// A constant value (`Ok(None)` is nil), or `None` when the name is not a known constant.
    fn constant(&self, name: &str) -> Option<Option<Raw>>;
}

/// Evaluate `e`; every `os.getenv` passed through is appended to `uses`.
pub fn eval(e: &Expr, scope: &dyn Scope, env: &Env, uses: &mut Vec<EnvUse>) -> Eval {
    match &e.kind {
        ExprKind::Nil => Ok(None),
        ExprKind::Bool(b) => Ok(Some(Raw::Bool(*b))),
        ExprKind::Num(n) => number(n).map(Some).ok_or(Unknown(e.span)),
        ExprKind::Str(s) => Ok(Some(Raw::Str(String::from_utf8_lossy(s).into_owned()))),
        ExprKind::Paren(inner) => eval(inner, scope, env, uses),
        ExprKind::Name(n) => scope.constant(n).ok_or(Unknown(e.span)),
        ExprKind::Table(fields) => table(fields, scope, env, uses).map(Some),
        ExprKind::Binary(op, a, b) => match *op {
            "or" => {
                let left = eval(a, scope, env, uses)?;
                if truthy(&left) {
                    Ok(left)
                } else {
                    eval(b, scope, env, uses)
                }
            }
            "and" => {
                let left = eval(a, scope, env, uses)?;
                if truthy(&left) {
                    eval(b, scope, env, uses)
                } else {
                    Ok(left)
                }
            }
            ".." => {
                let l = eval(a, scope, env, uses)?;
                let r = eval(b, scope, env, uses)?;
                match (concat_part(&l), concat_part(&r)) {
                    (Some(x), Some(y)) => Ok(Some(Raw::Str(x + &y))),
                    _ => Err(Unknown(e.span)),
                }
            }
            "==" | "~=" => {
                let l = eval(a, scope, env, uses)?;
                let r = eval(b, scope, env, uses)?;
                let same = l == r;
                Ok(Some(Raw::Bool(if *op == "==" { same } else { !same })))
            }
            _ => Err(Unknown(e.span)),
        },
        ExprKind::Unary("not", a) => Ok(Some(Raw::Bool(!truthy(&eval(a, scope, env, uses)?)))),
        ExprKind::Call(callee, args) => {
            let name = callee.dotted();
            match (name.as_deref(), args.as_slice()) {
                (Some("os.getenv"), [arg]) => {
                    let Some(var) = arg.as_str() else {
                        return Err(Unknown(arg.span));
                    };
                    let found = env.vars.get(&var);
                    uses.push(EnvUse {
                        name: var.clone(),
                        span: e.span,
                        value: found.map(|v| v.value.clone()),
                        origin: found.map_or_else(String::new, |v| v.origin.clone()),
                    });
                    Ok(found.map(|v| Raw::Str(v.value.clone())))
                }
                (Some("kumo.string.split"), [s, sep]) => {
                    let s = eval(s, scope, env, uses)?;
                    let sep = eval(sep, scope, env, uses)?;
                    match (s, sep) {
                        (Some(Raw::Str(s)), Some(Raw::Str(sep))) if !sep.is_empty() => {
                            Ok(Some(Raw::List(
                                s.split(sep.as_str())
                                    .map(|p| Raw::Str(p.to_string()))
                                    .collect(),
                            )))
                        }
                        _ => Err(Unknown(e.span)),
                    }
                }
                (Some("tostring"), [a]) => {
                    let v = eval(a, scope, env, uses)?;
                    match concat_part(&v) {
                        Some(s) => Ok(Some(Raw::Str(s))),
                        None => match v {
                            None => Ok(Some(Raw::Str("nil".into()))),
                            Some(Raw::Bool(b)) => Ok(Some(Raw::Str(b.to_string()))),
                            _ => Err(Unknown(e.span)),
                        },
                    }
                }
                (Some("tonumber"), [a]) => match eval(a, scope, env, uses)? {
                    Some(Raw::Str(s)) => Ok(number(s.trim())),
                    Some(n @ (Raw::Int(_) | Raw::Float(_))) => Ok(Some(n)),
                    _ => Ok(None),
                },
                _ => Err(Unknown(e.span)),
            }
        }
        _ => Err(Unknown(e.span)),
    }
}

fn truthy(v: &Option<Raw>) -> bool {
    !matches!(v, None | Some(Raw::Bool(false)))
}

fn concat_part(v: &Option<Raw>) -> Option<String> {
    match v {
        Some(Raw::Str(s)) => Some(s.clone()),
        Some(Raw::Int(n)) => Some(n.to_string()),
        Some(Raw::Float(f)) => Some(f.to_string()),
        _ => None,
    }
}

/// A Lua numeral: decimal or hex integers, decimal floats.
pub fn number(n: &str) -> Option<Raw> {
    if let Some(hex) = n.strip_prefix("0x").or_else(|| n.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16).ok().map(Raw::Int);
    }
    if let Ok(i) = n.parse::<i64>() {
        return Some(Raw::Int(i));
    }
    n.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Raw::Float)
}

fn table(
    fields: &[Field],
    scope: &dyn Scope,
    env: &Env,
    uses: &mut Vec<EnvUse>,
) -> Result<Raw, Unknown> {
    let items = fields.iter().all(|f| matches!(f, Field::Item(_)));
    if items && !fields.is_empty() {
        let mut out = Vec::new();
        for f in fields {
            if let Field::Item(e) = f {
                // A nil item ends a Lua sequence (`ipairs` stops there).
                match eval(e, scope, env, uses)? {
                    Some(v) => out.push(v),
                    None => break,
                }
            }
        }
        return Ok(Raw::List(out));
    }
    let mut out = Vec::new();
    for f in fields {
        let (key, value) = match f {
            Field::Named(k, _, v) => (k.clone(), v),
            Field::Keyed(k, v) => match eval(k, scope, env, uses)? {
                Some(Raw::Str(s)) => (s, v),
                _ => return Err(Unknown(k.span)),
            },
            Field::Item(v) => return Err(Unknown(v.span)),
        };
        if let Some(v) = eval(value, scope, env, uses)? {
            out.retain(|(k, _): &(String, Raw)| *k != key);
            out.push((key, v));
        }
    }
    Ok(Raw::Table(out))
}

/// `os.getenv("X") or LITERAL` (also through parentheses): the variable and the default.
pub fn getenv_or(e: &Expr) -> Option<(String, &Expr)> {
    match &e.kind {
        ExprKind::Paren(inner) => getenv_or(inner),
        ExprKind::Binary("or", a, b) => match &a.kind {
            ExprKind::Call(callee, args) if callee.dotted().as_deref() == Some("os.getenv") => {
                Some((args.first()?.as_str()?, b))
            }
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::import::lua::{StmtKind, parse};

    struct NoScope;
    impl Scope for NoScope {
        fn constant(&self, _: &str) -> Option<Option<Raw>> {
            None
        }
    }

    fn value(src: &str, env: &Env) -> (Eval, Vec<EnvUse>) {
        let b = parse(&format!("local x = {src}")).unwrap();
        let StmtKind::Local(_, v) = &b[0].kind else {
            unreachable!()
        };
        let mut uses = Vec::new();
        (eval(&v[0], &NoScope, env, &mut uses), uses)
    }

    #[test]
    fn environment_idioms() {
        let mut env = Env::default();
        let (v, uses) = value("os.getenv('A') or 'x'", &env);
        assert_eq!(v, Ok(Some(Raw::Str("x".into()))));
        assert_eq!(uses[0].value, None);
        env.vars.insert(
            "A".into(),
            EnvVar {
                value: "a,b".into(),
                origin: "--env-var".into(),
            },
        );
        let (v, _) = value("kumo.string.split(os.getenv('A') or '1', ',')", &env);
        assert_eq!(
            v,
            Ok(Some(Raw::List(vec![
                Raw::Str("a".into()),
                Raw::Str("b".into())
            ])))
        );
        let (v, _) = value("os.getenv('A') == 'true'", &env);
        assert_eq!(v, Ok(Some(Raw::Bool(false))));
        let (v, _) = value("{ a = 1, b = nil, c = { 'x', 2 } }", &env);
        assert_eq!(
            v,
            Ok(Some(Raw::Table(vec![
                ("a".into(), Raw::Int(1)),
                (
                    "c".into(),
                    Raw::List(vec![Raw::Str("x".into()), Raw::Int(2)])
                )
            ])))
        );
        assert!(value("string.format('%d', 1)", &env).0.is_err());
        assert!(value("REDIS_CLUSTER_MODE", &env).0.is_err());
        assert_eq!(
            value("'0:' .. 25", &env).0,
            Ok(Some(Raw::Str("0:25".into())))
        );
    }
}
