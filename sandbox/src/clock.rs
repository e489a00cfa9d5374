//! The one place the sandbox reads the wall clock (for `meta.created`/`lastModified`).

use chrono::{DateTime, Utc};

/// The current time.
#[allow(clippy::disallowed_methods)]
pub fn now() -> DateTime<Utc> {
    Utc::now()
}
