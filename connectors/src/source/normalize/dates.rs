//! Date reading for `start_date` and `end_date`: ISO 8601 dates and datetimes, the
//! formats a source is configured with, and the vendor forms (BambooHR's `0000-00-00`
//! for "none", Workday's date with a UTC offset).

use chrono::{DateTime, NaiveDate, NaiveDateTime};

/// How one source writes dates.
#[derive(Debug, Clone, Default)]
pub struct DateRules {
    /// Extra chrono formats, tried in order after ISO 8601.
    pub formats: Vec<String>,
    /// `0000-00-00` means "no date" (BambooHR).
    pub zero_is_none: bool,
    /// Accept `YYYY-MM-DD±HH:MM` and `YYYY-MM-DDZ` (Workday).
    pub offset_dates: bool,
}

/// Reads a trimmed, non-empty date. `Ok(None)` only for a vendor's "no date" value.
pub fn parse_date(s: &str, rules: &DateRules) -> Result<Option<NaiveDate>, String> {
    if rules.zero_is_none && s == "0000-00-00" {
        return Ok(None);
    }
    let bytes = s.as_bytes();
    let iso_shape = bytes.len() >= 10
        && bytes[..10].iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if iso_shape {
        let (date, rest) = s.split_at(10);
        let parsed = NaiveDate::parse_from_str(date, "%Y-%m-%d");
        if rest.is_empty() {
            return parsed
                .map(Some)
                .map_err(|_| format!("impossible date {s:?} (no such day)"));
        }
        // A datetime: the calendar date as written, not shifted to UTC, is the HR day.
        if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
            return Ok(Some(dt.date_naive()));
        }
        for f in [
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M",
        ] {
            if let Ok(dt) = NaiveDateTime::parse_from_str(s, f) {
                return Ok(Some(dt.date()));
            }
        }
        if rules.offset_dates && is_offset(rest) {
            return parsed
                .map(Some)
                .map_err(|_| format!("impossible date {s:?} (no such day)"));
        }
        if parsed.is_err() {
            return Err(format!("impossible date {s:?} (no such day)"));
        }
    }
    for f in &rules.formats {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Ok(Some(d));
        }
    }
    let mut expected = String::from("YYYY-MM-DD or an ISO 8601 datetime");
    if !rules.formats.is_empty() {
        expected.push_str(" or one of date_formats ");
        expected.push_str(&rules.formats.join(", "));
    }
    Err(format!("invalid date {s:?} (expected {expected})"))
}

fn is_offset(rest: &str) -> bool {
    if rest == "Z" {
        return true;
    }
    let b = rest.as_bytes();
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3] == b':'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn iso_dates_and_datetimes() {
        let r = DateRules::default();
        assert_eq!(parse_date("2024-02-29", &r), Ok(d(2024, 2, 29)));
        assert_eq!(
            parse_date("2024-03-01T00:00:00+01:00", &r),
            Ok(d(2024, 3, 1))
        );
        assert_eq!(parse_date("2024-03-01T23:30:00Z", &r), Ok(d(2024, 3, 1)));
        assert_eq!(parse_date("2024-03-01T08:00:00", &r), Ok(d(2024, 3, 1)));
        assert_eq!(parse_date("2024-03-01 08:00:00", &r), Ok(d(2024, 3, 1)));
    }

    #[test]
    fn impossible_and_unrecognised_dates_are_errors() {
        let r = DateRules::default();
        let e = parse_date("2023-02-29", &r).expect_err("not a leap year");
        assert!(e.contains("impossible date"), "{e}");
        let e = parse_date("2024-02-30", &r).expect_err("no Feb 30");
        assert!(e.contains("impossible date \"2024-02-30\""), "{e}");
        let e = parse_date("0000-00-00", &r).expect_err("zero date");
        assert!(e.contains("impossible"), "{e}");
        let e = parse_date("03/15/2024", &r).expect_err("US date not configured");
        assert!(e.contains("invalid date \"03/15/2024\""), "{e}");
        assert!(parse_date("2024-03-01-08:00", &r).is_err());
    }

    #[test]
    fn configured_and_vendor_formats() {
        let r = DateRules {
            formats: vec!["%m/%d/%Y".into(), "%d.%m.%Y".into()],
            zero_is_none: true,
            offset_dates: true,
        };
        assert_eq!(parse_date("03/15/2024", &r), Ok(d(2024, 3, 15)));
        assert_eq!(parse_date("15.03.2024", &r), Ok(d(2024, 3, 15)));
        assert_eq!(parse_date("0000-00-00", &r), Ok(None));
        assert_eq!(parse_date("2024-03-01-08:00", &r), Ok(d(2024, 3, 1)));
        assert_eq!(parse_date("2024-03-01Z", &r), Ok(d(2024, 3, 1)));
        let e = parse_date("02/30/2024", &r).expect_err("no Feb 30");
        assert!(e.contains("%m/%d/%Y"), "{e}");
    }
}
