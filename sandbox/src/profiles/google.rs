//! Google Cloud Identity inbound SCIM: listing needs a filter (400 `tooMany` without one),
//! only `userName eq` (groups: `displayName eq`), no paging, sorting, Bulk or ETags.

use super::{generic, FilterRules, Paging, Profile};

/// The Google profile.
pub fn profile() -> Profile {
    Profile {
        name: "google",
        paging: Paging::Unpaged,
        filter: FilterRules {
            required: true,
            eq_only: true,
            and: false,
            or: false,
            not: false,
            value_paths: false,
            max_comparisons: Some(1),
            attrs: Some(&["userName", "displayName"]),
        },
        bulk: None,
        etag: false,
        sort: false,
        ..generic::profile()
    }
}
