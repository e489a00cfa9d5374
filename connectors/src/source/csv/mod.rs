//! `kind = "csv"`: a UTF-8 file with a header row. Rows that cannot be read (wrong column
//! count, invalid UTF-8) are set aside with file, line and column; a file that cannot be
//! read as a whole (missing, no header, no key column) fails the read.

mod damage;
mod parse;

use std::path::PathBuf;

use super::config::{CommonConfig, CsvConfig};
use super::normalize::{Normalizer, VendorRules};
use super::Lifecycle;
use super::{FetchContext, Position, Rejected, Source, SourceError, SourceRead};

/// Reads persons from a CSV file.
#[derive(Debug, Clone)]
pub struct CsvSource {
    path: PathBuf,
    delimiter: u8,
    normalizer: Normalizer,
}

impl CsvSource {
    /// A source reading `config.path` (checked configs only: the delimiter is ASCII).
    pub fn new(common: &CommonConfig, key: &str, config: &CsvConfig) -> Self {
        CsvSource {
            path: config.path.clone(),
            delimiter: u8::try_from(config.delimiter).unwrap_or(b','),
            normalizer: Normalizer::new(common, key, &csv_vendor_rules()),
        }
    }

    /// Reads and validates the file synchronously.
    pub fn read(&self) -> Result<SourceRead, SourceError> {
        let bytes = std::fs::read(&self.path)
            .map_err(|e| self.unreadable(format!("cannot read {}: {e}", self.path.display())))?;
        let (records, rejected, columns) =
            parse::parse(&bytes, self.delimiter, &self.path, &self.normalizer)
                .map_err(|e| self.unreadable(e.to_string()))?;
        let mut read = self.normalizer.finish(records, rejected);
        for r in &mut read.rejected {
            self.locate(r, &columns);
        }
        tracing::info!(
            source = %self.normalizer.source(),
            file = %self.path.display(),
            persons = read.persons.len(),
            rejected = read.rejected.len(),
            "Read CSV source."
        );
        Ok(read)
    }

    /// Names the file and the CSV column of a value problem (a bad e-mail, date or status
    /// found by normalisation), so an HR admin can go straight to the cell.
    fn locate(&self, r: &mut Rejected, columns: &[String]) {
        let (Position::Line(line), Some(field)) = (&r.position, r.field.as_deref()) else {
            return;
        };
        if r.reason.contains("(file ") {
            return;
        }
        let mapped = self
            .normalizer
            .mappings()
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, c)| c.as_str());
        let alias = LIFECYCLE_ALIASES
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, a)| *a);
        let column = [mapped, Some(field), alias]
            .into_iter()
            .flatten()
            .find_map(|name| columns.iter().position(|c| c == name).map(|i| (i, name)));
        let file = self.path.display();
        r.reason = match column {
            Some((i, name)) => format!(
                "{} (file {file}, line {line}, column {} {name:?})",
                r.reason,
                i + 1
            ),
            None => format!("{} (file {file}, line {line})", r.reason),
        };
    }

    fn unreadable(&self, message: String) -> SourceError {
        SourceError::Unreadable {
            source_name: self.normalizer.source().to_string(),
            message,
        }
    }
}

#[async_trait::async_trait]
impl Source for CsvSource {
    fn name(&self) -> &str {
        self.normalizer.source()
    }

    fn kind(&self) -> &'static str {
        "csv"
    }

    async fn fetch(&self, _ctx: &FetchContext) -> Result<SourceRead, SourceError> {
        let me = self.clone();
        // Parsing a large export is CPU work: keep it off the async workers.
        tokio::task::spawn_blocking(move || me.read())
            .await
            .map_err(|e| SourceError::Unreadable {
                source_name: self.normalizer.source().to_string(),
                message: format!("CSV reader task failed: {e}"),
            })?
    }
}

/// Status words common in HR exports, beyond `active`, `leave` and `terminated`
/// (`status_map` can override each).
fn csv_vendor_rules() -> VendorRules {
    VendorRules {
        statuses: vec![
            ("on leave", Lifecycle::Leave),
            ("on_leave", Lifecycle::Leave),
            ("inactive", Lifecycle::Terminated),
        ],
        ..VendorRules::default()
    }
}

/// Lifecycle fields and the export column that stands in for each when absent.
const LIFECYCLE_ALIASES: [(&str, &str); 3] = [
    ("start_date", "hire_date"),
    ("end_date", "termination_date"),
    ("manager_id", "manager_employee_id"),
];
