//! Strict templates, the half that needs the HR data: once the sources are read, every field
//! a template or expression of the apps being planned reads must be provided by some source
//! (or be one the mapping adds). Otherwise the cycle stops before any plan with a
//! configuration error naming the app, the key and its line: a misspelt field would render
//! empty for everyone and clear a title, empty a scope or a group.

use std::collections::BTreeSet;

use hrsync_connectors::source::Person;

use super::locate::{self, Step};
use super::{ConfigError, Located, Settings};
use crate::mapping::{Slot, Undefined};

/// How many provided field names an error lists, to hint at the intended one.
const MAX_LISTED: usize = 40;

/// Checks the templates of the apps in `apps` (all when empty) against the fields the
/// persons of this read carry and the sources declare.
pub fn check_fields<'a>(
    settings: &Settings,
    apps: &[String],
    persons: impl Iterator<Item = &'a Person> + Clone,
) -> Result<(), ConfigError> {
    let declared = declared_fields(settings);
    let selected = |app: &str| apps.is_empty() || apps.iter().any(|a| a == app);
    // In the order of the file: the first one is the error's key and line.
    let mut undefined: Vec<(String, Option<usize>, Undefined)> = settings
        .mapper
        .undefined(selected, &declared, persons.clone())
        .into_iter()
        .map(|u| {
            let key = locate::render(&slot_path(u.app_index, &u.slot));
            let line = settings.template_lines.get(&key).copied();
            (key, line, u)
        })
        .collect();
    undefined.sort_by_key(|(_, line, u)| (u.app_index, *line));
    let Some((key, line, first)) = undefined.first() else {
        return Ok(());
    };
    let mut message = format!(
        "app {:?} reads {}, which no source provides ({})",
        first.app,
        quoted(&first.names),
        provided_hint(&declared, persons),
    );
    for (key, line, more) in undefined.iter().skip(1) {
        let at = line.map(|l| format!("line {l}: ")).unwrap_or_default();
        message.push_str(&format!("; also {at}{key} reads {}", quoted(&more.names)));
    }
    Err(ConfigError {
        file: settings.file.display().to_string(),
        line: *line,
        key: Some(key.clone()),
        message,
    })
}

/// "`a`, `b`".
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// The names the sources do provide, so the user sees the intended one.
fn provided_hint<'a>(
    declared: &BTreeSet<String>,
    persons: impl Iterator<Item = &'a Person>,
) -> String {
    let mut names: BTreeSet<&str> = crate::mapping::BUILTINS.iter().copied().collect();
    names.extend(declared.iter().map(String::as_str));
    // The first few persons show the usual fields; reading all would not add to a hint.
    for p in persons.take(100) {
        names.extend(p.fields.keys());
    }
    let listed: Vec<&str> = names.iter().take(MAX_LISTED).copied().collect();
    let more = names.len().saturating_sub(MAX_LISTED);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!("fields provided: {}{tail}", listed.join(", "))
}

/// The field names the sources' configs name: `fields` entries, the key and `required`,
/// provided even when every record leaves them empty.
fn declared_fields(settings: &Settings) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in &settings.sources {
        let c = &s.config;
        out.extend(c.common.fields.keys().cloned());
        out.extend(c.common.required.iter().cloned());
        out.insert(c.key().to_string());
    }
    out
}

/// The key path of one template of app `index`.
pub(super) fn slot_path(index: usize, slot: &Slot) -> Vec<Step> {
    let k = |s: &str| Step::Key(s.to_string());
    let mut p = vec![k("apps"), Step::Index(index)];
    match slot {
        Slot::Attribute(path) => p.extend([k("attributes"), k(path)]),
        Slot::Scope => p.push(k("scope")),
        Slot::GroupName(g) => p.extend([k("groups"), Step::Index(*g), k("name")]),
        Slot::GroupWhen(g) => p.extend([k("groups"), Step::Index(*g), k("when")]),
    }
    p
}

/// The line of every template of the file, by rendered key path, for errors raised after
/// the file was read.
pub(super) fn template_lines(
    loc: &Located<'_>,
    slots: impl Iterator<Item = (usize, Slot)>,
) -> std::collections::BTreeMap<String, usize> {
    slots
        .filter_map(|(i, slot)| {
            let path = slot_path(i, &slot);
            let line = locate::line_of(loc.text, &path)?;
            Some((locate::render(&path), line))
        })
        .collect()
}
