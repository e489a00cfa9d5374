//! Packed JSON gives back exactly what was packed: any JSON value as the same value, any
//! JSON text `serde_json` writes as the very same text; damaged bytes are an error.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::error::StateError;
use crate::packed::{pack_text, pack_value, Intern, DEPTH_MAX, TABLE_MAX};
use crate::unpack::{unpack_text, unpack_value, NameOf};

/// Names kept in memory, ids from 1 as the table gives them.
#[derive(Default)]
struct Memory(BTreeMap<String, u64>);

impl Intern for Memory {
    fn id(&mut self, name: &str) -> Result<u64, StateError> {
        let next = self.0.len() as u64 + 1;
        Ok(*self.0.entry(name.to_owned()).or_insert(next))
    }
}

impl NameOf for Memory {
    fn name_of(&self, id: u64) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, &i)| i == id)
            .map(|(n, _)| n.as_str())
    }
}

fn text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, controls, non-ASCII, UUIDs and long strings: what escaping,
    // the UUID form and the length forms can get wrong.
    prop_oneof![
        "[a-z_]{0,6}",
        "[\"\\\\\u{0}-\u{1f}a-zé€😀 ]{0,8}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[0-9A-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[a-zé]{120,300}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    crate::arb_json::json(text().boxed(), 4, 64, 8)
}

fn has_float(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_f64(),
        Value::Array(items) => items.iter().any(has_float),
        Value::Object(map) => map.values().any(has_float),
        _ => false,
    }
}

fn seeds() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..3)
}

proptest! {
    #[test]
    fn any_value_unpacks_to_itself(v in json(), seeds in seeds()) {
        let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
        let mut names = Memory::default();
        let packed = pack_value(&v, &seeds, &mut names).expect("pack");
        prop_assert_eq!(unpack_value(&packed, &seeds, &names).expect("unpack"), v.clone());
        // And as text, exactly what serde_json writes for it.
        let text = serde_json::to_string(&v).expect("text");
        prop_assert_eq!(unpack_text(&packed, &seeds, &names).expect("text"), text);
    }

    #[test]
    fn text_serde_json_wrote_packs_to_the_same_text(v in json(), seeds in seeds()) {
        let seeds: Vec<&str> = seeds.iter().map(String::as_str).collect();
        let text = serde_json::to_string(&v).expect("text");
        let mut names = Memory::default();
        let packed = pack_text(&text, &seeds, &mut names).expect("pack").expect("JSON");
        // A float may print back otherwise (serde_json parses floats to the nearest it
        // can, not always exactly): the text path then stores the text (checked by its
        // caller). Everything else gives back the very same text.
        let back = unpack_text(&packed, &seeds, &names).expect("unpack");
        if !has_float(&v) {
            prop_assert_eq!(back, text);
        }
    }

    #[test]
    fn damaged_bytes_are_an_error_or_a_value_never_a_panic(
        v in json(),
        cut in any::<prop::sample::Index>(),
        flip in any::<(prop::sample::Index, u8)>(),
    ) {
        let mut names = Memory::default();
        let packed = pack_value(&v, &[], &mut names).expect("pack");
        let short = &packed[..cut.index(packed.len())];
        prop_assert!(unpack_value(short, &[], &names).is_err(), "cut bytes must not read");
        let mut flipped = packed.clone();
        let i = flip.0.index(flipped.len());
        flipped[i] ^= flip.1;
        let _ = unpack_value(&flipped, &[], &names);
        let _ = unpack_text(&flipped, &[], &names);
    }
}

#[test]
fn repeated_strings_and_seeds_take_one_byte_and_uuids_sixteen() {
    let mut names = Memory::default();
    let id = "0f8e2a5c-1b3d-4c7e-9a0b-123456789abc";
    let v = json!({"key": "E1", "email": "ann@corp.example", "again": "ann@corp.example",
        "manager": id, "managers": [id]});
    let packed = pack_value(&v, &["E1"], &mut names).expect("pack");
    // object, 5 × key, "E1" by index, the email once plus by index, the UUID once plus by
    // index inside an array, end.
    let expected = 1 + 5 + 1 + (1 + 16) + 1 + (1 + 16) + (1 + 1 + 1) + 1;
    assert_eq!(packed.len(), expected, "{packed:?}");
    assert_eq!(unpack_value(&packed, &["E1"], &names).expect("unpack"), v);
}

