//! The one place hrsync reads the wall clock; everything else takes time as a parameter.

use chrono::{DateTime, Utc};

/// The current time.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}
