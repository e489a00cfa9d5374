//! Mapping: one minijinja environment per config that turns a person into each app's
//! desired SCIM attributes, decides scope, and names groups.

mod attr_map;
mod attrs;
mod context;
mod fast;
mod filters;
mod shared;
mod strict;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use hrsync_connectors::source::Person;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

pub use context::context;
use context::Lazy;
use fast::FastTemplate;

pub use attr_map::AttrMap;
pub use attrs::MappedAttrs;
pub use filters::{slug, REF_MARKER};
use shared::Pass;
pub use shared::{MappedAll, SharedByClass, SharedMapped, Taken};
pub use strict::{Slot, Undefined, BUILTINS};

/// A template or expression that failed to compile or render, with where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct MappingError {
    /// The config location, e.g. `apps[0].attributes."title"`.
    pub location: String,
    /// What minijinja said.
    pub message: String,
}

/// A value the mapping produced for one SCIM path.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Mapped {
    /// A plain value.
    Value(Value),
    /// A reference to another person by HR key (`| ref`), resolved to that person's
    /// account id in the app by the planner.
    PersonRef(String),
}

/// The compiled templates and expressions of every app.
pub struct Mapper {
    env: Environment<'static>,
    apps: BTreeMap<String, AppTemplates>,
    /// Tells this mapper's shared results from another's (a reloaded config's).
    id: u64,
    /// Per app: its class of apps with the same mapping config, and the class's size.
    classes: BTreeMap<String, (usize, usize)>,
    /// Per app: the digest of its mapping config (what settled persons were mapped with).
    digests: BTreeMap<String, [u8; 32]>,
}

/// Numbers mappers, so that shared results are never taken for another config's.
static MAPPERS: AtomicU64 = AtomicU64::new(0);

/// What makes two apps map a person the same way: attribute templates, scope, groups.
type MappingConfig<'a> = (
    &'a BTreeMap<String, String>,
    Option<&'a str>,
    &'a [(&'a str, Option<&'a str>)],
);

struct AppTemplates {
    index: usize,
    /// SCIM path, template name, and the fast form when the template has one.
    /// The path is shared by every person's mapped attributes.
    attributes: Vec<(Arc<str>, String, Option<FastTemplate>)>,
    scope: Option<String>,
    groups: Vec<GroupTemplates>,
    /// Every template of the app: where it sits, and the fields it reads.
    reads: Vec<(Slot, BTreeSet<String>)>,
}

struct GroupTemplates {
    name: String,
    when: Option<String>,
}

/// What an app's config asks of the mapper (paths → templates, scope, groups).
pub struct AppMapping<'a> {
    /// App name.
    pub app: &'a str,
    /// Config index of the app, for error locations.
    pub index: usize,
    /// SCIM path → template.
    pub attributes: &'a BTreeMap<String, String>,
    /// Scope expression.
    pub scope: Option<&'a str>,
    /// Group name template and `when` expression per `[[apps.groups]]`.
    pub groups: Vec<(&'a str, Option<&'a str>)>,
}

impl Mapper {
    /// Compiles every template and expression; a syntax error names its config key.
    pub fn new(apps: &[AppMapping<'_>]) -> Result<Mapper, MappingError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Lenient);
        filters::register(&mut env);
        let mut compiled = BTreeMap::new();
        for app in apps {
            compiled.insert(app.app.to_string(), compile_app(&mut env, app)?);
        }
        Ok(Mapper {
            env,
            apps: compiled,
            id: MAPPERS.fetch_add(1, Ordering::Relaxed),
            classes: classes(apps),
            digests: apps
                .iter()
                .map(|a| (a.app.to_string(), config_digest(a)))
                .collect(),
        })
    }

    /// A digest of the app's templates, scope and groups: equal digests map alike.
    pub fn config_digest(&self, app: &str) -> [u8; 32] {
        self.digests.get(app).copied().unwrap_or_default()
    }

    /// The app's class of apps that map alike, as a key of a [`SharedByClass`] cache, and
    /// the class's size; `None` when no other app maps like it.
    pub fn class_of(&self, app: &str) -> Option<((u64, usize), usize)> {
        match self.classes.get(app) {
            Some(&(class, size)) if size > 1 => Some(((self.id, class), size)),
            _ => None,
        }
    }

    /// Maps `persons` for the app. Apps of one class (the same templates, scope and
    /// groups) map once per `shared` cache, which the caller keeps for one HR view.
    pub fn map_all<'a>(
        &self,
        app: &str,
        persons: impl Iterator<Item = &'a Person>,
        shared: &SharedMapped,
    ) -> MappedAll {
        let Some(t) = self.apps.get(app) else {
            let persons = persons.map(|_| Some(MappedPerson::default())).collect();
            return MappedAll {
                persons: Arc::new(Pass {
                    at: Vec::new(),
                    persons,
                }),
            };
        };
        let persons: Vec<&Person> = persons.collect();
        let map = |at: Vec<usize>| {
            use rayon::prelude::*;
            // Each person maps on their own: every core takes a share, in order.
            let each = persons
                .par_iter()
                .with_min_len(512)
                .map(|p| self.map_with(t, &Lazy::new(p)).ok());
            Arc::new(Pass {
                at,
                persons: each.collect(),
            })
        };
        let persons = match self.class_of(app) {
            Some((class, size)) => {
                let at: Vec<usize> = persons
                    .iter()
                    .map(|p| std::ptr::from_ref(*p).addr())
                    .collect();
                let pass = shared.0.get_or_make(class, size, || map(at.clone()));
                // Another app of the class mapped other persons: map this app's own.
                if pass.at == at {
                    pass
                } else {
                    map(Vec::new())
                }
            }
            _ => map(Vec::new()),
        };
        MappedAll { persons }
    }

