//! The fast path against the template engine: generated persons (unicode, empty and
//! missing fields, numbers, booleans) and generated templates of the shapes it takes must
//! render the same; other shapes must be left to the engine.

use chrono::NaiveDate;
use hrsync_connectors::source::{FieldRef, Lifecycle, Person, Position};
use minijinja::{Environment, UndefinedBehavior};
use proptest::prelude::*;
use serde_json::Value;

use super::FastTemplate;
use crate::mapping::{context, filters};

/// Field names: usual ones, the lifecycle fields the mapping adds, and one never set.
const NAMES: [&str; 9] = [
    "email",
    "first_name",
    "job_title",
    "manager_id",
    "start_date",
    "status",
    "key",
    "source",
    "nickname",
];

fn engine() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    filters::register(&mut env);
    env
}

/// Renders as the mapper's engine does, under a name of the mapper's form.
fn render_engine(env: &mut Environment<'static>, source: &str, p: &Person) -> String {
    let name = format!("apps[0].attributes.{:?}", "emails[type eq \"work\"].value");
    env.add_template_owned(name.clone(), source.to_string())
        .expect("compiles");
    env.get_template(&name)
        .expect("added")
        .render(context(p))
        .expect("renders")
}

fn fast(source: &str) -> Option<FastTemplate> {
    let env = engine();
    let globals: Vec<&str> = env.globals().map(|(n, _)| n).collect();
    FastTemplate::parse(source, &globals)
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => "[ a-zA-Z0-9.@_-]{0,12}".prop_map(Value::String),
        2 => "\\PC{0,8}".prop_map(Value::String),
        1 => Just(Value::String("  İstanbul ǅ ß ".into())),
        1 => Just(Value::String(String::new())),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn person() -> impl Strategy<Value = Person> {
    (
        prop::collection::btree_map(prop::sample::select(&NAMES[..8]), value(), 0..8),
        prop::option::of("[A-Z][0-9]{1,3}"),
        prop::option::of(0u32..3000),
        prop::sample::select(vec![
            Lifecycle::Active,
            Lifecycle::Leave,
            Lifecycle::Terminated,
        ]),
    )
        .prop_map(|(fields, manager, start, status)| Person {
            key: "E1".into(),
            source: "hris".into(),
            status,
            start_date: start.and_then(|d| {
                NaiveDate::from_ymd_opt(2020, 1, 1)?.checked_add_days(chrono::Days::new(d.into()))
            }),
            end_date: None,
            manager_id: manager,
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            position: Position::Line(2),
        })
}

fn placeholder() -> impl Strategy<Value = String> {
    let filter = prop_oneof![
        Just("lower".to_string()),
        Just("upper".to_string()),
        Just("trim".to_string()),
        Just("ref".to_string()),
        "[a-z .@-]{0,6}".prop_map(|d| format!("default('{d}')")),
        "[a-z .@-]{0,6}".prop_map(|d| format!("default( \"{d}\" )")),
    ];
    (
        prop::sample::select(&NAMES[..]),
        prop::collection::vec((filter, prop::bool::ANY), 0..4),
        prop::bool::ANY,
    )
        .prop_map(|(name, filters, tight)| {
            let pad = if tight { "" } else { " " };
            let mut s = format!("{{{{{pad}{name}");
            for (f, spaced) in filters {
                s.push_str(if spaced { " | " } else { "|" });
                s.push_str(&f);
            }
            s.push_str(pad);
            s.push_str("}}");
            s
        })
}

fn template() -> impl Strategy<Value = String> {
    let part = prop_oneof![placeholder(), "[ a-zA-Z0-9.,@:_()<>&\"'-]{0,5}"];
    prop::collection::vec(part, 1..5).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_fast_path_renders_what_the_engine_renders(t in template(), p in person()) {
        let f = fast(&t);
        prop_assert!(f.is_some(), "{t:?} is a supported shape");
        let mut env = engine();
        let expected = render_engine(&mut env, &t, &p);
        if let Some(got) = f.and_then(|f| f.render(&p)) {
            prop_assert_eq!(got, expected, "template {:?}, person {:?}", t, p);
        } else {
            let strings_only = p.fields.iter().all(|(_, v)| matches!(v, FieldRef::Text(_)));
            prop_assert!(!strings_only, "only non-string fields fall back: {:?}", p);
        }
    }
}

#[test]
fn other_shapes_are_left_to_the_engine() {
    for t in [
        "{{ a.b }}",
        "{{ a['b'] }}",
        "{{ a | title }}",
        "{{ a | lower() }}",
        "{{ a | default(b) }}",
        "{{ a | default('x', true) }}",
        "{{ a | default('it\\'s') }}",
        "{{- a }}",
        "{{ a -}}",
        "{{ a ~ b }}",
        "{{ a + 1 }}",
        "{{ 'x' }}",
        "{{ true }}",
        "{{ none }}",
        "{{ loop }}",
        "{{ range }}",
        "{{ namespace }}",
        "{% if a %}x{% endif %}",
        "{# note #}{{ a }}",
        "{% raw %}{{ a }}{% endraw %}",
        "a\n",
        "{{ a }}\n",
        "{{ a\n}}",
        "{{ a }",
        "}} {{ a }}",
        "{{ a | lower | slug }}",
        "{{ ärger }}",
    ] {
        assert_eq!(fast(t), None, "{t:?} goes to the engine");
    }
    for t in [
        "",
        "plain",
        "{{a}}",
        "{{ a|lower|trim }}@x",
        "{{ a }} {{ b | default('-') }}",
    ] {
        assert!(fast(t).is_some(), "{t:?} takes the fast path");
    }
}

#[test]
fn a_field_that_is_not_a_string_goes_to_the_engine() {
    let mut p = Person {
        key: "E1".into(),
        source: "hris".into(),
        status: Lifecycle::Active,
        start_date: None,
        end_date: None,
        manager_id: None,
        fields: Default::default(),
        position: Position::Line(2),
    };
    p.fields.insert("n".into(), Value::from(1.5));
    let f = fast("id-{{ n }}").expect("supported shape");
    assert_eq!(f.render(&p), None);
    p.fields.insert("n".into(), Value::String("7".into()));
    assert_eq!(f.render(&p).as_deref(), Some("id-7"));
}
