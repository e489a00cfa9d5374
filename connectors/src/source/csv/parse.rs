//! Splitting a CSV export into raw records: the header is checked against the mapped
//! columns, then each row becomes one JSON object or is set aside with file, line and
//! column.

use std::path::Path;

use ::csv::ByteRecord;
use serde_json::{Map, Value};

use super::LIFECYCLE_ALIASES;
use crate::source::normalize::{normalize_text, Normalizer, RawRecord};
use crate::source::{Position, Rejected};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Raw records, rows set aside, and the header's column names.
pub(super) type Parsed = (Vec<RawRecord>, Vec<Rejected>, Vec<String>);

/// Why the file cannot be read as a whole: the read fails and the cycle aborts; someone
/// must fix the export (single rows are set aside instead).
#[derive(Debug, thiserror::Error)]
pub(super) enum FileError {
    /// Not even a header row.
    #[error("{file} is empty: no header row")]
    Empty {
        /// The file, as displayed.
        file: String,
    },
    /// The header row cannot be read.
    #[error("{file}: cannot read the header row: {error}")]
    Header {
        /// The file, as displayed.
        file: String,
        /// The reader's failure.
        error: ::csv::Error,
    },
    /// A header cell is not UTF-8.
    #[error("{file} line 1 column {column}: header is not valid UTF-8 (byte {byte})")]
    HeaderEncoding {
        /// The file, as displayed.
        file: String,
        /// 1-based column.
        column: usize,
        /// 1-based byte of the cell where decoding fails.
        byte: usize,
    },
    /// A column name is used twice, so a field could be read from either.
    #[error("{file}: column {column:?} appears twice in the header")]
    DuplicateColumn {
        /// The file, as displayed.
        file: String,
        /// The repeated name.
        column: String,
    },
    /// A column the config maps is not in the header.
    #[error("{file}: {what} {column:?} not found in the header (columns: {})", columns.join(", "))]
    MissingColumn {
        /// The file, as displayed.
        file: String,
        /// `key column` or ``column for field `x` ``.
        what: String,
        /// The configured column name.
        column: String,
        /// The header as read.
        columns: Vec<String>,
    },
    /// The file breaks off or cannot be read past some row.
    #[error("{file}: {error}")]
    Row {
        /// The file, as displayed.
        file: String,
        /// The reader's failure.
        error: ::csv::Error,
    },
}

/// Splits the file into raw records (one JSON object per row) and rows set aside.
pub(super) fn parse(
    bytes: &[u8],
    delimiter: u8,
    path: &Path,
    normalizer: &Normalizer,
) -> Result<Parsed, FileError> {
    let file = path.display().to_string();
    let data = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut rows = reader.byte_records();
    let columns = read_header(rows.next(), &file)?;
    check_mapped_columns(&columns, normalizer, &file)?;
    let layout = Layout::new(columns, normalizer, file);
    let mut records = Vec::new();
    let mut rejected = Vec::new();
    let mut lines = LineCounter::default();
    for row in rows {
        let row = row.map_err(|error| FileError::Row {
            file: layout.file.clone(),
            error,
        })?;
        let byte = row.position().map(|p| p.byte()).unwrap_or(0);
        let line = lines.line_at(data, byte);
        match layout.record(&row, line, normalizer) {
            Ok(r) => records.push(r),
            Err(r) => rejected.push(r),
        }
    }
    Ok((records, rejected, layout.columns))
}

/// The header's column names, normalised; every non-empty name must be unique.
fn read_header(
    first: Option<Result<ByteRecord, ::csv::Error>>,
    file: &str,
) -> Result<Vec<String>, FileError> {
    let file = || file.to_string();
    let header = match first {
        None => return Err(FileError::Empty { file: file() }),
        Some(Err(error)) => {
            return Err(FileError::Header {
                file: file(),
                error,
            })
        }
        Some(Ok(h)) => h,
    };
    let mut columns: Vec<String> = Vec::with_capacity(header.len());
    for (i, cell) in header.iter().enumerate() {
        let name = std::str::from_utf8(cell).map_err(|e| FileError::HeaderEncoding {
            file: file(),
            column: i + 1,
            byte: e.valid_up_to() + 1,
        })?;
        columns.push(normalize_text(name));
    }
    for (i, c) in columns.iter().enumerate() {
        if has_column(&columns[..i], c) {
            return Err(FileError::DuplicateColumn {
                file: file(),
                column: c.clone(),
            });
        }
    }
    Ok(columns)
}