    /// Every template and expression of every app: the app's config index and its slot.
    pub fn slots(&self) -> impl Iterator<Item = (usize, Slot)> + '_ {
        self.apps
            .values()
            .flat_map(|t| t.reads.iter().map(|(slot, _)| (t.index, slot.clone())))
    }

    /// The templates of the apps `selected` accepts that read fields which are neither
    /// [`BUILTINS`], nor `declared` by a source's config, nor carried by any of `persons`.
    /// Empty when every field a template reads is provided.
    pub fn undefined<'a>(
        &self,
        selected: impl Fn(&str) -> bool,
        declared: &BTreeSet<String>,
        persons: impl Iterator<Item = &'a Person>,
    ) -> Vec<Undefined> {
        let apps: Vec<(&String, &AppTemplates)> =
            self.apps.iter().filter(|(a, _)| selected(a)).collect();
        let needed: BTreeSet<String> = apps
            .iter()
            .flat_map(|(_, t)| t.reads.iter().flat_map(|(_, vars)| vars.iter()))
            .filter(|v| !BUILTINS.contains(&v.as_str()) && !declared.contains(*v))
            .cloned()
            .collect();
        let missing = strict::unprovided(needed, persons);
        let mut out = Vec::new();
        for (app, t) in apps {
            for (slot, vars) in &t.reads {
                let names: Vec<String> = vars.intersection(&missing).cloned().collect();
                if !names.is_empty() {
                    out.push(Undefined {
                        app: app.clone(),
                        app_index: t.index,
                        slot: slot.clone(),
                        names,
                    });
                }
            }
        }
        out.sort_by_key(|u| u.app_index);
        out
    }

    /// Whether the person is in the app's scope (no scope expression: everyone).
    pub fn in_scope(&self, app: &str, person: &Person) -> Result<bool, MappingError> {
        match self.apps.get(app) {
            Some(t) => self.scope_of(t, &Lazy::new(person)),
            None => Ok(false),
        }
    }

    /// The app's SCIM attributes for the person; empty renderings are left out.
    pub fn attributes(
        &self,
        app: &str,
        person: &Person,
    ) -> Result<BTreeMap<String, Mapped>, MappingError> {
        match self.apps.get(app) {
            Some(t) => Ok(self
                .attributes_of(t, &Lazy::new(person))?
                .into_iter()
                .map(|(p, m)| (p.to_string(), m))
                .collect()),
            None => Ok(BTreeMap::new()),
        }
    }

    /// The names of the app's groups the person belongs to.
    pub fn groups(&self, app: &str, person: &Person) -> Result<Vec<(usize, String)>, MappingError> {
        match self.apps.get(app) {
            Some(t) => self.groups_of(t, &Lazy::new(person)),
            None => Ok(Vec::new()),
        }
    }

    /// Scope, attributes and group names of the person in the app, from one template
    /// context (built only if some template needs the engine).
    pub fn map(&self, app: &str, person: &Person) -> Result<MappedPerson, MappingError> {
        let Some(t) = self.apps.get(app) else {
            return Ok(MappedPerson::default());
        };
        self.map_with(t, &Lazy::new(person))
    }

    fn map_with(&self, t: &AppTemplates, p: &Lazy<'_>) -> Result<MappedPerson, MappingError> {
        Ok(MappedPerson {
            in_scope: self.scope_of(t, p)?,
            attrs: MappedAttrs::sent(self.attributes_of(t, p)?, &p.person.key),
            groups: self.groups_of(t, p)?.into_iter().map(|(_, n)| n).collect(),
        })
    }

    fn scope_of(&self, t: &AppTemplates, p: &Lazy<'_>) -> Result<bool, MappingError> {
        match &t.scope {
            None => Ok(true),
            Some(name) => Ok(self.render(name, p.ctx(), &p.person.key)?.trim() == "1"),
        }
    }

    fn attributes_of(
        &self,
        t: &AppTemplates,
        p: &Lazy<'_>,
    ) -> Result<Vec<(Arc<str>, Mapped)>, MappingError> {
        let values = self.attribute_values(t, p)?;
        let paths = t.attributes.iter().map(|(path, _, _)| path);
        Ok(paths
            .zip(values)
            .filter_map(|(path, v)| Some((path.clone(), v?)))
            .collect())
    }

    /// Each attribute's value in the order of the app's paths; None: rendered empty.
    fn attribute_values(
        &self,
        t: &AppTemplates,
        p: &Lazy<'_>,
    ) -> Result<Vec<Option<Mapped>>, MappingError> {
        let mut out = Vec::with_capacity(t.attributes.len());
        for (path, name, fast) in &t.attributes {
            let rendered = match fast.as_ref().and_then(|f| f.render(p.person)) {
                Some(r) => r,
                None => self.render(name, p.ctx(), &p.person.key)?,
            };
            out.push(value_of(path, rendered.trim()));
        }
        Ok(out)
    }

    fn groups_of(
        &self,
        t: &AppTemplates,
        p: &Lazy<'_>,
    ) -> Result<Vec<(usize, String)>, MappingError> {
        let mut out = Vec::new();
        for (i, g) in t.groups.iter().enumerate() {
            if let Some(w) = &g.when {
                if self.render(w, p.ctx(), &p.person.key)?.trim() != "1" {
                    continue;
                }
            }
            let name = self.render(&g.name, p.ctx(), &p.person.key)?;
            let name = name.trim();
            if !name.is_empty() {
                out.push((i, name.to_string()));
            }
        }
        Ok(out)
    }

    fn render(
        &self,
        name: &str,
        ctx: &minijinja::Value,
        key: &str,
    ) -> Result<String, MappingError> {
        let tmpl = self.env.get_template(name).map_err(|e| MappingError {
            location: name.to_string(),
            message: e.to_string(),
        })?;
        tmpl.render(ctx).map_err(|e| MappingError {
            location: format!("{name} for {key}"),
            message: describe(&e),
        })
    }
}

