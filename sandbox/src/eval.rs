//! Filters resolved against the schemas (unknown attributes and nonsensical comparisons are
//! `invalidFilter`) and evaluated on stored resources, honouring `caseExact` and
//! multi-valued "any value matches" semantics.

use std::cmp::Ordering;

use serde_json::Value;

use super::error::ScimError;
use super::filter::{AttrPath, CompValue, CompareOp, Filter};
use super::schema::{find, AttrDef, AttrType, Kind, COMMON};

/// Where an attribute lives and how its values compare.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// The extension URN holding it, `None` for core and common attributes.
    pub ext: Option<&'static str>,
    /// Canonical attribute name.
    pub attr: &'static str,
    /// Canonical sub-attribute name.
    pub sub: Option<&'static str>,
    /// The definition of the addressed (sub-)attribute.
    pub def: &'static AttrDef,
    /// The definition of the attribute itself.
    pub parent: &'static AttrDef,
}

/// A filter whose paths are resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// `attr op value`
    Cmp(Target, CompareOp, CompValue),
    /// `attr pr`
    Present(Target),
    /// both
    And(Box<Node>, Box<Node>),
    /// either
    Or(Box<Node>, Box<Node>),
    /// negation
    Not(Box<Node>),
    /// some element of the multi-valued attribute matches the inner node (relative paths)
    ValuePath(Target, Box<Node>),
}

/// An index lookup that narrows the candidates of a filter before evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    /// `id eq`
    Id(String),
    /// `userName eq` / group `displayName eq`, lowercased.
    Name(String),
    /// `externalId eq`
    ExternalId(String),
    /// `emails.value eq` / `emails[value eq …]`, lowercased.
    Email(String),
}

/// Resolves an attribute path of `kind` to its schema definition.
pub fn resolve(kind: Kind, path: &AttrPath) -> Result<Target, String> {
    let (ext, attrs): (Option<&'static str>, &'static [AttrDef]) = match &path.urn {
        None => (None, kind.core().attrs),
        Some(urn) if urn.eq_ignore_ascii_case(kind.core().id) => (None, kind.core().attrs),
        Some(urn) => match kind
            .extensions()
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(urn))
        {
            Some(e) => (Some(e.id), e.attrs),
            None => return Err(format!("unknown schema {urn}")),
        },
    };
    let parent = find(attrs, &path.name)
        .or_else(|| {
            if ext.is_none() {
                find(COMMON, &path.name)
            } else {
                None
            }
        })
        .ok_or_else(|| format!("unknown attribute {path}"))?;
    let (sub, def) = match &path.sub {
        None => (None, parent),
        Some(s) => {
            let d = parent
                .sub_attr(s)
                .ok_or_else(|| format!("unknown sub-attribute {path}"))?;
            (Some(d.name), d)
        }
    };
    Ok(Target {
        ext,
        attr: parent.name,
        sub,
        def,
        parent,
    })
}

fn check_cmp(def: &AttrDef, op: CompareOp, value: &CompValue, path: &str) -> Result<(), ScimError> {
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Lt | CompareOp::Ge | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    let bad = match value {
        CompValue::Null => !matches!(op, CompareOp::Eq | CompareOp::Ne),
        CompValue::Bool(_) => ordering || substring || def.ty != AttrType::Bool,
        CompValue::Num(_) => substring,
        CompValue::Str(_) => def.ty == AttrType::Bool,
    } || (def.ty == AttrType::Bool && ordering)
        || (def.ty == AttrType::Complex && def.sub.iter().all(|s| s.name != "value"));
    if bad {
        return Err(ScimError::invalid_filter(format!(
            "{op:?} with {value:?} cannot be applied to {path}"
        )));
    }
    Ok(())
}

/// Resolves every path of `filter` for `kind`.
pub fn compile(kind: Kind, filter: &Filter) -> Result<Node, ScimError> {
    compile_in(kind, filter, None)
}