#[test]
fn the_table_stops_growing_at_its_limit_and_reads_back_the_same() {
    let mut names = Memory::default();
    let v: Value = (0..TABLE_MAX * 2)
        .map(|i| format!("s{}", i % (TABLE_MAX + 10)))
        .collect();
    let packed = pack_value(&v, &["seed"], &mut names).expect("pack");
    assert_eq!(unpack_value(&packed, &["seed"], &names).expect("unpack"), v);
}

#[test]
fn a_key_given_twice_is_kept_twice_in_text_and_last_in_a_value() {
    let text = r#"{"b":1,"a":2,"b":3}"#;
    let mut names = Memory::default();
    let packed = pack_text(text, &[], &mut names)
        .expect("pack")
        .expect("JSON");
    assert_eq!(unpack_text(&packed, &[], &names).expect("text"), text);
    let as_value: Value = serde_json::from_str(text).expect("parse");
    assert_eq!(unpack_value(&packed, &[], &names).expect("value"), as_value);
}

#[test]
fn text_that_is_not_json_does_not_pack() {
    let mut names = Memory::default();
    for bad in ["", "{", r#"{"a":1} x"#, "nul"] {
        assert_eq!(
            pack_text(bad, &[], &mut names).expect("pack"),
            None,
            "{bad}"
        );
    }
}

#[test]
fn text_packs_but_reads_back_in_serde_json_form() {
    // Whitespace and other escapes are not kept: the caller compares and keeps such text.
    let mut names = Memory::default();
    let text = "{ \"a\" : \"\\u00e9\" }";
    let packed = pack_text(text, &[], &mut names)
        .expect("pack")
        .expect("JSON");
    assert_eq!(
        unpack_text(&packed, &[], &names).expect("unpack"),
        "{\"a\":\"é\"}"
    );
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_both_ways() {
    let mut deep = Value::Null;
    for _ in 0..=DEPTH_MAX {
        deep = Value::Array(vec![deep]);
    }
    let mut names = Memory::default();
    assert!(pack_value(&deep, &[], &mut names).is_err());
    // Bytes nesting as deep (as a damaged row could) are refused, not recursed into.
    let bytes: Vec<u8> = std::iter::repeat_n(crate::packed::ARRAY, 100_000).collect();
    assert!(unpack_value(&bytes, &[], &names).is_err());
    assert!(unpack_text(&bytes, &[], &names).is_err());
}

#[test]
fn an_unknown_name_or_index_is_an_error() {
    let names = Memory::default();
    assert!(unpack_value(&[crate::packed::OBJECT, 5, 0x00, 0], &[], &names).is_err());
    assert!(unpack_value(&[crate::packed::REF | 3], &["a"], &names).is_err());
    assert!(unpack_value(&[0x0B], &[], &names).is_err());
}

proptest! {
    #[test]
    fn what_a_link_pushed_reads_back_the_same(
        pushed in prop::collection::btree_map(text(), json(), 0..10),
        key in text(),
        user_name in text(),
    ) {
        let mut names = Memory::default();
        let bytes = crate::pushed::encode(&mut names, &pushed, &key, &user_name).expect("pack");
        let back = crate::pushed::decode(&names, 4, &bytes, &key, &user_name).expect("unpack");
        prop_assert_eq!(back, pushed);
    }
}

#[test]
fn every_code_reads_back_its_value_and_no_two_values_share_one() {
    use crate::stored::{Code, Coded};
    use crate::{AuditOp, LinkLifecycle, OpResult, Ownership};
    use rusqlite::Connection;

    fn check<T: Coded + PartialEq + std::fmt::Debug>(conn: &Connection) {
        let mut seen = std::collections::BTreeSet::new();
        for &v in T::ALL {
            assert!(seen.insert(v.code()), "{v:?}: code {} twice", v.code());
            let back: Code<T> = conn
                .query_row("SELECT ?1", [Code(v)], |r| r.get(0))
                .expect("read");
            assert_eq!(back.0, v);
        }
        let unknown: rusqlite::Result<Code<T>> = conn.query_row("SELECT 99", [], |r| r.get(0));
        assert!(unknown.is_err(), "{}", T::KIND);
    }
    let conn = Connection::open_in_memory().expect("open");
    check::<LinkLifecycle>(&conn);
    check::<Ownership>(&conn);
    check::<AuditOp>(&conn);
    check::<OpResult>(&conn);
    // The partial index `links_remote_id` and its lookups name the code of a deleted link.
    assert_eq!(LinkLifecycle::Deleted.code(), 2);
}