/// The class of each app: apps with the same mapping config share one, numbered by its
/// first app; with the number of apps in it.
/// The digest of one app's mapping config.
fn config_digest(app: &AppMapping<'_>) -> [u8; 32] {
    use sha2::Digest as _;
    let text = format!("{:?}", (app.attributes, app.scope, &app.groups));
    sha2::Sha256::digest(text.as_bytes()).into()
}

fn classes(apps: &[AppMapping<'_>]) -> BTreeMap<String, (usize, usize)> {
    let mut first: BTreeMap<MappingConfig<'_>, (usize, usize)> = BTreeMap::new();
    for (i, a) in apps.iter().enumerate() {
        first
            .entry((a.attributes, a.scope, &a.groups[..]))
            .or_insert((i, 0))
            .1 += 1;
    }
    apps.iter()
        .filter_map(|a| {
            let class = first.get(&(a.attributes, a.scope, &a.groups[..]))?;
            Some((a.app.to_string(), *class))
        })
        .collect()
}

/// Adds one app's templates to the environment, each named by its config key.
fn compile_app(
    env: &mut Environment<'static>,
    app: &AppMapping<'_>,
) -> Result<AppTemplates, MappingError> {
    let mut t = AppTemplates {
        index: app.index,
        attributes: Vec::new(),
        scope: None,
        groups: Vec::new(),
        reads: Vec::new(),
    };
    for (path, source) in app.attributes {
        let name = format!("apps[{}].attributes.{:?}", app.index, path);
        add(env, &name, source.clone())?;
        t.reads
            .push((Slot::Attribute(path.clone()), reads_of(env, &name)));
        // The fast path writes no escapes: it serves only names the engine does not
        // escape, which an attribute's name (ending in a quote) always is.
        let globals: Vec<&str> = env.globals().map(|(g, _)| g).collect();
        let fast = name
            .ends_with('"')
            .then(|| FastTemplate::parse(source, &globals))
            .flatten();
        t.attributes.push((Arc::from(path.as_str()), name, fast));
    }
    if let Some(expr) = app.scope {
        let name = format!("apps[{}].scope", app.index);
        add(env, &name, condition_template(expr))?;
        t.reads.push((Slot::Scope, reads_of(env, &name)));
        t.scope = Some(name);
    }
    for (gi, (tmpl, when)) in app.groups.iter().enumerate() {
        let name = format!("apps[{}].groups[{gi}].name", app.index);
        add(env, &name, (*tmpl).to_string())?;
        t.reads.push((Slot::GroupName(gi), reads_of(env, &name)));
        let when = match when {
            Some(expr) => {
                let w = format!("apps[{}].groups[{gi}].when", app.index);
                add(env, &w, condition_template(expr))?;
                t.reads.push((Slot::GroupWhen(gi), reads_of(env, &w)));
                Some(w)
            }
            None => None,
        };
        t.groups.push(GroupTemplates { name, when });
    }
    Ok(t)
}

/// The fields one compiled template reads (none if it cannot be found, which cannot happen
/// for a name just added).
fn reads_of(env: &Environment<'static>, name: &str) -> BTreeSet<String> {
    env.get_template(name)
        .map(|t| strict::variables(env, &t))
        .unwrap_or_default()
}

fn add(env: &mut Environment<'static>, name: &str, source: String) -> Result<(), MappingError> {
    env.add_template_owned(name.to_string(), source)
        .map_err(|e| MappingError {
            location: name.to_string(),
            message: describe(&e),
        })
}

fn describe(e: &minijinja::Error) -> String {
    let mut s = e.to_string();
    if let Some(d) = e.detail() {
        if !s.contains(d) {
            s.push_str(": ");
            s.push_str(d);
        }
    }
    s
}

/// Wraps a boolean expression so that rendering yields `1` when it is truthy.
fn condition_template(expr: &str) -> String {
    format!("{{% if ({expr}) %}}1{{% endif %}}")
}

/// What the mapping makes of one person for one app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MappedPerson {
    /// Whether the app's scope selects them.
    pub in_scope: bool,
    /// SCIM path → value; empty renderings left out.
    pub attrs: MappedAttrs,
    /// Names of the app's groups they belong to.
    pub groups: BTreeSet<String>,
}

