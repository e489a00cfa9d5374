//! The template context of a person: their fields plus the lifecycle fields the mapping
//! adds, built when a template first needs the engine.

use std::cell::OnceCell;
use std::collections::BTreeMap;

use hrsync_connectors::source::Person;
use serde_json::Value;

/// A person and their template context, built on first use: the fast path never needs it.
pub(super) struct Lazy<'a> {
    pub(super) person: &'a Person,
    ctx: OnceCell<minijinja::Value>,
}

impl<'a> Lazy<'a> {
    pub(super) fn new(person: &'a Person) -> Self {
        Lazy {
            person,
            ctx: OnceCell::new(),
        }
    }

    pub(super) fn ctx(&self) -> &minijinja::Value {
        self.ctx.get_or_init(|| context(self.person))
    }
}

/// The template context of a person: its fields plus the lifecycle fields.
pub fn context(person: &Person) -> minijinja::Value {
    let mut map: BTreeMap<String, Value> = person.fields.to_map();
    map.insert("key".into(), Value::String(person.key.clone()));
    map.insert(
        "status".into(),
        Value::String(person.status.as_str().into()),
    );
    map.insert("source".into(), Value::String(person.source.clone()));
    if let Some(d) = person.start_date {
        map.insert("start_date".into(), Value::String(d.to_string()));
    }
    if let Some(d) = person.end_date {
        map.insert("end_date".into(), Value::String(d.to_string()));
    }
    if let Some(m) = &person.manager_id {
        map.insert("manager_id".into(), Value::String(m.clone()));
    }
    minijinja::Value::from(minijinja::value::Serde(map))
}
