//! Turning raw records into persons, the same way for every kind of source: field
//! mapping, text normalisation, key, required fields, e-mails, status vocabulary, dates,
//! duplicate keys. A bad record is set aside as [`Rejected`]; the good ones still come out.

mod dates;
mod lookup;
/// The keys read more than once, each with every position it was read at, in the order
/// read: one sorted list of the keys, not a map entry per record.
fn duplicates(outcomes: &[Outcome]) -> BTreeMap<String, Vec<Position>> {
    use rayon::prelude::*;
    let mut keys: Vec<(&str, usize)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, (_, key, _))| key.as_deref().map(|k| (k, i)))
        .collect();
    keys.par_sort_unstable();
    keys.chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| {
            let at = run.iter().map(|(_, i)| outcomes[*i].0.clone()).collect();
            (run[0].0.to_string(), at)
        })
        .collect()
}

#[cfg(test)]
mod tests;
mod text;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

pub use dates::{parse_date, DateRules};
pub use lookup::{lookup, pointer};
pub use text::{
    check_key, check_value, cut, excerpt, is_valid_email, normalize_owned, normalize_text,
    MAX_FIELD_BYTES, MAX_MESSAGE_BYTES,
};

use super::config::CommonConfig;
use super::{Fields, Lifecycle, Person, Position, Rejected, SourceRead};

/// One record as a source delivered it, before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    /// Where it sits in the source.
    pub position: Position,
    /// The record: a JSON object (CSV rows are objects of column → text).
    pub value: Value,
}

/// What a kind of source adds to the user's config: its default field mapping, its own
/// status vocabulary and date forms.
#[derive(Debug, Clone, Default)]
pub struct VendorRules {
    /// hrsync field ← source field, used where the user's `fields` has no entry.
    pub fields: Vec<(&'static str, &'static str)>,
    /// The source's status values (lower case) and what they mean.
    pub statuses: Vec<(&'static str, Lifecycle)>,
    /// `0000-00-00` means "no date".
    pub zero_date_is_none: bool,
    /// Dates may carry a UTC offset (`2024-03-01-08:00`).
    pub offset_dates: bool,
}

/// The field names the lifecycle reads.
const LIFECYCLE_FIELDS: [&str; 4] = ["status", "start_date", "end_date", "manager_id"];

/// What normalising one record gives: its position, its key when it could be read, and
/// the person or why it was set aside.
type Outcome = (Position, Option<String>, Result<Person, Rejected>);

/// Reads of at least this many records are normalised on every core.
const PARALLEL_FROM: usize = 20_000;

/// Validates and normalises the records of one read.
#[derive(Debug, Clone)]
pub struct Normalizer {
    source: String,
    key: String,
    mappings: Vec<(String, String)>,
    vendor_mappings: Vec<(String, String)>,
    required: Vec<String>,
    emails: BTreeSet<String>,
    statuses: BTreeMap<String, Lifecycle>,
    dates: DateRules,
}

impl Normalizer {
    /// A normalizer for the source `common` describes, whose key field is `key`.
    pub fn new(common: &CommonConfig, key: &str, vendor: &VendorRules) -> Self {
        let mut mappings: BTreeMap<String, String> = common.fields.clone();
        let vendor_mappings: Vec<(String, String)> = vendor
            .fields
            .iter()
            .filter(|(f, _)| !mappings.contains_key(*f))
            .map(|(f, s)| (f.to_string(), s.to_string()))
            .collect();
        if !vendor_mappings.iter().any(|(f, _)| f == key) {
            mappings
                .entry(key.to_string())
                .or_insert_with(|| key.to_string());
        }
        let mut statuses: BTreeMap<String, Lifecycle> =
            [Lifecycle::Active, Lifecycle::Leave, Lifecycle::Terminated]
                .into_iter()
                .map(|l| (l.as_str().to_string(), l))
                .collect();
        for (v, l) in &vendor.statuses {
            statuses.insert(v.to_lowercase(), *l);
        }
        for (v, l) in &common.status_map {
            statuses.insert(v.trim().to_lowercase(), *l);
        }
        let mut emails: BTreeSet<String> = common.email_fields.iter().cloned().collect();
        emails.insert("email".into());
        Normalizer {
            source: common.name.clone(),
            key: key.to_string(),
            mappings: mappings.into_iter().collect(),
            vendor_mappings,
            required: common.required.clone(),
            emails,
            statuses,
            dates: DateRules {
                formats: common.date_formats.clone(),
                zero_is_none: vendor.zero_date_is_none,
                offset_dates: vendor.offset_dates,
            },
        }
    }

