//! The generic profile: an app that follows RFC 7643/7644 and says what it supports in
//! `ServiceProviderConfig`.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
    FULL_REMOVAL_CHAIN,
};

/// The generic profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "generic",
        deprovision: Deprovision::PatchActive,
        delete_semantics: DeleteSemantics::Delete,
        required_on_create: &["userName"],
        single_valued_multi: false,
        // Servers that cannot filter on one of these answer 400 (the client then lists and
        // matches itself) or ignore the filter (the client verifies every result).
        filterable: &["userName", "externalId", "emails", "displayName", "id"],
        filter_and: true,
        filter_required: false,
        pagination: Pagination::Index { max_count: 100 },
        max_members_per_patch: 1000,
        serialize_object_writes: false,
        headers: &[],
        // No published number for an unknown app: the limiter adapts to its 429s.
        rate_limit: RateLimits {
            per_second: None,
            per_minute: None,
            per_hour: None,
            burst: None,
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Discover,
        bulk: true,
        member_removal: FULL_REMOVAL_CHAIN,
        member_value_quoted: true,
        group_members_readable: true,
        user_name_max_len: None,
        manager_key: "value",
        primary_email_in_patch: false,
    }
}
