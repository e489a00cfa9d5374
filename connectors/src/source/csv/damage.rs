//! Telling a damaged export from a legitimate multi-line field. One stray `"` at the start
//! of a cell makes the reader take every row below it, up to the next quote or the end of
//! the file, as part of that cell: the persons on those rows would silently vanish from the
//! read and, after the grace cycles, be offboarded. A record that spans line breaks is
//! therefore checked, and a damaged one fails the whole read instead.

use ::csv::ByteRecord;

/// The most physical lines one record may span: a postal address has a handful; a record
/// spanning more has swallowed rows.
pub(super) const MAX_RECORD_LINES: u64 = 32;

/// Header width from which a single embedded line with a full row's delimiters is taken as
/// a swallowed row (narrower files need [`NARROW_ROWLIKE_LINES`], as an address line with a
/// comma or two looks like a row of a two-column file).
const WIDE_HEADER: usize = 6;

/// Embedded row-like lines that mark damage whatever the header's width.
const NARROW_ROWLIKE_LINES: usize = 3;

/// A region of the file that reads as one record but is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// First physical line of the record (1-based).
    pub first_line: u64,
    /// Last physical line of the record.
    pub last_line: u64,
    /// What gave it away.
    pub why: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lines {}-{} read as one record ({})",
            self.first_line, self.last_line, self.why
        )
    }
}

/// Checks one record: `raw` is its bytes in the file, `line` the line it starts on, and
/// `columns` the header's width. `None` when it is a plain row or a legitimate multi-line
/// field.
pub(super) fn inspect(
    raw: &[u8],
    row: &ByteRecord,
    columns: usize,
    delimiter: u8,
    line: u64,
) -> Option<Damage> {
    let raw = trim_breaks(raw);
    let breaks = raw.iter().filter(|b| **b == b'\n').count() as u64;
    if breaks == 0 {
        return None;
    }
    let damage = |why: String| Damage {
        first_line: line,
        last_line: line + breaks,
        why,
    };
    if unterminated(raw, delimiter) {
        return Some(damage(
            "a quoted field opens and is never closed".to_string(),
        ));
    }
    if breaks + 1 > MAX_RECORD_LINES {
        return Some(damage(format!(
            "more than {MAX_RECORD_LINES} lines in one record"
        )));
    }
    if row.len() != columns {
        return Some(damage(format!(
            "{} columns where the header has {columns}, across line breaks",
            row.len()
        )));
    }
    let rowlike = rowlike_lines(row, columns, delimiter);
    if (columns >= WIDE_HEADER && rowlike >= 1) || rowlike >= NARROW_ROWLIKE_LINES {
        return Some(damage(format!(
            "{rowlike} line(s) inside a quoted field look like rows of their own"
        )));
    }
    None
}

fn trim_breaks(mut raw: &[u8]) -> &[u8] {
    while let [b'\r' | b'\n', rest @ ..] = raw {
        raw = rest;
    }
    while let [rest @ .., b'\r' | b'\n'] = raw {
        raw = rest;
    }
    raw
}

/// Whether the record ends inside a quoted field, following the reader's rules: a quote
/// opens a field only at its start, `""` inside is a quote, the next `"` closes it.
fn unterminated(raw: &[u8], delimiter: u8) -> bool {
    let mut at_start = true;
    let mut quoted = false;
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if quoted {
            if b == b'"' {
                if raw.get(i + 1) == Some(&b'"') {
                    i += 1;
                } else {
                    quoted = false;
                }
            }
        } else if at_start && b == b'"' {
            quoted = true;
            at_start = false;
        } else {
            at_start = b == delimiter || b == b'\n' || b == b'\r';
        }
        i += 1;
    }
    quoted
}

/// Lines inside multi-line cells that carry a whole row's worth of delimiters.
fn rowlike_lines(row: &ByteRecord, columns: usize, delimiter: u8) -> usize {
    let needed = columns.saturating_sub(1).max(1);
    row.iter()
        .filter(|cell| cell.contains(&b'\n'))
        .flat_map(|cell| cell.split(|b| *b == b'\n'))
        .filter(|l| l.iter().filter(|b| **b == delimiter).count() >= needed)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(raw: &str) -> ByteRecord {
        let mut r = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(raw.as_bytes());
        let mut rec = ByteRecord::new();
        assert!(r.read_byte_record(&mut rec).expect("read"));
        rec
    }

    fn check(raw: &str, columns: usize) -> Option<Damage> {
        inspect(raw.as_bytes(), &record(raw), columns, b',', 5)
    }

    #[test]
    fn an_address_over_two_lines_is_fine() {
        assert_eq!(
            check("E1,\"1 Main St, Apt 4\nSpringfield, IL\",x\n", 3),
            None
        );
        assert_eq!(check("E1,Ana,x\n", 3), None);
    }

    #[test]
    fn an_unclosed_quote_is_damage_naming_the_lines() {
        let d = check("E1,\"Ana,x\nE2,Bo,y\nE3,Cy,z\n", 3).expect("damaged");
        assert_eq!((d.first_line, d.last_line), (5, 7));
        assert!(d.why.contains("never closed"), "{d}");
    }

    #[test]
    fn swallowed_rows_between_two_stray_quotes_are_damage() {
        let raw = "E1,\"Ana,a@x.example,Sales,Rep,active\nE2,Bo,b@x.example,Sales,Rep,active\nE3,Cy\",c@x.example,Sales,Rep,active\n";
        let d = check(raw, 6).expect("damaged");
        assert!(d.why.contains("look like rows"), "{d}");
    }

    #[test]
    fn a_record_over_too_many_lines_is_damage() {
        let raw = format!("E1,\"{}\",x\n", "l\n".repeat(40));
        assert!(check(&raw, 3).is_some());
    }
}