/// Resolves the filter inside `attr[...]`, whose paths are sub-attributes of `parent`.
pub fn compile_relative(kind: Kind, parent: &Target, filter: &Filter) -> Result<Node, ScimError> {
    compile_in(kind, filter, Some(parent))
}

fn compile_in(kind: Kind, filter: &Filter, within: Option<&Target>) -> Result<Node, ScimError> {
    let target = |p: &AttrPath| -> Result<Target, ScimError> {
        match within {
            None => resolve(kind, p).map_err(ScimError::invalid_filter),
            Some(parent) => {
                if p.urn.is_some() || p.sub.is_some() {
                    return Err(ScimError::invalid_filter(format!(
                        "{p} inside a value path must be a sub-attribute of {}",
                        parent.attr
                    )));
                }
                let def = parent.parent.sub_attr(&p.name).ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "{} has no sub-attribute {}",
                        parent.attr, p.name
                    ))
                })?;
                Ok(Target {
                    ext: None,
                    attr: def.name,
                    sub: None,
                    def,
                    parent: def,
                })
            }
        }
    };
    Ok(match filter {
        Filter::Compare(p, op, v) => {
            let t = target(p)?;
            check_cmp(t.def, *op, v, &p.to_string())?;
            Node::Cmp(t, *op, v.clone())
        }
        Filter::Present(p) => Node::Present(target(p)?),
        Filter::And(a, b) => Node::And(
            Box::new(compile_in(kind, a, within)?),
            Box::new(compile_in(kind, b, within)?),
        ),
        Filter::Or(a, b) => Node::Or(
            Box::new(compile_in(kind, a, within)?),
            Box::new(compile_in(kind, b, within)?),
        ),
        Filter::Not(a) => Node::Not(Box::new(compile_in(kind, a, within)?)),
        Filter::ValuePath(p, inner) => {
            let t = target(p)?;
            if t.def.ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "{p} is not a complex attribute"
                )));
            }
            let inner = compile_in(kind, inner, Some(&t))?;
            Node::ValuePath(t, Box::new(inner))
        }
    })
}

impl Node {
    /// An index lookup implied by the filter (a conjunct of `eq` on an indexed attribute).
    pub fn hint(&self, kind: Kind) -> Option<Hint> {
        match self {
            Node::Cmp(t, CompareOp::Eq, CompValue::Str(v))
                if t.ext.is_none() && t.sub.is_none() =>
            {
                match (kind, t.attr) {
                    (_, "id") => Some(Hint::Id(v.clone())),
                    (_, "externalId") => Some(Hint::ExternalId(v.clone())),
                    (Kind::User, "userName") | (Kind::Group, "displayName") => {
                        Some(Hint::Name(v.to_lowercase()))
                    }
                    _ => None,
                }
            }
            Node::Cmp(t, CompareOp::Eq, CompValue::Str(v))
                if kind == Kind::User && t.ext.is_none() && t.attr == "emails" =>
            {
                matches!(t.sub, None | Some("value")).then(|| Hint::Email(v.to_lowercase()))
            }
            Node::ValuePath(t, inner) if kind == Kind::User && t.attr == "emails" => {
                match inner.as_ref() {
                    Node::Cmp(i, CompareOp::Eq, CompValue::Str(v)) if i.attr == "value" => {
                        Some(Hint::Email(v.to_lowercase()))
                    }
                    _ => None,
                }
            }
            Node::And(a, b) => a.hint(kind).or_else(|| b.hint(kind)),
            _ => None,
        }
    }

    /// Whether the filter reads the named top-level attribute.
    pub fn reads(&self, attr: &str) -> bool {
        match self {
            Node::Cmp(t, _, _) | Node::Present(t) => t.attr == attr,
            Node::ValuePath(t, _) => t.attr == attr,
            Node::And(a, b) | Node::Or(a, b) => a.reads(attr) || b.reads(attr),
            Node::Not(a) => a.reads(attr),
        }
    }