    /// The source name.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The key field.
    pub fn key_field(&self) -> &str {
        &self.key
    }

    /// The source field each hrsync field is read from, as configured (the key included
    /// unless the vendor's defaults map it); these never fall back to a same-named field.
    pub fn mappings(&self) -> &[(String, String)] {
        &self.mappings
    }

    /// The hrsync fields every record must have (`required`).
    pub fn required(&self) -> &[String] {
        &self.required
    }

    /// The source field the key is read from.
    pub fn key_spec(&self) -> &str {
        self.mappings
            .iter()
            .chain(self.vendor_mappings.iter())
            .find(|(f, _)| *f == self.key)
            .map(|(_, s)| s.as_str())
            .unwrap_or(&self.key)
    }

    /// A rejection from this source. Its texts are bounded (a damaged row can be
    /// megabytes), and a key that could not be a valid key (too long, control characters)
    /// counts as unreadable: it names nobody.
    pub fn reject(
        &self,
        position: Position,
        key: Option<String>,
        field: Option<&str>,
        reason: impl Into<String>,
    ) -> Rejected {
        Rejected {
            source: self.source.clone(),
            key: key.filter(|k| !k.is_empty() && check_key(k).is_ok()),
            position,
            field: field.map(|f| cut(f, MAX_MESSAGE_BYTES)),
            reason: cut(&reason.into(), MAX_MESSAGE_BYTES),
        }
    }

    /// Normalises one read: persons sorted by key, records with the same key all set
    /// aside, `rejected` (problems found while reading) kept, everything ordered by position.
    pub fn finish(&self, records: Vec<RawRecord>, mut rejected: Vec<Rejected>) -> SourceRead {
        let warnings = lookup::unresolved(&self.mappings, &records);
        let outcomes = self.records(records);
        let duplicates = duplicates(&outcomes);
        let mut persons = Vec::new();
        for (pos, key, result) in outcomes {
            if let Some(all) = key.as_ref().and_then(|k| duplicates.get(k)) {
                let others: Vec<String> = all
                    .iter()
                    .filter(|p| **p != pos)
                    .map(|p| p.to_string())
                    .collect();
                let also = if others.is_empty() {
                    "the same position".to_string()
                } else {
                    others.join(", ")
                };
                tracing::warn!(source = %self.source, key = key.as_deref().unwrap_or_default(), position = %pos, "Duplicate key.");
                rejected.push(self.reject(
                    pos,
                    key,
                    Some(&self.key),
                    format!("duplicate key (also at {also})"),
                ));
                continue;
            }
            match result {
                Ok(p) => persons.push(p),
                Err(r) => rejected.push(r),
            }
        }
        persons.sort_by(|a, b| a.key.cmp(&b.key));
        rejected.sort_by(|a, b| a.position.cmp(&b.position));
        SourceRead {
            persons,
            rejected,
            complete: true,
            deleted_keys: Vec::new(),
            watermark: None,
            warnings,
        }
    }

    /// One record: its key when readable (for duplicate detection), and the outcome.
    /// Each record's position, key (when it could be read) and person or rejection, in
    /// the records' order. A large read is normalised on every core: records are
    /// independent of each other.
    fn records(&self, records: Vec<RawRecord>) -> Vec<Outcome> {
        use rayon::prelude::*;
        let one = |r: RawRecord| {
            let pos = r.position.clone();
            let (key, result) = self.record(r);
            (pos, key, result)
        };
        if records.len() < PARALLEL_FROM {
            return records.into_iter().map(one).collect();
        }
        records
            .into_par_iter()
            .with_min_len(1024)
            .map(one)
            .collect()
    }

