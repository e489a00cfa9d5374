//! When cycles run: a cron schedule (5-field crontab lines accepted) or a fixed interval.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};

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
    pub fn cron(line: &str) -> Result<Schedule, String> {
        let fields = line.split_whitespace().count();
        let expr = match fields {
            5 => format!("0 {}", line.trim()),
            6 | 7 => line.trim().to_string(),
            n => {
                return Err(format!(
                    "cron schedule {line:?} has {n} fields; use 5 (crontab) or 6/7 (with seconds/years)"
                ))
            }
        };
        cron::Schedule::from_str(&expr)
            .map(|s| Schedule::Cron(Box::new(s)))
            .map_err(|e| format!("invalid cron schedule {line:?}: {e}"))
    }

    /// Parses an interval like `90s`, `10m`, `1h`, `1d` or plain seconds.
    pub fn interval(text: &str) -> Result<Schedule, String> {
        parse_duration(text).map(Schedule::Interval)
    }

    /// The delay from `now` until the next cycle should start.
    pub fn delay_from(&self, now: DateTime<Utc>) -> Duration {
        match self {
            Schedule::Interval(d) => *d,
            Schedule::Cron(s) => s
                .after(&now)
                .next()
                .and_then(|next| (next - now).to_std().ok())
                .unwrap_or(Duration::from_secs(60)),
        }
    }
}

/// Parses `30s`, `10m`, `2h`, `1d`, `500ms` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| format!("invalid duration {text:?}; use e.g. 30s, 10m, 1h"))?;
    let d = match unit.trim() {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86_400),
        _ => {
            return Err(format!(
                "invalid duration unit in {text:?}; use ms, s, m, h or d"
            ))
        }
    };
    if d.is_zero() {
        return Err(format!("duration {text:?} must be greater than zero"));
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
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1"), Ok(Duration::from_secs(1)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("ten").is_err());
    }
}
