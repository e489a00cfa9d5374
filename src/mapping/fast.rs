//! The fast path for the attribute templates people usually write: literal text and
//! `{{ field }}` placeholders, each optionally followed by `lower`, `upper`, `trim`, `ref`
//! or `default('text')`. Such a template is recognised once, when the config loads, and
//! rendered by joining strings, with the output the template engine gives (lenient
//! undefined: a missing field renders empty). Anything else — other syntax, other filters,
//! a field whose value is not a string — goes through the engine.

use std::borrow::Cow;

use hrsync_connectors::source::{FieldRef, Person};

use super::filters::REF_MARKER;

/// Names the fast path leaves to the engine: literals, operators, the engine's own
/// variables and globals. A field of such a name is rare; the engine renders it right.
const RESERVED: [&str; 22] = [
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "loop",
    "self",
    "super",
    "caller",
    "varargs",
    "kwargs",
    "range",
    "dict",
    "namespace",
];

/// A template the fast path can render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FastTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Field { name: String, filters: Vec<Filter> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Filter {
    Lower,
    Upper,
    Trim,
    Ref,
    Default(String),
}

/// A value while filters apply: undefined until a filter turns it into text.
enum Val<'a> {
    Undefined,
    Text(Cow<'a, str>),
}

impl FastTemplate {
    /// The fast form of `source`, or None when the engine must render it. `globals` are
    /// the environment's global names, which a placeholder must not name.
    pub fn parse(source: &str, globals: &[&str]) -> Option<FastTemplate> {
        let mut parts = Vec::new();
        let mut rest = source;
        while !rest.is_empty() {
            match rest.find("{{") {
                Some(0) => {
                    let end = rest.find("}}")?;
                    let part = placeholder(&rest[2..end])?;
                    if let Part::Field { name, .. } = &part {
                        if globals.contains(&name.as_str()) {
                            return None;
                        }
                    }
                    parts.push(part);
                    rest = &rest[end + 2..];
                }
                found => {
                    let end = found.unwrap_or(rest.len());
                    parts.push(Part::Text(text(&rest[..end])?.to_string()));
                    rest = &rest[end..];
                }
            }
        }
        Some(FastTemplate { parts })
    }

    /// The rendered text, or None when a field it reads holds something other than a
    /// string (the engine formats numbers, booleans and lists).
    pub fn render(&self, person: &Person) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Field { name, filters } => {
                    let mut v = lookup(person, name)?;
                    for f in filters {
                        v = apply(f, v);
                    }
                    if let Val::Text(t) = v {
                        out.push_str(&t);
                    }
                }
            }
        }
        Some(out)
    }
}

/// Literal text the engine passes through unchanged: no delimiters, and no line breaks
/// (the engine drops a template's trailing newline).
fn text(s: &str) -> Option<&str> {
    let plain = !s.contains(['{', '}', '#', '%', '\n', '\r']);
    plain.then_some(s)
}

/// `name | filter | filter('text')` between `{{` and `}}`, spaces allowed around each.
fn placeholder(inner: &str) -> Option<Part> {
    let mut pieces = inner.split('|');
    let name = pieces.next()?.trim_matches(' ');
    if !identifier(name) || RESERVED.contains(&name) {
        return None;
    }
    let filters = pieces.map(filter).collect::<Option<Vec<_>>>()?;
    Some(Part::Field {
        name: name.to_string(),
        filters,
    })
}

fn filter(piece: &str) -> Option<Filter> {
    let piece = piece.trim_matches(' ');
    Some(match piece {
        "lower" => Filter::Lower,
        "upper" => Filter::Upper,
        "trim" => Filter::Trim,
        "ref" => Filter::Ref,
        _ => {
            let arg = piece.strip_prefix("default(")?.strip_suffix(')')?;
            Filter::Default(string_literal(arg.trim_matches(' '))?.to_string())
        }
    })
}

/// A quoted string without escapes, quotes or delimiters inside.
fn string_literal(s: &str) -> Option<&str> {
    let q = s.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = s.strip_prefix(q)?.strip_suffix(q)?;
    let plain = !body.contains(['\'', '"', '\\', '{', '}', '|', '\n', '\r']);
    plain.then_some(body)
}

fn identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A field as the template context holds it (see [`super::context`]: the lifecycle
/// fields the mapping adds win over fields of the same name). None: not a string.
fn lookup<'a>(p: &'a Person, name: &str) -> Option<Val<'a>> {
    let builtin = match name {
        "key" => Some(Cow::Borrowed(p.key.as_str())),
        "status" => Some(Cow::Borrowed(p.status.as_str())),
        "source" => Some(Cow::Borrowed(p.source.as_str())),
        "start_date" => p.start_date.map(|d| Cow::Owned(d.to_string())),
        "end_date" => p.end_date.map(|d| Cow::Owned(d.to_string())),
        "manager_id" => p.manager_id.as_deref().map(Cow::Borrowed),
        _ => None,
    };
    if let Some(v) = builtin {
        return Some(Val::Text(v));
    }
    match p.fields.get(name) {
        None => Some(Val::Undefined),
        Some(FieldRef::Text(s)) => Some(Val::Text(Cow::Borrowed(s))),
        Some(FieldRef::Json(_)) => None,
    }
}

/// One filter, as the engine applies it (undefined reads as empty text).
fn apply<'a>(f: &Filter, v: Val<'a>) -> Val<'a> {
    let text = |v: &Val<'a>| match v {
        Val::Undefined => String::new(),
        Val::Text(t) => t.to_string(),
    };
    match f {
        Filter::Lower => Val::Text(Cow::Owned(text(&v).to_lowercase())),
        Filter::Upper => Val::Text(Cow::Owned(text(&v).to_uppercase())),
        Filter::Trim => Val::Text(Cow::Owned(text(&v).trim().to_string())),
        Filter::Default(d) => match v {
            Val::Undefined => Val::Text(Cow::Owned(d.clone())),
            kept => kept,
        },
        Filter::Ref => {
            let t = text(&v);
            let t = t.trim();
            if t.is_empty() {
                Val::Text(Cow::Borrowed(""))
            } else {
                Val::Text(Cow::Owned(format!("{REF_MARKER}{t}")))
            }
        }
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;
