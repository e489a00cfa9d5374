//! Refuses filters the app does not understand (400 `invalidFilter`), from the profile's
//! filter grammar, before they are evaluated.

use hrsync_connectors::scim::profiles::{FilterRules, Profile};

use crate::error::ScimError;
use crate::filter::{AttrPath, CompareOp, Filter};

/// Refuses filters the app does not support, before they are evaluated.
pub fn check_filter(p: &Profile, f: &Filter) -> Result<(), ScimError> {
    let r = &p.filter_rules;
    let mut comparisons = 0usize;
    check_node(r, f, &mut comparisons)?;
    if r.max_comparisons.is_some_and(|m| comparisons > m) {
        return Err(ScimError::invalid_filter(format!(
            "{} supports only a single comparison per filter",
            p.name
        )));
    }
    Ok(())
}

fn path_allowed(r: &FilterRules, p: &AttrPath) -> bool {
    let Some(allowed) = r.attrs else { return true };
    let name = match &p.sub {
        Some(s) => format!("{}.{s}", p.name),
        None => p.name.clone(),
    };
    allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

fn refuse(what: &str) -> Result<(), ScimError> {
    Err(ScimError::invalid_filter(format!(
        "{what} is not supported by this app"
    )))
}

/// One comparison or presence test: its operator and its attribute.
fn check_term(r: &FilterRules, p: &AttrPath, op: Option<CompareOp>) -> Result<(), ScimError> {
    match op {
        Some(op) if r.eq_only && op != CompareOp::Eq => return refuse(&format!("operator {op:?}")),
        None if r.eq_only => return refuse("operator pr"),
        _ => {}
    }
    if !path_allowed(r, p) {
        return refuse(&format!("filtering on {p}"));
    }
    Ok(())
}

fn check_node(r: &FilterRules, f: &Filter, n: &mut usize) -> Result<(), ScimError> {
    match f {
        Filter::Compare(p, op, _) => {
            *n += 1;
            check_term(r, p, Some(*op))
        }
        Filter::Present(p) => {
            *n += 1;
            check_term(r, p, None)
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            let is_and = matches!(f, Filter::And(..));
            if (is_and && !r.and) || (!is_and && !r.or) {
                return refuse(if is_and { "and" } else { "or" });
            }
            check_node(r, a, n)?;
            check_node(r, b, n)
        }
        Filter::Not(a) => {
            if !r.not {
                return refuse("not");
            }
            check_node(r, a, n)
        }
        Filter::ValuePath(p, inner) => {
            if !r.value_paths || !path_allowed(r, p) {
                return refuse(&format!("value filter on {p}"));
            }
            let mut ignored = 0;
            check_node(r, inner, &mut ignored)?;
            *n += 1;
            Ok(())
        }
    }
}
