//! Tests of templates, scope and group expressions.

use super::*;
use hrsync_connectors::source::{Lifecycle, Position};

fn person(key: &str, fields: &[(&str, &str)]) -> Person {
    Person {
        key: key.into(),
        source: "hris".into(),
        status: Lifecycle::Active,
        start_date: None,
        end_date: None,
        manager_id: Some("E1".into()),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
        position: Position::Line(2),
    }
}

fn mapper(attrs: &[(&str, &str)], scope: Option<&str>) -> Mapper {
    let attributes: BTreeMap<String, String> = attrs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Mapper::new(&[AppMapping {
        app: "a",
        index: 0,
        attributes: &attributes,
        scope,
        groups: vec![("dept-{{ department | slug }}", Some("status == 'active'"))],
    }])
    .expect("compiles")
}

#[test]
fn renders_paths_and_leaves_out_empty_values() {
    let m = mapper(
        &[
            ("userName", "{{ email | lower }}"),
            ("emails[type eq \"work\"].value", "{{ email }}"),
            ("title", "{{ job_title }}"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "{{ manager_id | ref }}",
            ),
        ],
        None,
    );
    let p = person("E2", &[("email", "Ana.Lima@Corp.example")]);
    let attrs = m.attributes("a", &p).expect("renders");
    assert_eq!(
        attrs.get("userName"),
        Some(&Mapped::Value(Value::String(
            "ana.lima@corp.example".into()
        )))
    );
    assert_eq!(
        attrs.get("emails[type eq \"work\"].value"),
        Some(&Mapped::Value(Value::String(
            "Ana.Lima@Corp.example".into()
        )))
    );
    assert!(!attrs.contains_key("title"), "empty title is left out");
    assert_eq!(
        attrs.get("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"),
        Some(&Mapped::PersonRef("E1".into()))
    );
}

#[test]
fn scope_expression_filters_persons() {
    let m = mapper(
        &[("userName", "{{ email }}")],
        Some("department in ['Engineering', 'Sales'] and worker_type != 'contractor'"),
    );
    let eng = person(
        "E1",
        &[("department", "Engineering"), ("worker_type", "employee")],
    );
    let con = person(
        "E2",
        &[("department", "Sales"), ("worker_type", "contractor")],
    );
    let hr = person("E3", &[("department", "People")]);
    assert!(m.in_scope("a", &eng).expect("eval"));
    assert!(!m.in_scope("a", &con).expect("eval"));
    assert!(!m.in_scope("a", &hr).expect("eval"));
}

#[test]
fn syntax_errors_name_the_config_key() {
    let attributes: BTreeMap<String, String> =
        [("title".to_string(), "{{ job_title ".to_string())].into();
    let err = Mapper::new(&[AppMapping {
        app: "a",
        index: 3,
        attributes: &attributes,
        scope: None,
        groups: vec![],
    }])
    .err()
    .expect("syntax error");
    assert!(err.location.contains("apps[3].attributes"), "{err}");
}

#[test]
fn group_names_use_slug_and_when() {
    let m = mapper(&[("userName", "{{ email }}")], None);
    let p = person("E1", &[("department", "R&D  Team")]);
    assert_eq!(
        m.groups("a", &p).expect("groups"),
        vec![(0, "dept-r-d-team".to_string())]
    );
    let mut gone = p.clone();
    gone.status = Lifecycle::Terminated;
    assert!(m.groups("a", &gone).expect("groups").is_empty());
}

#[test]
fn booleans_are_typed() {
    let m = mapper(&[("active", "{{ 'True' }}")], None);
    let attrs = m.attributes("a", &person("E1", &[])).expect("renders");
    assert_eq!(attrs.get("active"), Some(&Mapped::Value(Value::Bool(true))));
}

#[test]
fn the_fields_a_template_reads_leave_out_loop_variables_and_globals() {
    let attributes: BTreeMap<String, String> = [(
        "userName".to_string(),
        "{% set ns = namespace(n=0) %}{% for g in teams %}{{ loop.index }}{{ g }}{% endfor %}{{ range(2) | length }}{{ email }}{{ ns.n }}".to_string(),
    )]
    .into();
    let m = Mapper::new(&[AppMapping {
        app: "a",
        index: 0,
        attributes: &attributes,
        scope: Some("department == 'X' and status == 'active'"),
        groups: vec![("{{ team | slug }}", None)],
    }])
    .expect("compiles");
    let declared = BTreeSet::new();
    let none: Vec<Person> = Vec::new();
    let mut names: Vec<String> = m
        .undefined(|_| true, &declared, none.iter())
        .into_iter()
        .flat_map(|u| u.names)
        .collect();
    names.sort();
    assert_eq!(names, ["department", "email", "team", "teams"]);
    let read = [person(
        "E1",
        &[
            ("email", "a@x"),
            ("department", "X"),
            ("team", "t"),
            ("teams", "t"),
        ],
    )];
    assert!(m.undefined(|_| true, &declared, read.iter()).is_empty());
    assert!(m
        .undefined(|app| app != "a", &declared, none.iter())
        .is_empty());
}
