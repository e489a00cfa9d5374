//! GitHub Enterprise Cloud with managed users (github/docs SCIM REST pages): one filter
//! term, a User-Agent header, 1,000 users per hour, DELETE is a hard, irreversible delete.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
    FULL_REMOVAL_CHAIN,
};

/// The GitHub profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "github",
        // PATCH active:false is a soft deprovision (suspends, reversible).
        deprovision: Deprovision::PatchActive,
        // "DELETE is a hard deprovision and irreversible."
        delete_semantics: DeleteSemantics::HardIrreversible,
        // UNVERIFIED: emails required on create (the documented attribute list has them).
        required_on_create: &["userName", "emails.value"],
        single_valued_multi: false,
        // "Possible filters are userName, externalId, id, and displayName."
        filterable: &["userName", "externalId", "id", "displayName"],
        // "Multiple filters are not supported."
        filter_and: false,
        filter_required: false,
        // startIndex/count; the largest count is UNVERIFIED.
        pagination: Pagination::Index { max_count: 100 },
        // "do not add more than 1,000 users to each group per hour".
        max_members_per_patch: 1000,
        serialize_object_writes: false,
        // A User-Agent header is required.
        headers: &[("User-Agent", concat!("hrsync/", env!("CARGO_PKG_VERSION")))],
        // "do not assign more than 1,000 users per hour": applied to all requests as a
        // conservative default (reads are few in the steady state).
        rate_limit: RateLimits {
            per_second: None,
            per_minute: None,
            per_hour: Some(1000),
            burst: Some(10),
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Yes,
        // UNVERIFIED: no Bulk documented; discovery decides.
        bulk: true,
        member_removal: FULL_REMOVAL_CHAIN,
        member_value_quoted: true,
        group_members_readable: true,
        user_name_max_len: None,
        manager_key: "value",
        primary_email_in_patch: false,
    }
}
