//! A person's mapped attributes for an app, held once however many apps and operations
//! use them: the apps of one mapping class take clones of the same attributes, and the
//! creates planned from them share one map of what is sent.

use std::sync::{Arc, LazyLock};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::{AttrMap, Mapped};

/// The path every account carries the person's key at, shared by every map that holds it.
static EXTERNAL_ID: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from("externalId"));

/// SCIM path → mapped value; empty renderings left out. Clones share the values.
#[derive(Debug, Clone, Default)]
pub struct MappedAttrs {
    /// Plain values by SCIM path.
    values: Arc<AttrMap>,
    /// References to other persons (`| ref`): (SCIM path, the target's HR key), in path
    /// order. Most persons have one or none; a list holds them without a map's node, and
    /// the plan's pending references share its strings.
    refs: Arc<[(Arc<str>, Arc<str>)]>,
}

impl MappedAttrs {
    /// The attributes an account of the person is sent: what the templates rendered, and
    /// the person's HR key as `externalId` (every account carries it, whatever a template
    /// says), so that the creates of every app share these values as they are.
    pub fn sent(rendered: impl IntoIterator<Item = (Arc<str>, Mapped)>, key: &str) -> Self {
        // The paths are the app's templates', each once.
        let mut values = Vec::new();
        let mut refs = Vec::new();
        for (path, m) in rendered {
            match m {
                Mapped::Value(v) => values.push((path, v)),
                Mapped::PersonRef(k) => refs.push((path, Arc::from(k))),
            }
        }
        if refs.iter().all(|(p, _)| *p != *EXTERNAL_ID) {
            // Last, so it replaces what a template mapped there.
            values.push((EXTERNAL_ID.clone(), Value::String(key.into())));
        }
        refs.sort();
        MappedAttrs {
            values: Arc::new(values.into_iter().collect()),
            refs: refs.into(),
        }
    }

    /// The value mapped for `path`, unless it is a reference.
    pub fn value(&self, path: &str) -> Option<&Value> {
        self.values.get(path)
    }

    /// Plain values by SCIM path.
    pub fn values(&self) -> &Arc<AttrMap> {
        &self.values
    }

    /// References to other persons by SCIM path: (path, the target's HR key).
    pub fn refs(&self) -> impl Iterator<Item = (&Arc<str>, &Arc<str>)> {
        self.refs.iter().map(|(p, k)| (p, k))
    }

    /// Every SCIM path mapped, values and references, in path order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let mut all: Vec<&str> = self
            .values
            .keys()
            .chain(self.refs.iter().map(|(p, _)| &**p))
            .collect();
        all.sort();
        all.into_iter()
    }

    /// Sets the value or reference mapped for `path` (this clone's own copy from then on).
    pub fn insert(&mut self, path: String, m: Mapped) {
        let path: Arc<str> = path.into();
        let mut refs: Vec<(Arc<str>, Arc<str>)> = self
            .refs
            .iter()
            .filter(|(p, _)| **p != *path)
            .cloned()
            .collect();
        match m {
            Mapped::Value(v) => {
                Arc::make_mut(&mut self.values).insert(path, v);
            }
            Mapped::PersonRef(k) => {
                Arc::make_mut(&mut self.values).remove(&path);
                refs.push((path, k.into()));
                refs.sort();
            }
        }
        self.refs = refs.into();
    }

    /// Whether nothing was mapped.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.refs.is_empty()
    }

    /// The plain values with `externalId` set to `key`: the values themselves, shared by
    /// every clone (so by every app of the class), when they carry it, as the attributes
    /// an account is [sent](MappedAttrs::sent) do; otherwise a copy that does.
    pub fn values_with(&self, key: &str) -> Arc<AttrMap> {
        if self.values.get("externalId").and_then(Value::as_str) == Some(key) {
            return self.values.clone();
        }
        let mut m = (*self.values).clone();
        m.insert(EXTERNAL_ID.clone(), Value::String(key.to_string()));
        Arc::new(m)
    }
}

