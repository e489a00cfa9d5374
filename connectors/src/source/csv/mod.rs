//! `kind = "csv"`: a UTF-8 file with a header row. Rows that cannot be read (wrong column
//! count, invalid UTF-8) are set aside with file, line and column; a file that cannot be
//! read as a whole (missing, no header, no key column) fails the read.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::config::{CommonConfig, CsvConfig};
use super::normalize::{normalize_text, Normalizer, RawRecord, VendorRules};
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
            parse(&bytes, self.delimiter, &self.path, &self.normalizer)
                .map_err(|m| self.unreadable(m))?;
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

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Line numbers from byte offsets. The reader's own line count lags by one after a CRLF
/// (the LF is consumed with the next record), so lines are counted here, incrementally.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    /// The 1-based line on which the record starting at `byte` begins.
    fn line_at(&mut self, data: &[u8], byte: u64) -> u64 {
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(data.len());
        // A record's recorded start may sit on the line break that ended the previous one.
        while start < data.len() && matches!(data[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            let newlines = data[self.offset..start]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            self.line += newlines as u64;
            self.offset = start;
        }
        self.line + 1
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

/// Raw records, rows set aside, and the header's column names.
type Parsed = (Vec<RawRecord>, Vec<Rejected>, Vec<String>);

/// Splits the file into raw records (one JSON object per row) and rows set aside.
fn parse(
    bytes: &[u8],
    delimiter: u8,
    path: &Path,
    normalizer: &Normalizer,
) -> Result<Parsed, String> {
    let file = path.display();
    let data = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rows = reader.byte_records();
    let header = match rows.next() {
        None => return Err(format!("{file} is empty: no header row")),
        Some(Err(e)) => return Err(format!("{file}: cannot read the header row: {e}")),
        Some(Ok(h)) => h,
    };
    let mut columns = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let name = std::str::from_utf8(cell).map_err(|e| {
            format!(
                "{file} line 1 column {}: header is not valid UTF-8 (byte {})",
                i + 1,
                e.valid_up_to() + 1
            )
        })?;
        columns.push(normalize_text(name));
    }
    let mut seen = BTreeSet::new();
    for c in &columns {
        if !c.is_empty() && !seen.insert(c.as_str()) {
            return Err(format!("{file}: column {c:?} appears twice in the header"));
        }
    }
    for (field, column) in normalizer.mappings() {
        if !seen.contains(column.as_str()) {
            let what = if field == normalizer.key_field() {
                "key column".to_string()
            } else {
                format!("column for field `{field}`")
            };
            return Err(format!(
                "{file}: {what} {column:?} not found in the header (columns: {})",
                columns.join(", ")
            ));
        }
    }
    // The column names of the usual HR export contract stand in for the lifecycle fields
    // when the file has no column of that name and the config maps none.
    let aliases: Vec<(&str, usize)> = LIFECYCLE_ALIASES
        .iter()
        .filter(|(field, _)| {
            !seen.contains(field) && !normalizer.mappings().iter().any(|(f, _)| f == field)
        })
        .filter_map(|(field, alias)| columns.iter().position(|c| c == alias).map(|i| (*field, i)))
        .collect();
    let key_column = normalizer
        .mappings()
        .iter()
        .find(|(f, _)| f == normalizer.key_field())
        .and_then(|(_, c)| columns.iter().position(|x| x == c));
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    let mut lines = LineCounter::default();
    for row in rows {
        let row = row.map_err(|e| format!("{file}: {e}"))?;
        let byte = row.position().map(|p| p.byte()).unwrap_or(0);
        let line = lines.line_at(data, byte);
        let pos = Position::Line(line);
        let key = key_column
            .and_then(|i| row.get(i))
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(normalize_text)
            .filter(|k| !k.is_empty());
        if row.len() != columns.len() {
            let col = row.len().min(columns.len()) + 1;
            rejected.push(normalizer.reject(
                pos,
                key,
                None,
                format!(
                    "row has {} columns but the header has {} (file {file}, line {line}, column {col})",
                    row.len(),
                    columns.len()
                ),
            ));
            continue;
        }
        let mut obj = Map::new();
        let mut bad = None;
        for (i, cell) in row.iter().enumerate() {
            match std::str::from_utf8(cell) {
                Ok(text) => {
                    if !columns[i].is_empty() {
                        obj.insert(columns[i].clone(), Value::String(text.to_string()));
                    }
                }
                Err(e) => {
                    bad = Some((i, e.valid_up_to()));
                    break;
                }
            }
        }
        if let Some((i, at)) = bad {
            rejected.push(normalizer.reject(
                pos,
                key,
                Some(&columns[i]),
                format!(
                    "invalid UTF-8 at byte {} of the cell (file {file}, line {line}, column {})",
                    at + 1,
                    i + 1
                ),
            ));
            continue;
        }
        for (field, i) in &aliases {
            if let Some(v) = obj.get(&columns[*i]).cloned() {
                obj.insert((*field).to_string(), v);
            }
        }
        records.push(RawRecord {
            position: pos,
            value: Value::Object(obj),
        });
    }
    Ok((records, rejected, columns))
}
