//! Properties of normalisation: reading a person's own fields back gives the same person
//! (idempotence), and a key is never changed beyond trimming and Unicode NFC.

use std::collections::BTreeMap;

use hrsync_connectors::source::normalize::{normalize_text, Normalizer, RawRecord, VendorRules};
use hrsync_connectors::source::{CommonConfig, Lifecycle, Position};
use proptest::prelude::*;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

fn common() -> CommonConfig {
    let mut status_map = BTreeMap::new();
    status_map.insert("Employed".to_string(), Lifecycle::Active);
    status_map.insert("Gone".to_string(), Lifecycle::Terminated);
    CommonConfig {
        name: "hris".into(),
        key: None,
        priority: 0,
        fields: BTreeMap::new(),
        status_map,
        required: Vec::new(),
        date_formats: vec!["%m/%d/%Y".into()],
        email_fields: Vec::new(),
        webhook: None,
    }
}

/// Text with surrounding whitespace, decomposed accents and composed letters.
fn messy_text() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[ \t\u{a0}]{0,2}[A-Za-z0-9_.-]{0,3}(e\u{301}|\u{e9}|A\u{30a}|\u{212b}|n\u{303}|\u{1e9b}\u{323}|ß)?[A-Za-z0-9 ]{0,4}[ \t\n]{0,2}")
        .expect("regex")
}

fn status() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(vec![
        "active",
        "ACTIVE",
        " Leave ",
        "terminated",
        "employed",
        "GONE",
    ]))
    .prop_map(|s| s.map(str::to_string))
}

fn date() -> impl Strategy<Value = Option<String>> {
    prop::option::of(
        (2000i32..2030, 1u32..13, 1u32..29, 0usize..3).prop_map(|(y, m, d, form)| match form {
            0 => format!("{y:04}-{m:02}-{d:02}"),
            1 => format!("{y:04}-{m:02}-{d:02}T09:30:00+02:00"),
            _ => format!("{m:02}/{d:02}/{y:04}"),
        }),
    )
}

fn record() -> impl Strategy<Value = Map<String, Value>> {
    (
        messy_text(),
        status(),
        date(),
        date(),
        prop::option::of(messy_text()),
        messy_text(),
        prop::option::of(0u32..1000),
    )
        .prop_map(|(key, status, start, end, manager, note, level)| {
            let mut m = Map::new();
            m.insert("employee_id".into(), Value::String(key));
            if let Some(s) = status {
                m.insert("status".into(), Value::String(s));
            }
            if let Some(s) = start {
                m.insert("start_date".into(), Value::String(s));
            }
            if let Some(e) = end {
                m.insert("end_date".into(), Value::String(e));
            }
            if let Some(x) = manager {
                m.insert("manager_id".into(), Value::String(x));
            }
            m.insert("note".into(), Value::String(note));
            if let Some(l) = level {
                m.insert("level".into(), Value::from(l));
            }
            m
        })
}

fn expected_key(raw: &str) -> String {
    raw.trim().nfc().collect::<String>().trim().to_string()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn normalisation_is_idempotent_and_keys_only_trimmed_and_composed(
        records in prop::collection::vec(record(), 1..12)
    ) {
        let n = Normalizer::new(&common(), "employee_id", &VendorRules::default());
        let raw: Vec<RawRecord> = records
            .iter()
            .enumerate()
            .map(|(i, r)| RawRecord { position: Position::Index(i as u64), value: Value::Object(r.clone()) })
            .collect();
        let first = n.finish(raw, Vec::new());
        prop_assert_eq!(first.persons.len() + first.rejected.len(), records.len());

        // Keys: whatever else happened, only trimmed and composed.
        for p in &first.persons {
            let Position::Index(i) = p.position else { unreachable!("index positions") };
            let original = records[i as usize]["employee_id"].as_str().unwrap_or_default();
            prop_assert_eq!(&p.key, &expected_key(original));
            prop_assert_eq!(normalize_text(&p.key), p.key.clone());
            prop_assert_eq!(p.fields.get_str("employee_id"), Some(p.key.as_str()));
        }
        for r in &first.rejected {
            if let (Some(k), Position::Index(i)) = (&r.key, &r.position) {
                let original = records[*i as usize]["employee_id"].as_str().unwrap_or_default();
                prop_assert_eq!(k, &expected_key(original));
            }
        }
        // Sorted by key.
        let keys: Vec<&String> = first.persons.iter().map(|p| &p.key).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        prop_assert_eq!(keys, sorted);

        // Reading the normalised fields again changes nothing.
        let again: Vec<RawRecord> = first
            .persons
            .iter()
            .map(|p| RawRecord {
                position: p.position.clone(),
                value: Value::Object(p.fields.to_map().into_iter().collect()),
            })
            .collect();
        let second = n.finish(again, Vec::new());
        prop_assert!(second.rejected.is_empty(), "{:?}", second.rejected);
        prop_assert_eq!(&second.persons, &first.persons);
    }
}
