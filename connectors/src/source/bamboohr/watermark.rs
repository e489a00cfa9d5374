//! The BambooHR watermark: where the next incremental read starts and when the last full
//! read was, kept as a small JSON string by the engine between cycles.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// Overlap subtracted from our own clock so a change made during a read is read again
/// rather than missed (a change read twice is harmless).
pub const OVERLAP: Duration = Duration::minutes(5);

/// The state carried from one read to the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watermark {
    /// `since` for `/employees/changed` (BambooHR's `latest`, or our clock less overlap).
    pub since: String,
    /// When the last full read started (RFC 3339).
    pub full_at: String,
}

impl Watermark {
    /// The watermark after a full read that started at `started`.
    pub fn after_full_read(started: DateTime<Utc>) -> Self {
        Watermark {
            since: iso(started - OVERLAP),
            full_at: iso(started),
        }
    }

    /// Parses the engine's stored string; `None` when absent or unreadable (full read).
    pub fn parse(raw: Option<&str>) -> Option<Self> {
        let w: Watermark = serde_json::from_str(raw?).ok()?;
        DateTime::parse_from_rfc3339(&w.full_at).ok()?;
        if w.since.trim().is_empty() {
            return None;
        }
        Some(w)
    }

    /// True when the last full read is at least `hours` old at `now`.
    pub fn full_read_due(&self, now: DateTime<Utc>, hours: u64) -> bool {
        let Ok(full_at) = DateTime::parse_from_rfc3339(&self.full_at) else {
            return true;
        };
        let age = now - full_at.with_timezone(&Utc);
        let every = i64::try_from(hours)
            .ok()
            .and_then(Duration::try_hours)
            .unwrap_or(Duration::MAX);
        age >= every
    }

    /// The string handed to the engine.
    pub fn encode(&self) -> String {
        serde_json::json!({"since": self.since, "full_at": self.full_at}).to_string()
    }
}

/// RFC 3339 in UTC with a `Z`, as BambooHR's `since` expects.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn round_trips_and_decides_full_reads() {
        let w = Watermark::after_full_read(at("2026-11-22T08:00:00Z"));
        assert_eq!(w.since, "2026-11-22T07:55:00Z");
        let back = Watermark::parse(Some(&w.encode())).expect("parses");
        assert_eq!(back, w);
        assert!(!back.full_read_due(at("2026-11-23T07:59:59Z"), 24));
        assert!(back.full_read_due(at("2026-11-23T08:00:00Z"), 24));
        assert_eq!(Watermark::parse(Some("garbage")), None);
        assert_eq!(Watermark::parse(None), None);
    }
}
