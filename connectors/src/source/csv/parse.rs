//! Splitting a CSV export into raw records: the header is checked against the mapped
//! columns, then each row becomes one JSON object or is set aside with file, line and
//! column.

use std::path::Path;

use ::csv::ByteRecord;
use serde_json::{Map, Value};

use super::damage::{self, Damage};
use super::LIFECYCLE_ALIASES;
use crate::source::normalize::{
    check_key, cut, excerpt, normalize_text, Normalizer, RawRecord, MAX_MESSAGE_BYTES,
};
use crate::source::{Position, Rejected};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Longest column name accepted: every column becomes a field name in each stored record.
const MAX_HEADER_CELL_BYTES: usize = 256;

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
    #[error("{file}: {what} {column:?} not found in the header (columns: {})", cut(&columns.join(", "), MAX_MESSAGE_BYTES))]
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
    /// Rows were swallowed into one record (a stray quote): reading on would take the
    /// persons on those lines for gone.
    #[error("{file}: {} — the file looks damaged (an unbalanced quote?), so none of it is read; fix the export", regions.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Damaged {
        /// The file, as displayed.
        file: String,
        /// The first damaged regions.
        regions: Vec<Damage>,
    },
    /// A header cell is far longer than any column name: the header itself is damaged.
    #[error("{file} line 1 column {column}: header cell is {bytes} bytes long; the header looks damaged")]
    HeaderCell {
        /// The file, as displayed.
        file: String,
        /// 1-based column.
        column: usize,
        /// Its length.
        bytes: usize,
    },
    /// A `required` field has no column in the header, so every row would be set aside.
    #[error("{file}: required field `{field}` has no column in the header (columns: {})", cut(&columns.join(", "), MAX_MESSAGE_BYTES))]
    MissingRequired {
        /// The file, as displayed.
        file: String,
        /// The required hrsync field.
        field: String,
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

/// Splits the file into raw records (one JSON object per row) and rows set aside. A
/// damaged region (rows swallowed by a stray quote) fails the whole read.
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
    let mut row = ByteRecord::new();
    let first = match reader.read_byte_record(&mut row) {
        Ok(true) => Some(Ok(row.clone())),
        Ok(false) => None,
        Err(e) => Some(Err(e)),
    };
    let columns = read_header(first, &file)?;
    check_mapped_columns(&columns, normalizer, &file)?;
    let layout = Layout::new(columns, normalizer, file);
    let mut rows = Rows {
        layout: &layout,
        normalizer,
        data,
        batch: Vec::with_capacity(BATCH),
        records: Vec::new(),
        rejected: Vec::new(),
    };
    let mut damaged = Vec::new();
    let mut lines = LineCounter::default();
    loop {
        let before = reader.position().byte();
        match reader.read_byte_record(&mut row) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                return Err(FileError::Row {
                    file: layout.file.clone(),
                    error,
                })
            }
        }
        let start = row.position().map_or(before, |p| p.byte());
        let end = reader.position().byte();
        let line = lines.line_at(data, start);
        let width = layout.columns.len();
        if let Some(d) = damage::inspect(slice(data, start, end), &row, width, delimiter, line) {
            damaged.push(d);
            continue;
        }
        // The next row is read into a record of this one's size: rows of one export are
        // alike, so it rarely grows.
        let next = ByteRecord::with_capacity(row.as_slice().len(), row.len());
        rows.push(std::mem::replace(&mut row, next), (start, end), line);
    }
    let (records, rejected) = rows.finish();
    if !damaged.is_empty() {
        damaged.truncate(3);
        return Err(FileError::Damaged {
            file: layout.file,
            regions: damaged,
        });
    }
    Ok((records, rejected, layout.columns))
}

/// Rows turned into raw records a batch at a time: every core takes a share of a batch,
/// and the records keep the file's order.
struct Rows<'a> {
    layout: &'a Layout,
    normalizer: &'a Normalizer,
    data: &'a [u8],
    /// Rows read and not yet turned: the row, its bytes' span, its line.
    batch: Vec<(ByteRecord, (u64, u64), u64)>,
    records: Vec<RawRecord>,
    rejected: Vec<Rejected>,
}

/// Rows per batch: enough to share out, few enough to hold as read.
const BATCH: usize = 16_384;

impl Rows<'_> {
    fn push(&mut self, row: ByteRecord, span: (u64, u64), line: u64) {
        self.batch.push((row, span, line));
        if self.batch.len() >= BATCH {
            self.turn();
        }
    }

    /// Turns the batch into records (or rows set aside).
    fn turn(&mut self) {
        use rayon::prelude::*;
        let (layout, normalizer, data) = (self.layout, self.normalizer, self.data);
        let turned: Vec<_> = self
            .batch
            .par_drain(..)
            .with_min_len(512)
            .map(|(row, (start, end), line)| {
                layout.record(&row, slice(data, start, end), line, normalizer)
            })
            .collect();
        for r in turned {
            match r {
                Ok(r) => self.records.push(r),
                Err(r) => self.rejected.push(r),
            }
        }
    }

    fn finish(mut self) -> (Vec<RawRecord>, Vec<Rejected>) {
        self.turn();
        (self.records, self.rejected)
    }
}

/// Without a readable key, the start of the row is what lets an HR admin find it.
fn starts(key: &Option<String>, raw: &[u8]) -> String {
    match key {
        Some(k) if check_key(k).is_ok() => String::new(),
        _ => format!("; the row starts {}", excerpt(raw.trim_ascii())),
    }
}

/// The bytes from `start` to `end` (clamped to the data).
fn slice(data: &[u8], start: u64, end: u64) -> &[u8] {
    let at = |b: u64| usize::try_from(b).unwrap_or(usize::MAX).min(data.len());
    let (s, e) = (at(start), at(end));
    &data[s.min(e)..e]
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
        if cell.len() > MAX_HEADER_CELL_BYTES {
            return Err(FileError::HeaderCell {
                file: file(),
                column: i + 1,
                bytes: cell.len(),
            });
        }
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
    for field in normalizer.required() {
        let mapped = normalizer.mappings().iter().any(|(f, _)| f == field);
        let alias = LIFECYCLE_ALIASES
            .iter()
            .any(|(f, a)| f == field && has_column(columns, a));
        if !mapped && !alias && !has_column(columns, field) {
            return Err(FileError::MissingRequired {
                file: file.to_string(),
                field: field.clone(),
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
        raw: &[u8],
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
            let starts = starts(&key, raw);
            return Err(normalizer.reject(
                pos,
                key,
                None,
                format!(
                    "row has {} columns but the header has {} (file {file}, line {line}, column {col}){}",
                    row.len(),
                    columns.len(),
                    starts
                ),
            ));
        }
        // Sized once: a map grown cell by cell is rehashed twice for a row of ten.
        let mut obj = Map::with_capacity(columns.len() + self.aliases.len());
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