    /// Evaluates the filter on a resource (or, for value-path inner nodes, on one element).
    pub fn matches(&self, res: &Value) -> bool {
        match self {
            Node::Cmp(t, op, v) => {
                let vals = values(res, t);
                match op {
                    CompareOp::Ne => !vals.iter().any(|x| compare(x, CompareOp::Eq, v, t.def)),
                    CompareOp::Eq if *v == CompValue::Null => vals.is_empty(),
                    _ => vals.iter().any(|x| compare(x, *op, v, t.def)),
                }
            }
            Node::Present(t) => !values(res, t).is_empty(),
            Node::And(a, b) => a.matches(res) && b.matches(res),
            Node::Or(a, b) => a.matches(res) || b.matches(res),
            Node::Not(a) => !a.matches(res),
            Node::ValuePath(t, inner) => {
                let container = match t.ext {
                    Some(e) => res.get(e),
                    None => Some(res),
                };
                match container.and_then(|c| c.get(t.attr)) {
                    Some(Value::Array(items)) => items.iter().any(|i| inner.matches(i)),
                    Some(v @ Value::Object(_)) => inner.matches(v),
                    _ => false,
                }
            }
        }
    }
}

/// The non-empty values a target addresses on a resource, flattened over multi-values.
fn values<'a>(res: &'a Value, t: &Target) -> Vec<&'a Value> {
    let container = match t.ext {
        Some(e) => res.get(e),
        None => Some(res),
    };
    let Some(v) = container.and_then(|c| c.get(t.attr)) else {
        return Vec::new();
    };
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let key = t.sub.or(if t.parent.ty == AttrType::Complex {
        Some("value")
    } else {
        None
    });
    items
        .into_iter()
        .filter_map(|i| match (key, i) {
            (Some(k), Value::Object(m)) => m.get(k),
            (Some(_), _) => None,
            (None, other) => Some(other),
        })
        .filter(|v| present(v))
        .collect()
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

fn compare(actual: &Value, op: CompareOp, want: &CompValue, def: &AttrDef) -> bool {
    match (actual, want) {
        (Value::Bool(a), CompValue::Bool(b)) => match op {
            CompareOp::Eq => a == b,
            CompareOp::Ne => a != b,
            _ => false,
        },
        (Value::Number(a), CompValue::Num(b)) => a
            .as_f64()
            .and_then(|a| a.partial_cmp(b))
            .is_some_and(|o| ordering_matches(op, o)),
        (Value::String(a), CompValue::Str(b)) => {
            if def.ty == AttrType::DateTime {
                if let (Ok(x), Ok(y)) = (
                    chrono::DateTime::parse_from_rfc3339(a),
                    chrono::DateTime::parse_from_rfc3339(b),
                ) {
                    return ordering_matches(op, x.cmp(&y));
                }
            }
            let (a, b) = if def.case_exact {
                (a.clone(), b.clone())
            } else {
                (a.to_lowercase(), b.to_lowercase())
            };
            match op {
                CompareOp::Co => a.contains(&b),
                CompareOp::Sw => a.starts_with(&b),
                CompareOp::Ew => a.ends_with(&b),
                _ => ordering_matches(op, a.cmp(&b)),
            }
        }
        _ => false,
    }
}

fn ordering_matches(op: CompareOp, o: Ordering) -> bool {
    match op {
        CompareOp::Eq => o == Ordering::Equal,
        CompareOp::Ne => o != Ordering::Equal,
        CompareOp::Gt => o == Ordering::Greater,
        CompareOp::Lt => o == Ordering::Less,
        CompareOp::Ge => o != Ordering::Less,
        CompareOp::Le => o != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Orders two resources by the values at `t` (first value of a multi-valued attribute),
/// missing values last, as `sortBy` asks.
pub fn sort_cmp(a: &Value, b: &Value, t: &Target) -> Ordering {
    let key = |r: &Value| -> Option<String> {
        values(r, t).first().map(|v| match v {
            Value::String(s) if !t.def.case_exact => s.to_lowercase(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    };
    match (key(a), key(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
