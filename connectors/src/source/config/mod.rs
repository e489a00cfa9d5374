//! Source configuration: one `[[sources]]` table as the user writes it — the common keys
//! every source has, plus the keys of its `kind` — and the static checks run before use.

mod check;
mod kinds;
#[cfg(test)]
mod tests;
mod webhook;

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

pub use check::{ConfigProblem, PointerError};
pub use kinds::{
    BambooHrConfig, CsvConfig, CsvEncoding, GroupRule, HttpJsonConfig, Pagination, PersonioConfig,
    ScimSourceConfig, WorkdayRaasConfig,
};

pub use webhook::{WebhookConfig, WebhookStyle};

use super::Lifecycle;

/// Why one `[[sources]]` table cannot be read into a [`SourceConfig`]: a configuration
/// error (exit 2) that names the offending key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    /// `kind` is absent.
    #[error("missing field `kind`")]
    MissingKind,
    /// `kind` is not a string.
    #[error("invalid type for `kind`: {found}, expected a string")]
    KindNotAString {
        /// The TOML/JSON type found instead.
        found: &'static str,
    },
    /// `kind` names no known source.
    #[error("unknown source kind `{kind}`, expected one of {}", expected_kinds())]
    UnknownKind {
        /// The value given.
        kind: String,
    },
    /// A key is unknown, missing or of the wrong type (serde's message, after the nested
    /// key path when there is one).
    #[error("{0}")]
    Key(String),
}

fn expected_kinds() -> String {
    let expected: Vec<String> = KINDS.iter().map(|k| format!("`{k}`")).collect();
    expected.join(", ")
}

/// The keys every source has, whatever its kind.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommonConfig {
    /// Unique name of the source, used in reports, state and errors.
    pub name: String,
    /// The hrsync field (after `fields` mapping) or source field that identifies a person.
    /// Default `employee_id`; `id` for `bamboohr`, `personio` and `scim`.
    #[serde(default)]
    pub key: Option<String>,
    /// Attribute precedence when several sources know a person: higher wins.
    #[serde(default)]
    pub priority: i64,
    /// hrsync field name → the source's field: a column or property name, an RFC 6901
    /// JSON pointer (`/work/email`), or a dotted path (`work.email`). Without an entry,
    /// a source's top-level fields are taken under their own names.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The source's own status values → `active`, `leave` or `terminated`
    /// (compared case-insensitively).
    #[serde(default)]
    pub status_map: BTreeMap<String, Lifecycle>,
    /// hrsync fields that must be present and non-empty, or the record is quarantined.
    #[serde(default)]
    pub required: Vec<String>,
    /// Extra date formats (chrono `strftime` syntax, e.g. `%m/%d/%Y`) tried after ISO 8601,
    /// in order, for `start_date` and `end_date`.
    #[serde(default)]
    pub date_formats: Vec<String>,
    /// Fields whose values must be e-mail addresses, besides the field named `email`.
    #[serde(default)]
    pub email_fields: Vec<String>,
    /// Accept signed HR webhooks for this source on the admin endpoint.
    #[serde(default)]
    pub webhook: Option<WebhookConfig>,
}

/// The keys that belong to one kind of source.
#[derive(Debug, Clone, PartialEq)]
pub enum KindConfig {
    /// `kind = "csv"`.
    Csv(CsvConfig),
    /// `kind = "http_json"`.
    HttpJson(HttpJsonConfig),
    /// `kind = "bamboohr"`.
    BambooHr(BambooHrConfig),
    /// `kind = "workday_raas"`.
    WorkdayRaas(WorkdayRaasConfig),
    /// `kind = "personio"`.
    Personio(PersonioConfig),
    /// `kind = "scim"`.
    Scim(ScimSourceConfig),
}

/// Every value `kind` may take.
pub const KINDS: [&str; 6] = [
    "csv",
    "http_json",
    "bamboohr",
    "workday_raas",
    "personio",
    "scim",
];

/// Keys read into [`CommonConfig`]; every other key belongs to the kind.
const COMMON_KEYS: [&str; 9] = [
    "name",
    "key",
    "priority",
    "fields",
    "status_map",
    "required",
    "date_formats",
    "email_fields",
    "webhook",
];

impl KindConfig {
    /// The `kind` value (`csv`, `http_json`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            KindConfig::Csv(_) => "csv",
            KindConfig::HttpJson(_) => "http_json",
            KindConfig::BambooHr(_) => "bamboohr",
            KindConfig::WorkdayRaas(_) => "workday_raas",
            KindConfig::Personio(_) => "personio",
            KindConfig::Scim(_) => "scim",
        }
    }

    /// The key field used when the config names none.
    pub fn default_key(&self) -> &'static str {
        match self {
            KindConfig::BambooHr(_) | KindConfig::Personio(_) | KindConfig::Scim(_) => "id",
            _ => "employee_id",
        }
    }
}

/// One `[[sources]]` entry: the common keys and the kind-specific ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceConfig {
    /// Keys every source has.
    pub common: CommonConfig,
    /// Keys of this kind.
    pub kind: KindConfig,
}

impl SourceConfig {
    /// The source's name.
    pub fn name(&self) -> &str {
        &self.common.name
    }

    /// The source's priority (higher wins when sources disagree).
    pub fn priority(&self) -> i64 {
        self.common.priority
    }

    /// The effective key field (configured, or the kind's default).
    pub fn key(&self) -> &str {
        self.common
            .key
            .as_deref()
            .unwrap_or_else(|| self.kind.default_key())
    }

    /// Builds a config from one table (already parsed), splitting common from kind keys.
    /// The error text names the offending key.
    pub fn from_table(mut table: Map<String, Value>) -> Result<Self, TableError> {
        let kind = match table.remove("kind") {
            Some(Value::String(k)) => k,
            Some(other) => {
                return Err(TableError::KindNotAString {
                    found: type_name(&other),
                })
            }
            None => return Err(TableError::MissingKind),
        };
        let mut common = Map::new();
        let mut rest = Map::new();
        for (k, v) in table {
            if COMMON_KEYS.contains(&k.as_str()) {
                common.insert(k, v);
            } else {
                rest.insert(k, v);
            }
        }
        let common: CommonConfig = from_value(common)?;
        let kind = match kind.as_str() {
            "csv" => KindConfig::Csv(from_value(rest)?),
            "http_json" => KindConfig::HttpJson(from_value(rest)?),
            "bamboohr" => KindConfig::BambooHr(from_value(rest)?),
            "workday_raas" => KindConfig::WorkdayRaas(from_value(rest)?),
            "personio" => KindConfig::Personio(from_value(rest)?),
            "scim" => KindConfig::Scim(from_value(rest)?),
            other => {
                return Err(TableError::UnknownKind {
                    kind: other.to_string(),
                })
            }
        };
        Ok(SourceConfig { common, kind })
    }

    /// Static checks that need no I/O: URLs parse and obey the TLS policy, pointers are
    /// well-formed, limits are in range, date formats are valid.
    pub fn validate(&self) -> Result<(), ConfigProblem> {
        check::validate(self)
    }
}

impl<'de> Deserialize<'de> for SourceConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Reading the table generically first lets the kind decide which struct (each with
        // deny_unknown_fields) reads the remaining keys, so a typo is named precisely.
        let table = Map::<String, Value>::deserialize(deserializer)?;
        SourceConfig::from_table(table).map_err(D::Error::custom)
    }
}

/// Deserializes a part of the table, prefixing errors with the nested key path if any.
fn from_value<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, TableError> {
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        TableError::Key(if path.is_empty() || path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        })
    })
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "table",
    }
}