/// Whether the header has a (non-empty) column called `name`.
fn has_column(columns: &[String], name: &str) -> bool {
    !name.is_empty() && columns.iter().any(|c| c == name)
}

/// Every column the config maps a field to is in the header.
fn check_mapped_columns(
    columns: &[String],
    normalizer: &Normalizer,
    file: &str,
) -> Result<(), FileError> {
    for (field, column) in normalizer.mappings() {
        if !has_column(columns, column) {
            let what = if field == normalizer.key_field() {
                "key column".to_string()
            } else {
                format!("column for field `{field}`")
            };
            return Err(FileError::MissingColumn {
                file: file.to_string(),
                what,
                column: column.clone(),
                columns: columns.to_vec(),
            });
        }
    }
    Ok(())
}

/// How rows of this file are read: its columns, the lifecycle aliases that apply, and
/// where the key sits.
struct Layout {
    file: String,
    columns: Vec<String>,
    /// Lifecycle field → index of the export column standing in for it.
    aliases: Vec<(&'static str, usize)>,
    key_column: Option<usize>,
}

impl Layout {
    fn new(columns: Vec<String>, normalizer: &Normalizer, file: String) -> Layout {
        // The column names of the usual HR export contract stand in for the lifecycle fields
        // when the file has no column of that name and the config maps none.
        let aliases = LIFECYCLE_ALIASES
            .iter()
            .filter(|(field, _)| {
                !has_column(&columns, field)
                    && !normalizer.mappings().iter().any(|(f, _)| f == field)
            })
            .filter_map(|(field, alias)| {
                columns.iter().position(|c| c == alias).map(|i| (*field, i))
            })
            .collect();
        let key_column = normalizer
            .mappings()
            .iter()
            .find(|(f, _)| f == normalizer.key_field())
            .and_then(|(_, c)| columns.iter().position(|x| x == c));
        Layout {
            file,
            columns,
            aliases,
            key_column,
        }
    }

    /// One row as a raw record, or set aside (wrong column count, a cell not UTF-8).
    fn record(
        &self,
        row: &ByteRecord,
        line: u64,
        normalizer: &Normalizer,
    ) -> Result<RawRecord, Rejected> {
        let file = &self.file;
        let columns = &self.columns;
        let pos = Position::Line(line);
        let key = self
            .key_column
            .and_then(|i| row.get(i))
            .and_then(|b| std::str::from_utf8(b).ok())
            .map(normalize_text)
            .filter(|k| !k.is_empty());
        if row.len() != columns.len() {
            let col = row.len().min(columns.len()) + 1;
            return Err(normalizer.reject(
                pos,
                key,
                None,
                format!(
                    "row has {} columns but the header has {} (file {file}, line {line}, column {col})",
                    row.len(),
                    columns.len()
                ),
            ));
        }
        let mut obj = Map::new();
        for (i, cell) in row.iter().enumerate() {
            match std::str::from_utf8(cell) {
                Ok(text) if !columns[i].is_empty() => {
                    obj.insert(columns[i].clone(), Value::String(text.to_string()));
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(normalizer.reject(
                        pos,
                        key,
                        Some(&columns[i]),
                        format!(
                            "invalid UTF-8 at byte {} of the cell (file {file}, line {line}, column {})",
                            e.valid_up_to() + 1,
                            i + 1
                        ),
                    ))
                }
            }
        }
        for (field, i) in &self.aliases {
            if let Some(v) = obj.get(&columns[*i]).cloned() {
                obj.insert((*field).to_string(), v);
            }
        }
        Ok(RawRecord {
            position: pos,
            value: Value::Object(obj),
        })
    }
}

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
