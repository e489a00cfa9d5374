//! When cycles run: a cron schedule (5-field crontab lines accepted) or a fixed interval.
//! The daemon's loop reads it; config validation builds it from `daemon.schedule` or
//! `daemon.interval`.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Why `daemon.schedule` or `daemon.interval` cannot be read: a configuration error (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// The cron line has neither 5 nor 6/7 fields.
    #[error(
        "cron schedule {line:?} has {fields} fields; use 5 (crontab) or 6/7 (with seconds/years)"
    )]
    FieldCount {
        /// The line as written.
        line: String,
        /// How many fields it has.
        fields: usize,
    },
    /// A crontab day-of-week field cannot be translated.
    #[error("invalid cron schedule {line:?}: day of week {field:?}: {why}")]
    Weekday {
        /// The line as written.
        line: String,
        /// The day-of-week field.
        field: String,
        /// What is wrong with it.
        why: WeekdayError,
    },
    /// The cron expression does not parse.
    #[error("invalid cron schedule {line:?}: {why}")]
    Cron {
        /// The line as written.
        line: String,
        /// The cron parser's message.
        why: String,
    },
    /// The interval is not a number with a known unit.
    #[error("invalid duration {0:?}; use e.g. 30s, 10m, 1h")]
    Duration(String),
    /// The interval's unit is unknown.
    #[error("invalid duration unit in {0:?}; use ms, s, m, h or d")]
    DurationUnit(String),
    /// The interval is zero.
    #[error("duration {0:?} must be greater than zero")]
    ZeroDuration(String),
    /// The interval is outside the range a daemon can keep.
    #[error("interval {0:?} is out of range: must be between 1s and 30d")]
    IntervalRange(String),
    /// The cron expression parses but names no time that ever comes (`0 0 31 2 *`).
    #[error("cron schedule {0:?} never fires (no such date from now on); check the day and month fields")]
    NeverFires(String),
}

/// The shortest interval between cycle starts.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

/// The longest interval between cycle starts (30 days).
pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 86_400);

/// How long a daemon waits before looking again when its schedule names no future time.
const NO_NEXT_FIRE_WAIT: Duration = Duration::from_secs(86_400);

/// What is wrong with a crontab day-of-week field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WeekdayError {
    /// A number that does not parse.
    #[error("{0:?} is not a day")]
    NotADay(String),
    /// A number past 7.
    #[error("{0} is not a day (0–7)")]
    OutOfRange(u32),
    /// A range mixing names and numbers, or running backwards.
    #[error("range {0:?} cannot be read; use names like MON-FRI")]
    Range(String),
}

/// A cycle schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Cron expression (UTC).
    Cron(Box<cron::Schedule>),
    /// Fixed interval between cycle starts.
    Interval(Duration),
}

impl Schedule {
    /// Parses a cron line; a 5-field crontab line gets a leading `0` seconds field.
    pub fn cron(line: &str) -> Result<Schedule, ScheduleError> {
        let fields = line.split_whitespace().count();
        let expr = match fields {
            5 => {
                let mut f: Vec<&str> = line.split_whitespace().collect();
                let dow = crontab_weekdays(f[4]).map_err(|why| ScheduleError::Weekday {
                    line: line.to_string(),
                    field: f[4].to_string(),
                    why,
                })?;
                f[4] = &dow;
                format!("0 {}", f.join(" "))
            }
            6 | 7 => line.trim().to_string(),
            n => {
                return Err(ScheduleError::FieldCount {
                    line: line.to_string(),
                    fields: n,
                })
            }
        };
        let schedule = cron::Schedule::from_str(&expr).map_err(|e| ScheduleError::Cron {
            line: line.to_string(),
            why: e.to_string(),
        })?;
        // A schedule with no future time would otherwise fall back to some default delay
        // and run cycles nobody asked for.
        if schedule.upcoming(Utc).next().is_none() {
            return Err(ScheduleError::NeverFires(line.to_string()));
        }
        Ok(Schedule::Cron(Box::new(schedule)))
    }

    /// Parses an interval like `90s`, `10m`, `1h`, `1d` or plain seconds, between
    /// [`MIN_INTERVAL`] and [`MAX_INTERVAL`].
    pub fn interval(text: &str) -> Result<Schedule, ScheduleError> {
        let d = parse_duration(text)?;
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&d) {
            return Err(ScheduleError::IntervalRange(text.to_string()));
        }
        Ok(Schedule::Interval(d))
    }

    /// The delay from `now` until the next cycle should start.
    pub fn delay_from(&self, now: DateTime<Utc>) -> Duration {
        match self {
            Schedule::Interval(d) => *d,
            Schedule::Cron(s) => s
                .after(&now)
                .next()
                .and_then(|next| (next - now).to_std().ok())
                .unwrap_or(NO_NEXT_FIRE_WAIT),
        }
    }
}

