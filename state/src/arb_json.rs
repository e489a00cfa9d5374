//! Arbitrary JSON values for property tests, shared by the crate's unit tests and its
//! integration tests (which include this file by path).

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Any JSON value with strings (and object keys) from `text`: nested up to `depth`
/// levels, about `size` values in all, at most `width` entries per list or object. Keys
/// come in any order, some repeated: an object keeps the last value, in the first place.
pub fn json(
    text: BoxedStrategy<String>,
    depth: u32,
    size: u32,
    width: usize,
) -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        text.clone().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, size, width as u32, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..width).prop_map(Value::Array),
            prop::collection::vec((text.clone(), inner), 0..width)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}
