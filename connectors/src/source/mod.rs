//! HR sources: the [`Source`] trait, the person records every source produces, and the
//! errors a source reports, each documented by what the engine does with it.

pub mod bamboohr;
mod build;
pub mod config;
pub mod csv;
mod fields;
pub mod http_json;
mod net;
pub mod normalize;
pub mod personio;
pub mod scim;
pub mod workday_raas;

pub use build::{build, BuildError};
pub use config::{
    CommonConfig, ConfigProblem, KindConfig, SourceConfig, TableError, WebhookConfig, WebhookStyle,
};
pub use fields::{FieldRef, Fields};

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A person's lifecycle status, normalised from the source's own vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Employed and working.
    Active,
    /// Employed, on leave.
    Leave,
    /// No longer employed.
    Terminated,
}

impl Lifecycle {
    /// The canonical name (`active`, `leave`, `terminated`).
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Active => "active",
            Lifecycle::Leave => "leave",
            Lifecycle::Terminated => "terminated",
        }
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a record sits in its source, for error messages.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// A line in a file (1-based, header is line 1).
    Line(u64),
    /// The n-th record (0-based) of the source's response(s).
    Index(u64),
    /// Unknown.
    #[default]
    Unknown,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::Line(l) => write!(f, "line {l}"),
            Position::Index(i) => write!(f, "record #{i}"),
            Position::Unknown => f.write_str("unknown position"),
        }
    }
}

/// One validated, normalised HR record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Person {
    /// The stable HR key (pushed to apps as `externalId`).
    pub key: String,
    /// Name of the source it came from.
    pub source: String,
    /// Lifecycle status.
    pub status: Lifecycle,
    /// First working day, if known.
    pub start_date: Option<NaiveDate>,
    /// Last working day, if known.
    pub end_date: Option<NaiveDate>,
    /// The manager's HR key, if known.
    pub manager_id: Option<String>,
    /// Every mapped field by hrsync field name (the lifecycle fields included, as
    /// normalised strings), available to templates and expressions.
    pub fields: Fields,
    /// Where it was read from.
    pub position: Position,
}

/// A record that was set aside: reported, never pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Source name.
    pub source: String,
    /// The record's key, if it could be read.
    pub key: Option<String>,
    /// Where the record sits.
    pub position: Position,
    /// The offending field, if one.
    pub field: Option<String>,
    /// Why, in words an HR admin understands.
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.source, self.position)?;
        if let Some(k) = &self.key {
            write!(f, " {k}")?;
        }
        if let Some(field) = &self.field {
            write!(f, " field {field}")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The result of one read of a source.
#[derive(Debug, Clone, Default)]
pub struct SourceRead {
    /// Valid persons.
    pub persons: Vec<Person>,
    /// Records set aside.
    pub rejected: Vec<Rejected>,
    /// True when `persons` is the whole population; false for an incremental read that
    /// carries only changed persons (the engine merges them onto the stored snapshot).
    pub complete: bool,
    /// Keys the source reported as deleted in an incremental read.
    pub deleted_keys: Vec<String>,
    /// Opaque watermark to pass back on the next read (incremental sources).
    pub watermark: Option<String>,
    /// Problems of the read as a whole that set nothing aside (a `fields` mapping no
    /// record has): shown by `plan` and failed by `check`.
    pub warnings: Vec<String>,
}

/// What the engine hands a source for one read.
#[derive(Debug, Clone, Default)]
pub struct FetchContext {
    /// The watermark returned by the previous successful read, if any.
    pub watermark: Option<String>,
    /// Force a full read even if the source could read incrementally.
    pub force_full: bool,
}

/// Errors of a source read, by what the engine does with them.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Network or server failure after retries: abort this cycle (guard, exit 3); the next
    /// cycle tries again.
    #[error("source {source_name}: transport failure: {message}")]
    Transport {
        /// Source name.
        source_name: String,
        /// What failed.
        message: String,
    },
    /// Credentials refused: abort the cycle and alert; retrying will not help, a person
    /// must fix the token, key or password. The text says so, unlike an outage's.
    #[error(
        "source {source_name}: credentials refused ({message}) — check the source's credentials"
    )]
    Unauthorized {
        /// Source name.
        source_name: String,
        /// Detail.
        message: String,
    },
    /// The response is not what the source's shape promises (HTML error page, wrong JSON,
    /// truncated body, repeating pages): abort the cycle; never read as "zero persons".
    #[error("source {source_name}: invalid response: {message}")]
    InvalidResponse {
        /// Source name.
        source_name: String,
        /// What was wrong, with position.
        message: String,
    },
    /// The file cannot be read or is not in the expected format as a whole (e.g. missing
    /// header or key column): abort the cycle.
    #[error("source {source_name}: {message}")]
    Unreadable {
        /// Source name.
        source_name: String,
        /// What was wrong, naming the file.
        message: String,
    },
}

/// An HR source: reads the current population.
#[async_trait::async_trait]
pub trait Source: Send + Sync {
    /// The configured name.
    fn name(&self) -> &str;
    /// The kind (`csv`, `http_json`, ...).
    fn kind(&self) -> &'static str;
    /// Reads the source. Invalid records are in [`SourceRead::rejected`], not errors.
    async fn fetch(&self, ctx: &FetchContext) -> Result<SourceRead, SourceError>;
}