/// A rendered attribute: nothing when empty, a reference to another person when `ref`
/// marked it, otherwise its typed value.
fn value_of(path: &str, trimmed: &str) -> Option<Mapped> {
    if trimmed.is_empty() {
        return None;
    }
    match trimmed.strip_prefix(REF_MARKER) {
        Some("") => None,
        Some(key) => Some(Mapped::PersonRef(key.to_string())),
        None => Some(Mapped::Value(typed_value(path, trimmed))),
    }
}

/// Templates render text; SCIM booleans must travel as JSON booleans.
fn typed_value(path: &str, text: &str) -> Value {
    let leaf = path.rsplit([':', '.']).next().unwrap_or(path);
    let boolean_leaf = matches!(leaf.to_ascii_lowercase().as_str(), "active" | "primary");
    if boolean_leaf {
        match text.to_ascii_lowercase().as_str() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    Value::String(text.to_string())
}

#[cfg(test)]
mod tests;

/// Checks a template's syntax and that every filter and test it calls exists (for config
/// validation); the error is minijinja's message, or names the unknown filter.
pub fn check_template(source: &str) -> Result<(), String> {
    let mut env = Environment::new();
    filters::register(&mut env);
    let tmpl = env.template_from_str(source).map_err(|e| describe(&e))?;
    match strict::unknown_callable(&env, &tmpl) {
        Some(what) => Err(format!("unknown {what}")),
        None => Ok(()),
    }
}

/// Checks a boolean expression (scope, `when`) like [`check_template`].
pub fn check_expression(source: &str) -> Result<(), String> {
    let mut env = Environment::new();
    filters::register(&mut env);
    env.compile_expression(source).map_err(|e| describe(&e))?;
    let wrapped = condition_template(source);
    let tmpl = env.template_from_str(&wrapped).map_err(|e| describe(&e))?;
    match strict::unknown_callable(&env, &tmpl) {
        Some(what) => Err(format!("unknown {what}")),
        None => Ok(()),
    }
}
