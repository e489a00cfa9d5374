//! A person's fields in a flat layout: one list of names shared by the records that have
//! the same fields, text values side by side in one buffer. A million records hold about
//! fourteen fields each; as a map of owned names to JSON values they were most of a
//! cycle's memory.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// One field's value, borrowed from its record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldRef<'a> {
    /// Text (a JSON string).
    Text(&'a str),
    /// Anything else: a number, a boolean, a list or an object.
    Json(&'a Value),
}

impl<'a> FieldRef<'a> {
    /// The text, when the value is text.
    pub fn as_str(self) -> Option<&'a str> {
        match self {
            FieldRef::Text(s) => Some(s),
            FieldRef::Json(v) => v.as_str(),
        }
    }

    /// True for null and for empty text: what a higher-priority source does not override
    /// with.
    pub fn is_blank(self) -> bool {
        match self {
            FieldRef::Text(s) => s.is_empty(),
            FieldRef::Json(v) => v.is_null() || v.as_str().is_some_and(str::is_empty),
        }
    }

    /// The value as JSON.
    pub fn to_value(self) -> Value {
        match self {
            FieldRef::Text(s) => Value::String(s.to_owned()),
            FieldRef::Json(v) => v.clone(),
        }
    }
}

impl Serialize for FieldRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FieldRef::Text(t) => s.serialize_str(t),
            FieldRef::Json(v) => v.serialize(s),
        }
    }
}

/// Where one field's value sits: a span of the text buffer, or an index into the JSON
/// values.
#[derive(Clone, Copy, PartialEq)]
struct Span {
    at: u32,
    /// The text's length; [`JSON`] for a value held as JSON.
    len: u32,
}

/// Field names in order, shared by every record with the same fields.
type Names = Arc<[Arc<str>]>;

const JSON: u32 = u32::MAX;

/// A person's fields by hrsync field name, in name order (the order they serialise in,
/// as the map they replace did).
#[derive(Clone, Default, PartialEq)]
pub struct Fields {
    names: Names,
    /// Each name's value, in the names' order.
    spans: Box<[Span]>,
    text: Box<str>,
    json: Box<[Value]>,
}

impl Fields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<FieldRef<'_>> {
        let i = self.find(name).ok()?;
        Some(self.value(self.spans[i]))
    }

    /// The text of `name`, when present and text.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(FieldRef::as_str)
    }

    /// True when `name` is present.
    pub fn contains_key(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// The field names, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.names.iter().map(|n| &**n)
    }

    /// The fields, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, FieldRef<'_>)> + '_ {
        self.names
            .iter()
            .zip(self.spans.iter())
            .map(|(n, &span)| (&**n, self.value(span)))
    }

    /// Sets `name` to `value`. Rebuilds the record: for building and tests, not loops.
    pub fn insert(&mut self, name: String, value: Value) {
        let mut map = self.to_map();
        map.insert(name, value);
        *self = Fields::from(map);
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        let mut map = self.to_map();
        let old = map.remove(name);
        if old.is_some() {
            *self = Fields::from(map);
        }
        old
    }

    /// Lays `other` over these fields: each of its fields that is not blank wins.
    pub fn overlay(&mut self, other: &Fields) {
        if other.is_empty() {
            return;
        }
        let mut map = self.to_map();
        for (name, v) in other.iter().filter(|(_, v)| !v.is_blank()) {
            map.insert(name.to_owned(), v.to_value());
        }
        *self = Fields::from(map);
    }

    /// The fields as a map of JSON values (for the template engine and for editing).
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_value()))
            .collect()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.names.binary_search_by(|n| (**n).cmp(name))
    }

    fn value(&self, e: Span) -> FieldRef<'_> {
        if e.len == JSON {
            return FieldRef::Json(&self.json[e.at as usize]);
        }
        let start = e.at as usize;
        FieldRef::Text(&self.text[start..start + e.len as usize])
    }
}

impl From<BTreeMap<String, Value>> for Fields {
    fn from(map: BTreeMap<String, Value>) -> Self {
        let text_len: usize = map.values().filter_map(Value::as_str).map(str::len).sum();
        let mut text = String::with_capacity(text_len);
        let mut json = Vec::new();
        let mut names = Vec::with_capacity(map.len());
        let mut spans = Vec::with_capacity(map.len());
        for (name, v) in map {
            names.push(intern(&name));
            let in_text = match &v {
                Value::String(s) => u32::try_from(text.len())
                    .ok()
                    .zip(u32::try_from(s.len()).ok().filter(|&l| l != JSON)),
                _ => None,
            };
            let span = match (in_text, v) {
                (Some((at, len)), Value::String(s)) => {
                    text.push_str(&s);
                    Span { at, len }
                }
                // Text past 4 GiB cannot be a span; it is kept as JSON like any other value.
                (_, v) => {
                    json.push(v);
                    let at = u32::try_from(json.len() - 1).unwrap_or(JSON);
                    Span { at, len: JSON }
                }
            };
            spans.push(span);
        }
        Fields {
            names: intern_names(names),
            spans: spans.into_boxed_slice(),
            text: text.into_boxed_str(),
            json: json.into_boxed_slice(),
        }
    }
}

