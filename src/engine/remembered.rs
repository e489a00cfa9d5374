//! What the snapshot remembers of a source's persons, as merging reads it: records held
//! parsed, or stored texts parsed only when merging needs them.

use std::collections::BTreeMap;

use hrsync_connectors::source::Person;

/// What the snapshot knows of one source: key → (record, absent count).
pub type Snapshot = BTreeMap<String, (Person, u32)>;

/// A snapshot as stored: key → (record text, absent count). Only the texts of the records
/// merging needs are loaded ([`records_needed`](super::read::records_needed)), and only those
/// are parsed.
pub type StoredSnapshot = BTreeMap<String, (StoredRecord, u32)>;

/// A stored snapshot row as a cycle loads it: its hash always, its text only when merging
/// needs the record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredRecord {
    /// The record as stored (JSON), when loaded.
    pub text: Option<String>,
    /// The record's hash as stored (`None`: not one hrsync wrote).
    pub hash: Option<[u8; 32]>,
}

impl Remembered for StoredRecord {
    fn person(&self, source: &str, key: &str) -> Option<Person> {
        self.text.person(source, key)
    }
}

/// One snapshot entry as merging needs it: the last known record, read when needed.
pub trait Remembered {
    /// The record; `None` when it cannot be read (logged, and the entry ignored).
    fn person(&self, source: &str, key: &str) -> Option<Person>;
}

impl Remembered for Person {
    fn person(&self, _source: &str, _key: &str) -> Option<Person> {
        Some(self.clone())
    }
}

impl Remembered for String {
    fn person(&self, source: &str, key: &str) -> Option<Person> {
        match serde_json::from_str(self) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(source, key, error = %e, "Snapshot record unreadable; ignored.");
                None
            }
        }
    }
}

impl Remembered for Option<String> {
    fn person(&self, source: &str, key: &str) -> Option<Person> {
        match self {
            Some(text) => text.person(source, key),
            None => {
                // Not loaded: `records_needed` names every record merging reads.
                tracing::warn!(source, key, "Snapshot record not loaded; ignored.");
                None
            }
        }
    }
}
