//! What each app should hold: the merged HR view mapped through the app's templates,
//! scope and group expressions. A person whose templates fail is quarantined for the app;
//! a person whose HR record was set aside at a source is frozen.

use std::collections::BTreeMap;
use std::sync::Arc;

use hrsync_connectors::source::{FieldRef, Person};

use super::read::HrView;
use crate::mapping::{MappedPerson, Mapper, Taken};
use crate::reconcile::DesiredPerson;

/// Maps every known person (present and absent) for one app. Apps with the same mapping
/// config share one mapping of the view's persons (see [`crate::mapping::SharedMapped`]).
pub fn desired_for_app(
    mapper: &Mapper,
    app: &str,
    view: &HrView,
) -> BTreeMap<String, DesiredPerson> {
    desired_of(mapper, app, view, &|_| true)
}

/// [`desired_for_app`] for the persons whose keys `include` accepts.
pub fn desired_of(
    mapper: &Mapper,
    app: &str,
    view: &HrView,
    include: &dyn Fn(&str) -> bool,
) -> BTreeMap<String, DesiredPerson> {
    // Chosen once: `include` is asked about each person one time.
    let persons: Vec<(&String, &Person, u32)> = view
        .present
        .iter()
        .map(|(k, p)| (k, p, 0))
        .chain(view.absent.iter().map(|(k, (p, absent))| (k, p, *absent)))
        .filter(|(k, _, _)| include(k))
        .collect();
    let mapped = mapper.map_all(app, persons.iter().map(|(_, p, _)| *p), &view.mapped);
    let mut each: Vec<(String, DesiredPerson)> = persons
        .into_iter()
        .zip(mapped.into_persons())
        .map(|((key, p, absent), m)| (key.clone(), desired(mapper, app, p, absent, m)))
        .collect();
    // Present and absent persons are each in key order: sorted as one, the map is built
    // with full nodes (inserting one by one leaves them half empty).
    each.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: BTreeMap<String, DesiredPerson> = each.into_iter().collect();
    for (key, why) in view.frozen.iter().filter(|(k, _)| include(k)) {
        // Known from the snapshot: the last record stands. Unknown: only the key is known,
        // which is enough to keep their account theirs.
        let d = out.entry(key.clone()).or_insert_with(|| unknown(key));
        d.frozen = Some(why.clone());
    }
    out
}

/// [`desired_for_app`] for an app's whole population, one map shared by the apps of its
/// mapping class (the same templates, scope and groups make the same desired persons)
/// unless a person failed to map.
pub fn desired_everyone(
    mapper: &Mapper,
    app: &str,
    view: &HrView,
) -> Arc<BTreeMap<String, DesiredPerson>> {
    let make = || Arc::new(desired_for_app(mapper, app, view));
    let Some((class, size)) = mapper.class_of(app) else {
        return make();
    };
    let taken = view.desired.take(class, size, || {
        let made = make();
        let whole = made.values().all(|p| p.mapping_error.is_none());
        ((made.clone(), whole), made)
    });
    match taken {
        Taken::Made(made) | Taken::Shared((made, true)) => made,
        Taken::Shared((_, false)) => make(),
    }
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
        attrs: Default::default(),
        groups: Default::default(),
        summary: None,
        mapping_error: None,
        frozen: None,
    }
}

/// The person as the app should hold them, from their mapping (None: it failed, and
/// mapping them again for this app gives the error that names the app's config key).
fn desired(
    mapper: &Mapper,
    app: &str,
    p: &Person,
    absent_cycles: u32,
    mapped: Option<MappedPerson>,
) -> DesiredPerson {
    let mut d = DesiredPerson {
        key: p.key.clone(),
        status: p.status,
        start_date: p.start_date,
        end_date: p.end_date,
        in_scope: true,
        absent_cycles,
        attrs: Default::default(),
        groups: Default::default(),
        summary: summary(p).map(Arc::from),
        mapping_error: None,
        frozen: None,
    };
    match mapped.map_or_else(|| mapper.map(app, p), Ok) {
        Ok(m) => {
            d.in_scope = m.in_scope;
            d.attrs = m.attrs;
            d.groups = m.groups;
        }
        Err(e) => d.mapping_error = Some(format!("mapping failed: {e}")),
    }
    d
}

