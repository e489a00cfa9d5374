//! What each app should hold: the merged HR view mapped through the app's templates,
//! scope and group expressions. A person whose templates fail is quarantined for the app;
//! a person whose HR record was set aside at a source is frozen.

use std::collections::BTreeMap;

use hrsync_connectors::source::Person;
use serde_json::Value;

use super::read::HrView;
use crate::mapping::Mapper;
use crate::reconcile::DesiredPerson;

/// Maps every known person (present and absent) for one app.
pub fn desired_for_app(
    mapper: &Mapper,
    app: &str,
    view: &HrView,
) -> BTreeMap<String, DesiredPerson> {
    let mut out = BTreeMap::new();
    for (key, p) in &view.present {
        out.insert(key.clone(), desired(mapper, app, p, 0));
    }
    for (key, (p, absent)) in &view.absent {
        out.insert(key.clone(), desired(mapper, app, p, *absent));
    }
    for (key, why) in &view.frozen {
        // Known from the snapshot: the last record stands. Unknown: only the key is known,
        // which is enough to keep their account theirs.
        let d = out.entry(key.clone()).or_insert_with(|| unknown(key));
        d.frozen = Some(why.clone());
    }
    out
}

/// A person known by key only (their only record was set aside).
fn unknown(key: &str) -> DesiredPerson {
    DesiredPerson {
        key: key.to_string(),
        status: hrsync_connectors::source::Lifecycle::Active,
        start_date: None,
        end_date: None,
        in_scope: true,
        absent_cycles: 0,
        attrs: BTreeMap::new(),
        groups: Default::default(),
        summary: None,
        mapping_error: None,
        frozen: None,
    }
}

fn desired(mapper: &Mapper, app: &str, p: &Person, absent_cycles: u32) -> DesiredPerson {
    let mut d = DesiredPerson {
        key: p.key.clone(),
        status: p.status,
        start_date: p.start_date,
        end_date: p.end_date,
        in_scope: true,
        absent_cycles,
        attrs: BTreeMap::new(),
        groups: Default::default(),
        summary: summary(p),
        mapping_error: None,
        frozen: None,
    };
    let result = (|| -> Result<(), crate::mapping::MappingError> {
        d.in_scope = mapper.in_scope(app, p)?;
        d.attrs = mapper.attributes(app, p)?;
        d.groups = mapper.groups(app, p)?.into_iter().map(|(_, n)| n).collect();
        Ok(())
    })();
    if let Err(e) = result {
        d.mapping_error = Some(format!("mapping failed: {e}"));
    }
    d
}

/// "Engineering · Backend Engineer" from the usual field names, when present.
fn summary(p: &Person) -> Option<String> {
    let get = |names: &[&str]| {
        names.iter().find_map(|n| match p.fields.get(*n) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
    };
    let parts: Vec<String> = [get(&["department", "dept"]), get(&["job_title", "title"])]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}