    fn record(&self, raw: RawRecord) -> (Option<String>, Result<Person, Rejected>) {
        let pos = raw.position;
        let Value::Object(obj) = raw.value else {
            return (
                None,
                Err(self.reject(pos, None, None, "record is not a JSON object")),
            );
        };
        let mut fields = self.map_fields(obj);
        let key = match self.read_key(&mut fields) {
            Ok(k) => k,
            Err(reason) => return (None, Err(self.reject(pos, None, Some(&self.key), reason))),
        };
        let reject = |field: &str, reason: String| {
            Err(self.reject(pos.clone(), Some(key.clone()), Some(field), reason))
        };
        let mut normal = BTreeMap::new();
        for (name, v) in std::mem::take(&mut fields) {
            match normalize_value(v) {
                Ok(Some(v)) => {
                    normal.insert(name, v);
                }
                Ok(None) => {}
                Err(e) => {
                    return (
                        Some(key.clone()),
                        reject(&name, format!("field `{name}`: {e}")),
                    )
                }
            }
        }
        let mut fields = normal;
        let result = match self.lifecycle(&key, &mut fields) {
            Err((field, reason)) => reject(&field, reason),
            Ok(l) => Ok(Person {
                key: key.clone(),
                source: self.source.clone(),
                status: l.status,
                start_date: l.start_date,
                end_date: l.end_date,
                manager_id: l.manager_id,
                fields: Fields::from(fields),
                position: pos,
            }),
        };
        (Some(key), result)
    }

    /// Builds the field map: top-level scalars under their own names, then the vendor's
    /// default mappings where their source field exists, then the configured mappings (a
    /// configured name is never taken from the pass-through, even when its source is absent).
    fn map_fields(&self, obj: Map<String, Value>) -> BTreeMap<String, Value> {
        // The mapped values are looked up first, so that the record's own values can then
        // be moved, not copied.
        let overlay: Vec<(&String, Value)> = self
            .vendor_mappings
            .iter()
            .chain(self.mappings.iter())
            .filter_map(|(field, spec)| {
                lookup(&obj, spec)
                    .filter(|v| !v.is_null())
                    .map(|v| (field, v.clone()))
            })
            .collect();
        // A handful of mapped fields: looked through, not gathered into a set per record.
        let mapped = |k: &str| self.mappings.iter().any(|(f, _)| f == k);
        let mut fields: BTreeMap<String, Value> = obj
            .into_iter()
            .filter(|(k, v)| !mapped(k) && is_scalar(v))
            .collect();
        for (field, v) in overlay {
            fields.insert(field.clone(), v);
        }
        fields
    }

    fn read_key(&self, fields: &mut BTreeMap<String, Value>) -> Result<String, String> {
        let key = match fields.get(&self.key) {
            None => None,
            Some(Value::String(s)) => Some(normalize_text(s)),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(other) => {
                let text = cut(&other.to_string(), 80);
                return Err(format!(
                    "key field `{}` is not text or a number: {text}",
                    self.key
                ));
            }
        };
        let key = match key {
            Some(k) if !k.is_empty() => k,
            _ => return Err(format!("missing key (field `{}` is empty)", self.key)),
        };
        check_key(&key).map_err(|e| format!("invalid key: {e}"))?;
        fields.insert(self.key.clone(), Value::String(key.clone()));
        Ok(key)
    }

