//! The generic profile: an app that follows RFC 7643/7644 and says what it supports in
//! `ServiceProviderConfig`. Every other profile starts from this one.

use super::{
    BulkLimits, DeleteSemantics, Deprovision, ErrorStyle, FilterRules, PageSizes, Pagination,
    PatchSupport, Profile, RateLimits, UserNameRules, DISCOVERY_PATHS, FULL_REMOVAL_CHAIN,
};

/// The generic profile.
pub(super) const PROFILE: Profile = Profile {
    name: "generic",
    deprovision: Deprovision::PatchActive,
    delete_semantics: DeleteSemantics::Delete,
    required_on_create: &["userName"],
    checked_on_create: &[],
    single_valued_multi: false,
    // Servers that cannot filter on one of these answer 400 (the client then lists and
    // matches itself) or ignore the filter (the client verifies every result).
    filterable: &["userName", "externalId", "emails", "displayName", "id"],
    filter_and: true,
    filter_required: false,
    filter_rules: FilterRules::ALL,
    pagination: Pagination::Index { max_count: 100 },
    page_sizes: PageSizes {
        default_count: 100,
        max_count: 1000,
    },
    max_members_per_patch: 1000,
    member_changes_limit: None,
    whole_member_writes: true,
    serialize_object_writes: false,
    headers: &[],
    // No published number for an unknown app: the limiter adapts to its 429s.
    rate_limit: RateLimits::NONE,
    reads_limit: None,
    writes_limit: None,
    discovery_paths: DISCOVERY_PATHS,
    patch: PatchSupport::Discover,
    bulk: true,
    bulk_limits: Some(BulkLimits {
        max_operations: 1000,
        max_payload_size: 1_048_576,
    }),
    etag: true,
    sort: true,
    list_projection: true,
    member_removal: FULL_REMOVAL_CHAIN,
    member_value_quoted: true,
    group_members_readable: true,
    user_name_max_len: None,
    user_name_rules: UserNameRules::AS_GIVEN,
    manager_key: "value",
    primary_email_in_patch: false,
    error_style: ErrorStyle::Rfc,
};