impl FromIterator<(String, Mapped)> for MappedAttrs {
    fn from_iter<I: IntoIterator<Item = (String, Mapped)>>(iter: I) -> Self {
        let mut attrs = MappedAttrs::default();
        for (path, m) in iter {
            attrs.insert(path, m);
        }
        attrs
    }
}

impl PartialEq for MappedAttrs {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values && self.refs == other.refs
    }
}

/// One entry as [`Mapped`] serialises, borrowed.
#[derive(serde::Serialize)]
#[serde(rename = "Mapped")]
enum MappedRef<'a> {
    Value(&'a Value),
    PersonRef(&'a str),
}

impl Serialize for MappedAttrs {
    /// As the map of path → [`Mapped`] it stands for, in path order.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&str, MappedRef<'_>)> = self
            .values
            .iter()
            .map(|(p, v)| (p, MappedRef::Value(v)))
            .chain(
                self.refs
                    .iter()
                    .map(|(p, k)| (&**p, MappedRef::PersonRef(k))),
            )
            .collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let mut map = serializer.serialize_map(Some(entries.len()))?;
        for (p, m) in entries {
            map.serialize_entry(p, &m)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn attrs() -> MappedAttrs {
        [
            (
                "userName".to_string(),
                Mapped::Value(json!("ann@corp.example")),
            ),
            ("manager".to_string(), Mapped::PersonRef("E1".into())),
            ("active".to_string(), Mapped::Value(json!(true))),
        ]
        .into_iter()
        .collect()
    }

    #[test]
    fn serialises_as_the_map_of_mapped_values() {
        let map: BTreeMap<String, Mapped> = [
            (
                "userName".to_string(),
                Mapped::Value(json!("ann@corp.example")),
            ),
            ("manager".to_string(), Mapped::PersonRef("E1".into())),
            ("active".to_string(), Mapped::Value(json!(true))),
        ]
        .into();
        let ours = serde_json::to_string(&attrs()).expect("json");
        assert_eq!(ours, serde_json::to_string(&map).expect("json"));
    }

    #[test]
    fn values_and_references_read_back() {
        let a = attrs();
        assert_eq!(a.value("userName"), Some(&json!("ann@corp.example")));
        assert_eq!(a.value("manager"), None);
        let refs: Vec<_> = a.refs().collect();
        assert_eq!(refs, vec![(&Arc::from("manager"), &Arc::from("E1"))]);
        let paths: Vec<&str> = a.paths().collect();
        assert_eq!(paths, ["active", "manager", "userName"]);
    }

    #[test]
    fn the_keyed_values_carry_the_key_whatever_was_mapped() {
        let a = attrs();
        let b = a.clone();
        let first = a.values_with("E7");
        assert_eq!(first.get("externalId"), Some(&json!("E7")));
        assert_eq!(first.get("userName"), Some(&json!("ann@corp.example")));
        assert_eq!(a.value("externalId"), None, "the mapped values changed");
        // Another key is never given the first one's map.
        assert_eq!(b.values_with("E8").get("externalId"), Some(&json!("E8")));
    }

    #[test]
    fn what_is_sent_carries_the_key_and_shares_it() {
        let rendered: BTreeMap<String, Mapped> = [
            (
                "userName".to_string(),
                Mapped::Value(json!("ann@corp.example")),
            ),
            (
                "externalId".to_string(),
                Mapped::Value(json!("from-a-template")),
            ),
        ]
        .into();
        let a = MappedAttrs::sent(rendered.into_iter().map(|(p, m)| (Arc::from(p), m)), "E7");
        assert_eq!(a.value("externalId"), Some(&json!("E7")));
        assert!(Arc::ptr_eq(a.values(), &a.values_with("E7")), "copied");
    }

    #[test]
    fn a_later_entry_for_a_path_replaces_the_earlier() {
        let a: MappedAttrs = [
            ("manager".to_string(), Mapped::Value(json!("x"))),
            ("manager".to_string(), Mapped::PersonRef("E2".into())),
        ]
        .into_iter()
        .collect();
        assert_eq!(a.value("manager"), None);
        assert_eq!(a.refs().count(), 1);
    }
}
