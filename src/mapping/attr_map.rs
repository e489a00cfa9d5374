//! What an account is sent: SCIM path → value, in path order. A plan holds one for every
//! person it creates (the creates of apps that map alike share it), so it is compact: one
//! allocation holds the entries, and their paths are shared with the templates that made
//! them rather than copied per person. A map of nine values takes about half the memory
//! of a `BTreeMap<String, Value>` of the same.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// SCIM path → value, in path order. Reads, iterates and serialises as the
/// `BTreeMap<String, Value>` of the same entries; a path given twice keeps its last value.
#[derive(Clone, Default, PartialEq)]
pub struct AttrMap {
    /// Sorted by path, each path once.
    entries: Box<[(Arc<str>, Value)]>,
}

impl AttrMap {
    /// The value at `path`.
    pub fn get(&self, path: &str) -> Option<&Value> {
        self.position(path).ok().map(|i| &self.entries[i].1)
    }

    /// Whether a value is mapped at `path`.
    pub fn contains_key(&self, path: &str) -> bool {
        self.position(path).is_ok()
    }

    /// How many paths hold a value.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no path holds a value.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every (path, value), in path order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&str, &Value)> + ExactSizeIterator {
        self.entries.iter().map(|(p, v)| (&**p, v))
    }

    /// Every path, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(p, _)| &**p)
    }

    /// Sets the value at `path`; the value it replaces, if any.
    pub fn insert(&mut self, path: impl Into<Arc<str>>, value: Value) -> Option<Value> {
        let path = path.into();
        match self.position(&path) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                let mut entries = std::mem::take(&mut self.entries).into_vec();
                entries.insert(i, (path, value));
                self.entries = entries.into_boxed_slice();
                None
            }
        }
    }

    /// Takes the value at `path` out.
    pub fn remove(&mut self, path: &str) -> Option<Value> {
        let i = self.position(path).ok()?;
        let mut entries = std::mem::take(&mut self.entries).into_vec();
        let (_, value) = entries.remove(i);
        self.entries = entries.into_boxed_slice();
        Some(value)
    }

    /// The same entries as a map of owned paths.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.iter()
            .map(|(p, v)| (p.to_string(), v.clone()))
            .collect()
    }

    fn position(&self, path: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(p, _)| (**p).cmp(path))
    }
}

impl<K: Into<Arc<str>>> FromIterator<(K, Value)> for AttrMap {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let mut entries: Vec<(Arc<str>, Value)> =
            iter.into_iter().map(|(p, v)| (p.into(), v)).collect();
        // Stable: of a path given twice, the later entry follows the earlier, and is kept.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.reverse();
        entries.dedup_by(|a, b| a.0 == b.0);
        entries.reverse();
        AttrMap {
            entries: exact(entries),
        }
    }
}

/// The entries in an allocation of their size: a list grown by pushing keeps spare room,
/// which shrinking in place can leave allocated.
fn exact(mut entries: Vec<(Arc<str>, Value)>) -> Box<[(Arc<str>, Value)]> {
    if entries.len() == entries.capacity() {
        return entries.into_boxed_slice();
    }
    let mut out = Vec::with_capacity(entries.len());
    out.append(&mut entries);
    out.into_boxed_slice()
}

impl<K: Into<Arc<str>>> Extend<(K, Value)> for AttrMap {
    fn extend<I: IntoIterator<Item = (K, Value)>>(&mut self, iter: I) {
        let old = std::mem::take(&mut self.entries).into_vec();
        let new = iter.into_iter().map(|(p, v)| (p.into(), v));
        *self = old.into_iter().chain(new).collect();
    }
}

impl From<BTreeMap<String, Value>> for AttrMap {
    fn from(map: BTreeMap<String, Value>) -> Self {
        map.into_iter().collect()
    }
}

impl<'a> IntoIterator for &'a AttrMap {
    type Item = (&'a str, &'a Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, Value)>,
        fn(&'a (Arc<str>, Value)) -> (&'a str, &'a Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(p, v)| (&**p, v))
    }
}