    /// Required fields, e-mails, status, dates and manager, in that order; the first
    /// problem names its field.
    fn lifecycle(
        &self,
        key: &str,
        fields: &mut BTreeMap<String, Value>,
    ) -> Result<LifecycleFields, (String, String)> {
        for r in &self.required {
            if !fields.contains_key(r) {
                return Err((r.clone(), format!("required field `{r}` is empty")));
            }
        }
        for e in &self.emails {
            if let Some(v) = fields.get(e) {
                let text = as_text(v);
                if !is_valid_email(&text) {
                    return Err((e.clone(), format!("invalid email address {text:?}")));
                }
            }
        }
        let mut lifecycle_text = BTreeMap::new();
        for f in LIFECYCLE_FIELDS {
            if let Some(v) = fields.get(f) {
                match v {
                    Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                        lifecycle_text.insert(f, as_text(v));
                    }
                    other => {
                        return Err((
                            f.to_string(),
                            format!("`{f}` must be text, not {}", short(other)),
                        ))
                    }
                }
            }
        }
        let status = match lifecycle_text.get("status") {
            None => Lifecycle::Active,
            Some(s) => match self.statuses.get(&s.to_lowercase()) {
                Some(l) => *l,
                None => {
                    let known: Vec<&str> = self.statuses.keys().map(String::as_str).collect();
                    return Err((
                        "status".into(),
                        format!(
                            "unknown status {s:?} (known: {}; add it to status_map)",
                            known.join(", ")
                        ),
                    ));
                }
            },
        };
        fields.insert("status".into(), Value::String(status.as_str().into()));
        let mut date = |f: &str| -> Result<Option<chrono::NaiveDate>, (String, String)> {
            let Some(text) = lifecycle_text.get(f) else {
                return Ok(None);
            };
            match parse_date(text, &self.dates) {
                Ok(Some(d)) => {
                    fields.insert(f.into(), Value::String(d.format("%Y-%m-%d").to_string()));
                    Ok(Some(d))
                }
                Ok(None) => {
                    fields.remove(f);
                    Ok(None)
                }
                Err(e) => Err((f.to_string(), e)),
            }
        };
        let start = date("start_date")?;
        let end = date("end_date")?;
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                return Err((
                    "end_date".into(),
                    format!("end_date {e} is before start_date {s}"),
                ));
            }
        }
        let manager = lifecycle_text.get("manager_id").cloned();
        if let Some(m) = &manager {
            if m == key {
                tracing::debug!(source = %self.source, key, "Person is their own manager.");
            }
            fields.insert("manager_id".into(), Value::String(m.clone()));
        }
        Ok(LifecycleFields {
            status,
            start_date: start,
            end_date: end,
            manager_id: manager,
        })
    }
}

/// The lifecycle part of a person, read from its fields.
struct LifecycleFields {
    status: Lifecycle,
    start_date: Option<chrono::NaiveDate>,
    end_date: Option<chrono::NaiveDate>,
    manager_id: Option<String>,
}

/// Taken under its own name without a mapping: scalars and lists of scalars.
fn is_scalar(v: &Value) -> bool {
    match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
        Value::Array(items) => items
            .iter()
            .all(|i| matches!(i, Value::String(_) | Value::Number(_) | Value::Bool(_))),
        _ => false,
    }
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
        Value::Null => "null",
        _ => "a scalar",
    }
}

/// Normalises one value: strings trimmed and NFC (empty = absent), lists of strings
/// likewise, objects kept whole; every string checked for control characters and size.
fn normalize_value(v: Value) -> Result<Option<Value>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => {
            let t = normalize_owned(s);
            check_value(&t)?;
            Ok((!t.is_empty()).then_some(Value::String(t)))
        }
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Some(v) = normalize_value(item)? {
                    out.push(v);
                }
            }
            let size = serde_json::to_string(&out).map(|s| s.len()).unwrap_or(0);
            if size > MAX_FIELD_BYTES {
                return Err(format!(
                    "value is {size} bytes, over the {MAX_FIELD_BYTES}-byte limit"
                ));
            }
            Ok((!out.is_empty()).then_some(Value::Array(out)))
        }
        Value::Object(m) => {
            let size = serde_json::to_string(&m).map(|s| s.len()).unwrap_or(0);
            if size > MAX_FIELD_BYTES {
                return Err(format!(
                    "value is {size} bytes, over the {MAX_FIELD_BYTES}-byte limit"
                ));
            }
            Ok(Some(Value::Object(m)))
        }
        other => Ok(Some(other)),
    }
}
