//! PATCH paths resolved against the schema: `attr`, `attr.sub`, `attr[filter]`,
//! `attr[filter].sub`, URN-prefixed attributes and a bare extension URN.

use super::super::error::ScimError;
use super::super::eval::{compile_relative, resolve, Node, Target};
use super::super::filter::{parse_attr_path, tokenize, ParseOptions, Parser, Token};
use super::super::schema::{AttrDef, Kind, Mutability, SchemaDef};

/// A resolved PATCH path.
#[derive(Debug)]
pub(super) enum PathTarget {
    /// A whole schema extension (`urn:…:enterprise:2.0:User`).
    Extension(&'static SchemaDef),
    /// An attribute, optionally narrowed by a value filter and then a sub-attribute.
    Attr {
        t: Target,
        filter: Option<Node>,
        sub_after: Option<&'static AttrDef>,
    },
}

pub(super) fn parse_path(
    kind: Kind,
    path: &str,
    opts: ParseOptions,
) -> Result<PathTarget, ScimError> {
    let bad = |m: String| ScimError::invalid_path(format!("path {path:?}: {m}"));
    let tokens = tokenize(path, opts).map_err(|e| bad(e.to_string()))?;
    let Some((Token::Word(head), _)) = tokens.first() else {
        return Err(bad("must start with an attribute".into()));
    };
    if tokens.len() == 1 {
        if let Some(e) = kind
            .extensions()
            .iter()
            .find(|e| e.id.eq_ignore_ascii_case(head))
        {
            return Ok(PathTarget::Extension(e));
        }
    }
    let ap = parse_attr_path(head).map_err(bad)?;
    let t = resolve(kind, &ap).map_err(bad)?;
    if matches!(t.parent.mutability, Mutability::ReadOnly) {
        return Err(ScimError::mutability(format!("{} is read-only", t.attr)));
    }
    if tokens.len() == 1 {
        return Ok(PathTarget::Attr {
            t,
            filter: None,
            sub_after: None,
        });
    }
    if tokens[1].0 != Token::LBracket || t.sub.is_some() || !t.parent.multi {
        return Err(bad(
            "a value filter applies only to a multi-valued attribute".into(),
        ));
    }
    let mut p = Parser::new(&tokens[2..], opts, path.chars().count());
    let f = p.parse_or(true).map_err(|e| bad(e.to_string()))?;
    p.expect(Token::RBracket, "']'")
        .map_err(|e| bad(e.to_string()))?;
    let rest = &tokens[2 + p.pos..];
    let sub_after = match rest {
        [] => None,
        [(Token::Word(w), _)] if w.starts_with('.') => Some(
            t.parent
                .sub_attr(&w[1..])
                .ok_or_else(|| bad(format!("{} has no sub-attribute {}", t.attr, &w[1..])))?,
        ),
        _ => return Err(bad("unexpected text after ']'".into())),
    };
    let filter = compile_relative(kind, &t, &f)?;
    Ok(PathTarget::Attr {
        t,
        filter: Some(filter),
        sub_after,
    })
}
