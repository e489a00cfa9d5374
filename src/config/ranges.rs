//! The documented range of every number in the config file, checked at load: a value
//! outside it is a configuration error naming the key and the range, never an overflow,
//! a panic or a setting that silently does nothing later. `config.example.toml` shows the
//! same ranges next to each key.

use std::fmt::Display;

use hrsync_connectors::http::throttle::RateLimit;
use hrsync_connectors::source::config::Pagination;
use hrsync_connectors::source::{KindConfig, SourceConfig};

/// `daemon.shutdown_grace_secs`.
pub const SHUTDOWN_GRACE_SECS: (u64, u64) = (1, 3600);
/// `guards.max_deprovision_count` and `guards.max_deprovision_per_day`.
pub const DEPROVISION_COUNT: (usize, usize) = (0, 1_000_000);
/// `guards.max_deprovision_percent` and `guards.max_source_drop_percent`.
pub const PERCENT: (f64, f64) = (0.0, 100.0);
/// `guards.min_source_records`.
pub const MIN_SOURCE_RECORDS: (usize, usize) = (0, 10_000_000);
/// `lifecycle.absence_grace_cycles`.
pub const ABSENCE_GRACE_CYCLES: (u32, u32) = (0, 10_000);
/// `apps.timeout_secs` (and every source's `timeout_secs`).
pub const TIMEOUT_SECS: (u64, u64) = (1, 3600);
/// `apps.concurrency`: far below the limit of the semaphore that enforces it.
pub const CONCURRENCY: (usize, usize) = (1, 256);
/// Each `apps.rate_limit` window and its `burst`.
pub const RATE_COUNT: (u32, u32) = (1, 1_000_000);
/// `apps.pre_provision_days`.
pub const PRE_PROVISION_DAYS: (u32, u32) = (0, 365);
/// `apps.deprovision.delete_after_days` (ten years).
pub const DELETE_AFTER_DAYS: (u32, u32) = (0, 3650);
/// `sources.priority`.
pub const PRIORITY: (i64, i64) = (-1_000_000, 1_000_000);
/// `sources.max_pages`.
pub const MAX_PAGES: (u32, u32) = (1, 1_000_000);
/// Records per page of a paged source (`pagination.limit`, `pagination.per_page`,
/// `page_size`).
pub const PAGE_SIZE: (u32, u32) = (1, 10_000);
/// `pagination.first_page`.
pub const FIRST_PAGE: (u32, u32) = (0, 1);
/// `sources.full_read_every_hours` (one year).
pub const FULL_READ_EVERY_HOURS: (u64, u64) = (1, 8760);

/// A number outside its range: the key (relative to where it sits) and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfRange {
    /// The key path below the table being checked, e.g. `pagination.limit`.
    pub key: String,
    /// `must be between 1 and 256 (got 100000)`.
    pub message: String,
}

/// Checks `value` against the inclusive `range`.
pub fn check<T: PartialOrd + Display>(
    key: &str,
    value: T,
    (lo, hi): (T, T),
) -> Result<(), OutOfRange> {
    // Written so that NaN (which TOML allows) falls outside every range.
    if value >= lo && value <= hi {
        return Ok(());
    }
    Err(OutOfRange {
        key: key.to_string(),
        message: format!("must be between {lo} and {hi} (got {value})"),
    })
}

/// Checks an optional value when it is set.
pub fn check_opt<T: PartialOrd + Display + Copy>(
    key: &str,
    value: Option<T>,
    range: (T, T),
) -> Result<(), OutOfRange> {
    value.map_or(Ok(()), |v| check(key, v, range))
}

/// Each window of an app's `rate_limit` and its burst.
pub fn rate_limit(rl: &RateLimit) -> Result<(), OutOfRange> {
    check_opt("rate_limit.per_second", rl.per_second, RATE_COUNT)?;
    check_opt("rate_limit.per_minute", rl.per_minute, RATE_COUNT)?;
    check_opt("rate_limit.per_hour", rl.per_hour, RATE_COUNT)?;
    check_opt("rate_limit.burst", rl.burst, RATE_COUNT)
}

/// The numbers of one `[[sources]]` table (its kind's own checks run too).
pub fn source(config: &SourceConfig) -> Result<(), OutOfRange> {
    check("priority", config.common.priority, PRIORITY)?;
    match &config.kind {
        KindConfig::Csv(_) => Ok(()),
        KindConfig::HttpJson(c) => {
            check("timeout_secs", c.timeout_secs, TIMEOUT_SECS)?;
            check("max_pages", c.max_pages, MAX_PAGES)?;
            pagination(&c.pagination)
        }
        KindConfig::BambooHr(c) => {
            check("timeout_secs", c.timeout_secs, TIMEOUT_SECS)?;
            check(
                "full_read_every_hours",
                c.full_read_every_hours,
                FULL_READ_EVERY_HOURS,
            )
        }
        KindConfig::WorkdayRaas(c) => check("timeout_secs", c.timeout_secs, TIMEOUT_SECS),
        KindConfig::Personio(c) => check("timeout_secs", c.timeout_secs, TIMEOUT_SECS),
        KindConfig::Scim(c) => {
            check("timeout_secs", c.timeout_secs, TIMEOUT_SECS)?;
            check("max_pages", c.max_pages, MAX_PAGES)?;
            check("page_size", c.page_size, PAGE_SIZE)
        }
    }
}

/// The page sizes and first page of an `http_json` source's paging.
fn pagination(p: &Pagination) -> Result<(), OutOfRange> {
    match p {
        Pagination::None {} => Ok(()),
        Pagination::Offset { limit, .. } => check("pagination.limit", *limit, PAGE_SIZE),
        Pagination::Page {
            per_page,
            first_page,
            ..
        } => {
            check("pagination.per_page", *per_page, PAGE_SIZE)?;
            check("pagination.first_page", *first_page, FIRST_PAGE)
        }
        Pagination::Cursor { limit, .. } => check_opt("pagination.limit", *limit, PAGE_SIZE),
        Pagination::LinkHeader { per_page, .. } => {
            check_opt("pagination.per_page", *per_page, PAGE_SIZE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_nan_is_out() {
        assert!(check("k", 1u64, TIMEOUT_SECS).is_ok());
        assert!(check("k", 3600u64, TIMEOUT_SECS).is_ok());
        let e = check("concurrency", 100_000usize, CONCURRENCY).err();
        assert_eq!(
            e.map(|e| e.message),
            Some("must be between 1 and 256 (got 100000)".to_string())
        );
        assert!(check("p", f64::NAN, PERCENT).is_err());
        assert!(check("p", -0.5, PERCENT).is_err());
    }
}