/// "Engineering · Backend Engineer" from the usual field names, when present.
fn summary(p: &Person) -> Option<String> {
    let get = |names: &[&str]| {
        names.iter().find_map(|n| match p.fields.get(n) {
            Some(FieldRef::Text(s)) if !s.is_empty() => Some(s.to_owned()),
            _ => None,
        })
    };
    let parts: Vec<String> = [get(&["department", "dept"]), get(&["job_title", "title"])]
        .into_iter()
        .flatten()
        .collect();
    (!parts.is_empty()).then(|| parts.join(" · "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::AppMapping;
    use hrsync_connectors::source::{Lifecycle, Position};

    fn person(i: usize) -> Person {
        let fields = [
            ("email", format!("P{i}@Corp.example")),
            ("department", ["Sales", "Legal"][i % 2].to_string()),
        ];
        Person {
            key: format!("E{i}"),
            source: "hris".into(),
            status: Lifecycle::Active,
            start_date: None,
            end_date: None,
            manager_id: (i > 1).then(|| "E1".to_string()),
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
                .collect(),
            position: Position::Line(i as u64),
        }
    }

    /// Each app's desired persons with the apps sharing one view, and each with a view
    /// of its own (nothing to share).
    #[test]
    fn apps_sharing_a_mapping_get_what_each_would_map_alone() {
        let same: BTreeMap<String, String> = [
            ("userName".to_string(), "{{ email | lower }}".to_string()),
            ("manager".to_string(), "{{ manager_id | ref }}".to_string()),
        ]
        .into();
        let broken: BTreeMap<String, String> =
            [("userName".to_string(), "{{ email ~ (1 / 0) }}".to_string())].into();
        let app = |app, index, attributes| AppMapping {
            app,
            index,
            attributes,
            scope: Some("department == 'Sales'"),
            groups: vec![("{{ department | lower }}", None)],
        };
        let apps = [
            app("a", 0, &same),
            app("b", 1, &same),
            app("x", 2, &broken),
            app("y", 3, &broken),
        ];
        let mapper = Mapper::new(&apps).expect("compiles");
        let mut view = HrView::default();
        for i in 1..=6 {
            view.present.insert(format!("E{i}"), person(i));
        }
        view.absent.insert("E9".into(), (person(9), 2));
        view.frozen.insert("E3".into(), "set aside".into());
        let fresh = || HrView {
            mapped: Default::default(),
            ..view.clone()
        };
        let shared: Vec<_> = ["a", "b", "x", "y"]
            .iter()
            .map(|a| desired_for_app(&mapper, a, &view))
            .collect();
        for (i, name) in ["a", "b", "x", "y"].iter().enumerate() {
            let alone = desired_for_app(&mapper, name, &fresh());
            assert_eq!(format!("{:?}", shared[i]), format!("{alone:?}"), "{name}");
        }
        assert!(shared[0]["E2"].in_scope && !shared[0]["E1"].in_scope);
        // One copy of the values for the apps of a class, and of what their creates send.
        let (a, b) = (&shared[0]["E2"].attrs, &shared[1]["E2"].attrs);
        assert!(std::sync::Arc::ptr_eq(a.values(), b.values()));
        assert!(std::sync::Arc::ptr_eq(
            &a.values_with("E2"),
            &b.values_with("E2")
        ));
        assert_eq!(shared[0]["E9"].absent_cycles, 2);
        assert!(shared[0]["E3"].frozen.is_some());
        let err = |d: &BTreeMap<String, DesiredPerson>| d["E1"].mapping_error.clone();
        assert!(err(&shared[2]).is_some_and(|e| e.contains("apps[2]")));
        assert!(err(&shared[3]).is_some_and(|e| e.contains("apps[3]")));

        // The whole population: one map for a class whose persons all mapped; a class
        // with a failure gets a map per app, each naming its own config key.
        let view = fresh();
        let everyone: Vec<_> = ["a", "b", "x", "y"]
            .iter()
            .map(|a| desired_everyone(&mapper, a, &view))
            .collect();
        assert!(Arc::ptr_eq(&everyone[0], &everyone[1]));
        assert_eq!(*everyone[0], shared[0]);
        assert!(!Arc::ptr_eq(&everyone[2], &everyone[3]));
        assert!(err(&everyone[2]).is_some_and(|e| e.contains("apps[2]")));
        assert!(err(&everyone[3]).is_some_and(|e| e.contains("apps[3]")));
    }
}