impl<K: Into<String>> FromIterator<(K, Value)> for Fields {
    fn from_iter<I: IntoIterator<Item = (K, Value)>>(iter: I) -> Self {
        let map: BTreeMap<String, Value> = iter.into_iter().map(|(k, v)| (k.into(), v)).collect();
        Fields::from(map)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Serialize for Fields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<String, Value>::deserialize(d).map(Fields::from)
    }
}

/// Names kept per thread before the cache starts afresh: a source with ever-new column
/// names must not grow it without bound.
const NAMES_KEPT: usize = 4096;

thread_local! {
    static NAMES: RefCell<BTreeSet<Arc<str>>> = const { RefCell::new(BTreeSet::new()) };
    static NAME_LISTS: RefCell<BTreeSet<Names>> = const { RefCell::new(BTreeSet::new()) };
}

/// One shared list of field names per thread for the records with the same fields (a
/// source's records mostly have the same), so that each holds a pointer, not a list.
fn intern_names(names: Vec<Arc<str>>) -> Names {
    NAME_LISTS.with(|lists| {
        let mut lists = lists.borrow_mut();
        if let Some(l) = lists.get(names.as_slice()) {
            return Arc::clone(l);
        }
        if lists.len() >= NAMES_KEPT {
            lists.clear();
        }
        let l: Names = names.into();
        lists.insert(Arc::clone(&l));
        l
    })
}

/// One shared copy of a field name per thread, so a million records do not each own
/// their "first_name".
fn intern(name: &str) -> Arc<str> {
    NAMES.with(|names| {
        let mut names = names.borrow_mut();
        if let Some(n) = names.get(name) {
            return Arc::clone(n);
        }
        if names.len() >= NAMES_KEPT {
            names.clear();
        }
        let n: Arc<str> = Arc::from(name);
        names.insert(Arc::clone(&n));
        n
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> BTreeMap<String, Value> {
        let v = json!({
            "first_name": "Ada", "last_name": "Lovelace", "empty": "",
            "age": 36, "remote": true, "tags": ["a", "b"], "nested": {"x": 1}
        });
        serde_json::from_value(v).expect("map")
    }

    #[test]
    fn reads_back_every_value_and_serialises_as_the_map_did() {
        let map = sample();
        let f = Fields::from(map.clone());
        assert_eq!(f.len(), map.len());
        assert_eq!(f.to_map(), map);
        assert_eq!(f.get_str("first_name"), Some("Ada"));
        assert_eq!(f.get("empty"), Some(FieldRef::Text("")));
        assert_eq!(f.get("age"), Some(FieldRef::Json(&json!(36))));
        assert_eq!(f.get("missing"), None);
        assert_eq!(
            serde_json::to_string(&f).expect("json"),
            serde_json::to_string(&map).expect("json")
        );
        let back: Fields =
            serde_json::from_str(&serde_json::to_string(&f).expect("json")).expect("fields");
        assert_eq!(back, f);
        let names: Vec<&str> = f.keys().collect();
        let expected: Vec<&str> = map.keys().map(String::as_str).collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn insert_remove_and_overlay_edit_the_record() {
        let mut f = Fields::from(sample());
        f.insert("first_name".into(), json!("Augusta"));
        f.insert("zeta".into(), json!("z"));
        assert_eq!(f.get_str("first_name"), Some("Augusta"));
        assert_eq!(f.remove("age"), Some(json!(36)));
        assert!(!f.contains_key("age"));
        assert_eq!(f.remove("age"), None);
        let over: Fields = [
            ("first_name", json!("")),
            ("last_name", json!("King")),
            ("remote", Value::Null),
        ]
        .into_iter()
        .collect();
        f.overlay(&over);
        assert_eq!(f.get_str("first_name"), Some("Augusta"), "blank loses");
        assert_eq!(f.get_str("last_name"), Some("King"));
        assert_eq!(f.get("remote"), Some(FieldRef::Json(&json!(true))));
        assert_eq!(f.get_str("zeta"), Some("z"));
    }

    #[test]
    fn names_are_shared_between_records() {
        let a = Fields::from(sample());
        let b = Fields::from(sample());
        assert!(Arc::ptr_eq(&a.names, &b.names));
        assert!(Arc::ptr_eq(&a.names[0], &b.names[0]));
        let other = Fields::from(BTreeMap::from([("first_name".to_string(), json!("Ada"))]));
        assert!(!Arc::ptr_eq(&a.names, &other.names));
        assert_eq!(other.keys().collect::<Vec<_>>(), ["first_name"]);
    }
}
