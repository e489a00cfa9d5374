//! Settling on the app's own form: an app may store a value in a form of its own (it
//! lowercases an e-mail, rewrites `@` in a userName, reformats a phone number). After a
//! write, the engine keeps the value the app returned for each attribute it wrote, keyed by
//! the value it sent; an app value equal to the kept form of the current desired value is
//! in step, so it is neither pushed again, reported as drift, nor a conflict.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

/// The value an app returned for one attribute, and the value hrsync had sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// What hrsync sent.
    pub sent: Value,
    /// What the app returned for it.
    pub got: Value,
}

/// Kept forms of one person's attributes, by SCIM path.
pub type PersonForms = BTreeMap<String, Form>;

/// Kept forms of one app's persons, by HR key.
pub type KeptForms = BTreeMap<String, PersonForms>;

/// The app's values with every value that is the kept form of the desired one replaced by
/// the desired value itself, so that the diff sees them as equal. Borrowed when nothing
/// is replaced (most persons of most apps).
pub fn in_own_form<'t>(
    theirs: &'t BTreeMap<String, Value>,
    ours: &BTreeMap<String, Value>,
    kept: Option<&PersonForms>,
) -> Cow<'t, BTreeMap<String, Value>> {
    let Some(kept) = kept else {
        return Cow::Borrowed(theirs);
    };
    let mut out = Cow::Borrowed(theirs);
    for (path, form) in kept {
        let (Some(o), Some(t)) = (ours.get(path), theirs.get(path)) else {
            continue;
        };
        if o != t && *o == form.sent && *t == form.got {
            out.to_mut().insert(path.clone(), o.clone());
        }
    }
    out
}

/// What a write teaches about the app's forms: for each path sent, the value the app
/// returned when it differs (`keep`), or the path alone when the app kept the value as
/// sent (`drop`: any older form is stale). Paths the answer does not show teach nothing.
pub fn learned(
    sent: &BTreeMap<String, Value>,
    returned: &BTreeMap<String, Value>,
) -> (PersonForms, Vec<String>) {
    let mut keep = PersonForms::new();
    let mut drop = Vec::new();
    for (path, s) in sent {
        match returned.get(path) {
            Some(got) if got != s && !got.is_null() => {
                keep.insert(
                    path.clone(),
                    Form {
                        sent: s.clone(),
                        got: got.clone(),
                    },
                );
            }
            Some(_) => drop.push(path.clone()),
            None => {}
        }
    }
    (keep, drop)
}