/// Rewrites a crontab day-of-week field (0 or 7 = Sunday, 1 = Monday … 6 = Saturday) into
/// the numbering of 6/7-field expressions (1 = Sunday … 7 = Saturday), so `1-5` in a crontab
/// line still means Monday to Friday. Names (`MON-FRI`) pass through unchanged.
fn crontab_weekdays(field: &str) -> Result<String, WeekdayError> {
    let day = |t: &str| -> Result<Option<u32>, WeekdayError> {
        if t.chars().all(|c| c.is_ascii_digit()) {
            let n: u32 = t
                .parse()
                .map_err(|_| WeekdayError::NotADay(t.to_string()))?;
            if n > 7 {
                return Err(WeekdayError::OutOfRange(n));
            }
            Ok(Some(n % 7 + 1))
        } else {
            Ok(None)
        }
    };
    let mut items = Vec::new();
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (item, None),
        };
        let step = step.map(|s| format!("/{s}")).unwrap_or_default();
        match base.split_once('-') {
            Some((a, b)) => match (day(a)?, day(b)?) {
                (Some(x), Some(y)) if x <= y => items.push(format!("{x}-{y}{step}")),
                // `…-7` ends on Sunday, which comes first in the other numbering.
                (Some(x), Some(1)) if step.is_empty() && b == "7" => items.push(if x == 1 {
                    "*".to_string()
                } else {
                    format!("{x}-7,1")
                }),
                (None, None) => items.push(item.to_string()),
                _ => return Err(WeekdayError::Range(base.to_string())),
            },
            None => match day(base)? {
                Some(x) => items.push(format!("{x}{step}")),
                None => items.push(item.to_string()),
            },
        }
    }
    Ok(items.join(","))
}

/// Parses `30s`, `10m`, `2h`, `1d`, `500ms` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, ScheduleError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| ScheduleError::Duration(text.to_string()))?;
    let seconds = |per: u64| {
        n.checked_mul(per)
            .map(Duration::from_secs)
            .ok_or_else(|| ScheduleError::IntervalRange(text.to_string()))
    };
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => seconds(60)?,
        "h" => seconds(3600)?,
        "d" => seconds(86_400)?,
        _ => return Err(ScheduleError::DurationUnit(text.to_string())),
    };
    if d.is_zero() {
        return Err(ScheduleError::ZeroDuration(text.to_string()));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crontab_lines_and_intervals() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:07:30Z")
            .expect("date")
            .with_timezone(&Utc);
        let s = Schedule::cron("*/15 * * * *").expect("5 fields");
        assert_eq!(s.delay_from(now), Duration::from_secs(7 * 60 + 30));
        let s = Schedule::cron("0 0 * * * *").expect("6 fields");
        assert_eq!(s.delay_from(now), Duration::from_secs(52 * 60 + 30));
        assert!(Schedule::cron("* *").is_err());
        assert!(Schedule::cron("61 * * * *").is_err());
        assert!(Schedule::cron("0 9 * * 8").is_err());
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1"), Ok(Duration::from_secs(1)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
    }

    #[test]
    fn out_of_range_intervals_and_schedules_that_never_fire_are_refused() {
        for text in ["213503982334602d", "18446744073709551615m", "31d", "999ms"] {
            assert!(
                matches!(
                    Schedule::interval(text),
                    Err(ScheduleError::IntervalRange(_))
                ),
                "{text}"
            );
        }
        assert!(Schedule::interval("30d").is_ok());
        assert!(Schedule::interval("1s").is_ok());
        for line in ["0 0 31 2 *", "0 0 30 2 *", "0 0 0 1 1 * 2001"] {
            assert!(
                matches!(Schedule::cron(line), Err(ScheduleError::NeverFires(_))),
                "{line}"
            );
        }
        assert!(Schedule::cron("0 0 29 2 *").is_ok());
    }

    fn next_days(line: &str, from: &str, n: usize) -> Vec<String> {
        let s = match Schedule::cron(line).expect("schedule") {
            Schedule::Cron(s) => s,
            Schedule::Interval(_) => return Vec::new(),
        };
        let from = DateTime::parse_from_rfc3339(from)
            .expect("date")
            .with_timezone(&Utc);
        s.after(&from)
            .take(n)
            .map(|d| d.format("%a").to_string())
            .collect()
    }

    #[test]
    fn crontab_weekdays_mean_what_crontab_means() {
        // 2026-11-22 is a Sunday.
        let from = "2026-11-22T00:00:00Z";
        assert_eq!(
            next_days("0 9 * * 1-5", from, 6),
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Mon"]
        );
        assert_eq!(next_days("0 9 * * 0", from, 2), ["Sun", "Sun"]);
        assert_eq!(next_days("0 9 * * 7", from, 1), ["Sun"]);
        assert_eq!(next_days("0 9 * * 6,0", from, 3), ["Sun", "Sat", "Sun"]);
        assert_eq!(
            next_days("0 9 * * 5-7", from, 4),
            ["Sun", "Fri", "Sat", "Sun"]
        );
        assert_eq!(next_days("0 9 * * MON-FRI", from, 1), ["Mon"]);
        assert_eq!(next_days("0 9 * * */2", from, 1).len(), 1);
        // Six fields keep their own numbering (1 = Sunday).
        assert_eq!(next_days("0 0 9 * * 2", from, 1), ["Mon"]);
    }
}
