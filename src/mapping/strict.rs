//! Strict templates: every filter and test a template calls must exist (checked when the
//! config loads), and every variable it reads must be a field some source provides or a
//! field the mapping adds itself (checked once the sources are read, before any plan). A
//! misspelt field would otherwise render empty for everyone: a cleared title, a scope that
//! is false for all, a group nobody is in.

use std::collections::BTreeSet;

use hrsync_connectors::source::Person;
use minijinja::machinery::{get_compiled_template, Instruction, Instructions};
use minijinja::{Environment, ErrorKind, Template};

/// The fields the mapping adds to every person's context (see [`super::context`]); the
/// optional ones among them render empty when a person has none.
pub const BUILTINS: [&str; 6] = [
    "key",
    "status",
    "source",
    "start_date",
    "end_date",
    "manager_id",
];

/// The variables a template reads from the person's context (globals such as `range`
/// left out).
pub fn variables(env: &Environment<'_>, tmpl: &Template<'_, '_>) -> BTreeSet<String> {
    let globals: BTreeSet<&str> = env.globals().map(|(name, _)| name).collect();
    tmpl.undeclared_variables(false)
        .into_iter()
        .filter(|v| !globals.contains(v.as_str()))
        .collect()
}

/// The first filter or test the template calls that the environment does not have, as
/// `filter "lowr"` or `test "definedd"`.
pub fn unknown_callable(env: &Environment<'_>, tmpl: &Template<'_, '_>) -> Option<String> {
    let compiled = get_compiled_template(tmpl);
    let streams = std::iter::once(&compiled.instructions).chain(compiled.blocks.values());
    for instructions in streams {
        for (kind, name) in callables(instructions) {
            if !exists(env, kind, name) {
                return Some(format!("{kind} {name:?}"));
            }
        }
    }
    None
}

/// The filters and tests named in one instruction stream.
fn callables<'a>(instructions: &'a Instructions<'a>) -> Vec<(&'static str, &'a str)> {
    let mut out = Vec::new();
    let mut idx = 0u32;
    while let Some(instr) = instructions.get(idx) {
        match instr {
            Instruction::ApplyFilter(name, ..) => out.push(("filter", *name)),
            Instruction::PerformTest(name, ..) => out.push(("test", *name)),
            _ => {}
        }
        idx += 1;
    }
    out
}

/// Whether the environment has this filter or test: applying it to nothing fails for many
/// reasons, but "unknown" only when it is missing.
fn exists(env: &Environment<'_>, kind: &str, name: &str) -> bool {
    let name: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    // The name comes from the compiled template, so it is an identifier path and safe to
    // place in a probe template.
    let probe = match kind {
        "filter" => format!("{{{{ none | {name} }}}}"),
        _ => format!("{{{{ none is {name} }}}}"),
    };
    let missing = match kind {
        "filter" => ErrorKind::UnknownFilter,
        _ => ErrorKind::UnknownTest,
    };
    match env.render_str(&probe, ()) {
        Ok(_) => true,
        Err(e) => e.kind() != missing,
    }
}

/// Of the `needed` field names, those that no person carries with a value. Stops reading
/// persons as soon as every name was seen, so a correct config costs one person or two.
pub fn unprovided<'a>(
    mut needed: BTreeSet<String>,
    persons: impl Iterator<Item = &'a Person>,
) -> BTreeSet<String> {
    for p in persons {
        if needed.is_empty() {
            break;
        }
        needed.retain(|name| !p.fields.contains_key(name));
    }
    needed
}

/// A template or expression that reads fields no source provides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undefined {
    /// The app.
    pub app: String,
    /// The app's index in the config.
    pub app_index: usize,
    /// Which of the app's templates.
    pub slot: Slot,
    /// The fields it reads that nobody provides.
    pub names: Vec<String>,
}

/// Where one template or expression sits in an app's config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// `attributes.<SCIM path>`.
    Attribute(String),
    /// `scope`.
    Scope,
    /// `groups[i].name`.
    GroupName(usize),
    /// `groups[i].when`.
    GroupWhen(usize),
}