impl fmt::Debug for AttrMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for AttrMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.len()))?;
        for (p, v) in self {
            map.serialize_entry(p, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for AttrMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Value>::deserialize(deserializer).map(AttrMap::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> BTreeMap<String, Value> {
        BTreeMap::from([
            ("userName".to_string(), json!("ann@corp.example")),
            ("active".to_string(), json!(true)),
            ("name.givenName".to_string(), json!("Ann")),
            (
                "emails[type eq \"work\"].value".to_string(),
                json!("Ann@corp.example"),
            ),
        ])
    }

    #[test]
    fn reads_iterates_and_serialises_as_the_btree_map() {
        let map = sample();
        let ours = AttrMap::from(map.clone());
        assert_eq!(ours.len(), map.len());
        let keys: Vec<&str> = ours.keys().collect();
        let theirs: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(keys, theirs);
        for (p, v) in &map {
            assert_eq!(ours.get(p), Some(v), "{p}");
        }
        assert_eq!(ours.get("title"), None);
        assert_eq!(
            serde_json::to_string(&ours).expect("json"),
            serde_json::to_string(&map).expect("json")
        );
        let back: AttrMap =
            serde_json::from_str(&serde_json::to_string(&map).expect("json")).expect("parse");
        assert_eq!(back, ours);
        assert_eq!(ours.to_map(), map);
    }

    #[test]
    fn inserts_and_removals_keep_the_order_and_the_last_value() {
        let mut ours = AttrMap::from(sample());
        let mut map = sample();
        assert_eq!(ours.insert("title", json!("Rep")), None);
        map.insert("title".into(), json!("Rep"));
        assert_eq!(ours.insert("active", json!(false)), Some(json!(true)));
        map.insert("active".into(), json!(false));
        assert_eq!(ours.remove("userName"), Some(json!("ann@corp.example")));
        map.remove("userName");
        assert_eq!(ours.remove("userName"), None);
        ours.extend([
            ("a".to_string(), json!(1)),
            ("title".to_string(), json!("Lead")),
        ]);
        map.extend([
            ("a".to_string(), json!(1)),
            ("title".to_string(), json!("Lead")),
        ]);
        assert_eq!(ours.to_map(), map);
        let twice: AttrMap = [("x", json!(1)), ("x", json!(2))].into_iter().collect();
        assert_eq!(twice.get("x"), Some(&json!(2)), "the later value is kept");
        assert_eq!(twice.len(), 1);
    }

    proptest::proptest! {
        /// Any sequence of building, inserts, removals and extensions leaves the same
        /// entries, order and JSON as a `BTreeMap` given the same.
        #[test]
        fn behaves_as_the_btree_map(
            built in proptest::collection::vec((0usize..6, 0u8..4), 0..8),
            edits in proptest::collection::vec((0usize..3, 0usize..6, 0u8..4), 0..12),
        ) {
            let paths = ["userName", "active", "title", "name.givenName", "externalId", "emails"];
            let value = |n: u8| match n {
                0 => json!("x"),
                1 => json!(true),
                2 => json!({"a": [1]}),
                _ => Value::Null,
            };
            let start = built.iter().map(|&(p, v)| (paths[p].to_string(), value(v)));
            let mut theirs: BTreeMap<String, Value> = start.clone().collect();
            let mut ours: AttrMap = start.collect();
            for (kind, p, v) in edits {
                let path = paths[p];
                match kind {
                    0 => proptest::prop_assert_eq!(
                        ours.insert(path, value(v)),
                        theirs.insert(path.to_string(), value(v))
                    ),
                    1 => proptest::prop_assert_eq!(ours.remove(path), theirs.remove(path)),
                    _ => {
                        let more = [(path.to_string(), value(v)), ("title".to_string(), value(0))];
                        ours.extend(more.clone());
                        theirs.extend(more);
                    }
                }
            }
            proptest::prop_assert_eq!(ours.to_map(), theirs.clone());
            proptest::prop_assert_eq!(ours.len(), theirs.len());
            for p in paths {
                proptest::prop_assert_eq!(ours.get(p), theirs.get(p));
                proptest::prop_assert_eq!(ours.contains_key(p), theirs.contains_key(p));
            }
            proptest::prop_assert_eq!(
                serde_json::to_string(&ours).expect("json"),
                serde_json::to_string(&theirs).expect("json")
            );
        }
    }
}
