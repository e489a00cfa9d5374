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

/// Two apps with the same mapping config and a third with another.
fn three_apps() -> Mapper {
    let same: BTreeMap<String, String> = [
        ("userName".to_string(), "{{ email | lower }}".to_string()),
        ("title".to_string(), "{{ job_title | title }}".to_string()),
    ]
    .into();
    let other: BTreeMap<String, String> =
        [("userName".to_string(), "{{ email | upper }}".to_string())].into();
    let app = |app, index, attributes| AppMapping {
        app,
        index,
        attributes,
        scope: Some("department == 'Sales'"),
        groups: vec![("{{ department | slug }}", None)],
    };
    Mapper::new(&[app("a", 0, &same), app("b", 1, &same), app("c", 2, &other)]).expect("compiles")
}

#[test]
fn apps_with_the_same_mapping_map_once_and_agree_with_mapping_each() {
    let m = three_apps();
    let persons = [
        person(
            "E1",
            &[
                ("email", "A@X"),
                ("department", "Sales"),
                ("job_title", "rep"),
            ],
        ),
        person("E2", &[("email", "B@X"), ("department", "Legal")]),
    ];
    let shared = SharedMapped::default();
    let a = m.map_all("a", persons.iter(), &shared);
    let b = m.map_all("b", persons.iter(), &shared);
    let c = m.map_all("c", persons.iter(), &shared);
    assert!(a.shares(&b), "the second app takes the first one's mapping");
    assert!(!a.shares(&c), "another mapping config maps anew");
    let all = |m: &MappedAll| m.clone().into_persons().collect::<Vec<_>>();
    for (app, got) in [("a", &a), ("b", &b), ("c", &c)] {
        let each: Vec<Option<MappedPerson>> = persons.iter().map(|p| m.map(app, p).ok()).collect();
        assert_eq!(all(got), each, "{app}");
    }
    assert_eq!(
        all(&a)[0].as_ref().map(|p| (p.in_scope, p.groups.clone())),
        Some((true, ["sales".to_string()].into()))
    );
    // Both apps of the class took the results: a later view's mapping is its own.
    let again = m.map_all("a", persons.iter(), &shared);
    assert!(!a.shares(&again));
    assert_eq!(all(&a), all(&again));
}

#[test]
fn a_shared_mapping_that_fails_leaves_each_app_its_own_error() {
    let attributes: BTreeMap<String, String> =
        [("userName".to_string(), "{{ email + 1 }}".to_string())].into();
    let app = |app, index| AppMapping {
        app,
        index,
        attributes: &attributes,
        scope: None,
        groups: vec![],
    };
    let m = Mapper::new(&[app("a", 0), app("b", 4)]).expect("compiles");
    let persons = [person("E1", &[("email", "a@x")])];
    let shared = SharedMapped::default();
    let a = m.map_all("a", persons.iter(), &shared);
    let b = m.map_all("b", persons.iter(), &shared);
    assert!(a.shares(&b));
    assert_eq!(b.into_persons().collect::<Vec<_>>(), vec![None]);
    let err = m.map("b", &persons[0]).expect_err("fails");
    assert!(err.location.starts_with("apps[4].attributes"), "{err}");
}

#[test]
fn fast_and_engine_templates_mix_in_one_app() {
    let m = mapper(
        &[
            ("userName", "{{ email | lower | trim }}"),
            (
                "displayName",
                "{{ first_name }} {{ last_name | default('?') }}",
            ),
            ("nickName", "{{ first_name | title }}"),
            ("title", "{{ job_title }}"),
        ],
        None,
    );
    let mut p = person("E1", &[("email", " Ana@X "), ("first_name", "ana lima")]);
    p.fields.insert("job_title".into(), Value::from(7));
    let attrs = m.attributes("a", &p).expect("renders");
    let text = |s: &str| Some(Mapped::Value(Value::String(s.into())));
    assert_eq!(attrs.get("userName").cloned(), text("ana@x"));
    assert_eq!(attrs.get("displayName").cloned(), text("ana lima ?"));
    assert_eq!(attrs.get("nickName").cloned(), text("Ana Lima"));
    assert_eq!(
        attrs.get("title").cloned(),
        text("7"),
        "a number goes to the engine"
    );
}

#[test]
fn no_attribute_is_html_escaped_whatever_its_path() {
    let m = mapper(
        &[
            ("note.html", "{{ note }}"),
            ("x.json", "{{ note | upper }}"),
        ],
        None,
    );
    let attrs = m
        .attributes("a", &person("E1", &[("note", "<b>&'\"")]))
        .expect("renders");
    let text = |s: &str| Some(Mapped::Value(Value::String(s.into())));
    assert_eq!(attrs.get("note.html").cloned(), text("<b>&'\""));
    assert_eq!(attrs.get("x.json").cloned(), text("<B>&'\""));
}

#[test]
fn an_app_handing_over_other_persons_does_not_take_a_shared_mapping() {
    let m = three_apps();
    let sales = |key| person(key, &[("email", "A@X"), ("department", "Sales")]);
    let legal = |key| person(key, &[("email", "B@X"), ("department", "Legal")]);
    let first = [sales("E1"), legal("E2")];
    let other = [legal("E1"), sales("E2")];
    let shared = SharedMapped::default();
    let a = m.map_all("a", first.iter(), &shared);
    let b = m.map_all("b", other.iter(), &shared);
    assert!(!a.shares(&b));
    let scopes: Vec<bool> = b.into_persons().flatten().map(|p| p.in_scope).collect();
    assert_eq!(scopes, [false, true], "b's own persons");
}
