//! GitHub Enterprise Managed Users: DELETE is a hard, irreversible deprovision; filters are a
//! single `eq` on userName, externalId, id or displayName (single quotes accepted, as in
//! GitHub's examples); a `User-Agent` header is required; about 1,000 user writes per hour.

use super::{generic, FilterRules, Profile, RateSpec};
use crate::filter::ParseOptions;

/// The GitHub profile.
pub fn profile() -> Profile {
    Profile {
        name: "github",
        filter: FilterRules {
            eq_only: true,
            and: false,
            or: false,
            not: false,
            value_paths: false,
            max_comparisons: Some(1),
            attrs: Some(&["userName", "externalId", "id", "displayName"]),
            ..generic::ALL_FILTERS
        },
        bulk: None,
        sort: false,
        require_user_agent: true,
        // A bucket of 1,000 refilled over an hour: rehearsals under that never notice it.
        writes_limit: Some(RateSpec {
            per_sec: 1000.0 / 3600.0,
            burst: 1000.0,
        }),
        parse: ParseOptions {
            single_quotes: true,
            bare_values: false,
        },
        ..generic::profile()
    }
}
