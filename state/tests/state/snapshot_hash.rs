//! A record hashed straight from its own type hashes as it does through a JSON value, so
//! that hashes already stored keep comparing equal.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use hrsync_state::{record_hash, SnapshotRecord};
use proptest::prelude::*;
use serde::Serialize;
use serde_json::Value;

#[path = "../../src/arb_json.rs"]
mod arb_json;

/// The shapes an HR record takes: the person record's own, plus every other kind of
/// serde data a record type could hold.
#[derive(Debug, Clone, Serialize)]
struct Record {
    key: String,
    status: Status,
    start_date: Option<NaiveDate>,
    manager_id: Option<String>,
    fields: BTreeMap<String, Value>,
    position: Position,
    codes: BTreeMap<u32, char>,
    pair: (i64, bool),
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    Active,
    OnLeave,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
enum Position {
    Line(u64),
    Span(u32, u32),
    At { sheet: String, row: u64 },
    Unknown,
}

fn text() -> impl Strategy<Value = String> {
    // Quotes, backslashes, controls and non-ASCII: everything escaping can get wrong.
    prop_oneof!["[a-z_]{0,6}", "[\"\\\\\u{0}-\u{1f}a-zé€😀 ]{0,8}",]
}

fn json() -> impl Strategy<Value = Value> {
    arb_json::json(text().boxed(), 3, 24, 5)
}

fn position() -> impl Strategy<Value = Position> {
    prop_oneof![
        any::<u64>().prop_map(Position::Line),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Position::Span(a, b)),
        (text(), any::<u64>()).prop_map(|(sheet, row)| Position::At { sheet, row }),
        Just(Position::Unknown),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        (text(), any::<bool>(), prop::option::of(0i32..3_000_000)),
        prop::option::of(text()),
        prop::collection::btree_map(text(), json(), 0..6),
        position(),
        prop::collection::btree_map(any::<u32>(), any::<char>(), 0..3),
        (any::<(i64, bool)>(), prop::option::of(text())),
    )
        .prop_map(
            |((key, active, day), manager_id, fields, position, codes, (pair, note))| Record {
                key,
                status: if active {
                    Status::Active
                } else {
                    Status::OnLeave
                },
                start_date: day.and_then(NaiveDate::from_num_days_from_ce_opt),
                manager_id,
                fields,
                position,
                codes,
                pair,
                note,
            },
        )
}

/// What the snapshot stored before: the record as a JSON value, its text and hash.
fn through_a_value<T: Serialize>(record: &T) -> (String, String) {
    let value = serde_json::to_value(record).unwrap();
    (serde_json::to_string(&value).unwrap(), record_hash(&value))
}

proptest! {
    #[test]
    fn a_record_hashes_and_reads_as_it_did_through_a_value(r in record()) {
        let direct = SnapshotRecord::of(&r).unwrap();
        let (text, hash) = through_a_value(&r);
        prop_assert_eq!(direct.hash_hex(), hash);
        prop_assert_eq!(direct.text(), text);
    }

    #[test]
    fn an_f32_hashes_as_a_value_widens_it(ratio in any::<f32>(), key in text()) {
        // The stored text keeps serde_json's shorter f32 form; only the hash must agree.
        #[derive(Serialize)]
        struct Scored { key: String, ratio: f32 }
        let r = Scored { key, ratio };
        prop_assert_eq!(SnapshotRecord::of(&r).unwrap().hash_hex(), through_a_value(&r).1);
    }

    #[test]
    fn a_json_value_hashes_the_same_either_way(v in json()) {
        prop_assert_eq!(SnapshotRecord::of(&v).unwrap().hash_hex(), record_hash(&v));
        prop_assert_eq!(SnapshotRecord::of_value(&v).unwrap().hash_hex(), record_hash(&v));
    }
}

#[test]
fn a_map_key_given_twice_keeps_its_last_value_as_a_value_does() {
    struct Twice;
    impl Serialize for Twice {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut m = s.serialize_map(None)?;
            m.serialize_entry("b", &1)?;
            m.serialize_entry("a", &2)?;
            m.serialize_entry("b", &3)?;
            m.end()
        }
    }
    let (_, hash) = through_a_value(&Twice);
    assert_eq!(SnapshotRecord::of(&Twice).unwrap().hash_hex(), hash);
    assert_eq!(hash, record_hash(&serde_json::json!({"a": 2, "b": 3})));
}
