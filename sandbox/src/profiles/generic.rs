//! The by-the-book SCIM 2.0 service provider: every RFC 7644 feature, no rate limit.

use super::{BulkLimits, DeleteMode, FilterRules, Hooks, Paging, Profile};
use crate::filter::ParseOptions;

/// Filters with every operator, logical combination and value path.
pub const ALL_FILTERS: FilterRules = FilterRules {
    required: false,
    eq_only: false,
    and: true,
    or: true,
    not: true,
    value_paths: true,
    max_comparisons: None,
    attrs: None,
};

/// The generic profile.
pub fn profile() -> Profile {
    Profile {
        name: "generic",
        spc_endpoint: "ServiceProviderConfig",
        status_as_int: false,
        user_delete: DeleteMode::Hard,
        paging: Paging::Index {
            default_count: 100,
            max_count: 1000,
        },
        filter: ALL_FILTERS,
        bulk: Some(BulkLimits {
            max_operations: 1000,
            max_payload_size: 1_048_576,
        }),
        etag: true,
        sort: true,
        list_projection: true,
        hide_group_members: false,
        per_object_write_lock: false,
        require_user_agent: false,
        require_scim_accept: false,
        reads_limit: None,
        writes_limit: None,
        parse: ParseOptions::default(),
        hooks: Hooks::default(),
    }
}
