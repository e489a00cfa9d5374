//! Google Cloud Identity inbound SCIM (v1beta1): listing needs a filter, only `userName eq`,
//! no paging, no Bulk, no ETags.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
    FULL_REMOVAL_CHAIN,
};

/// The Google profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "google",
        // UNVERIFIED: deprovisioning semantics.
        deprovision: Deprovision::PatchActive,
        delete_semantics: DeleteSemantics::Delete,
        // UNVERIFIED: required attributes on create.
        required_on_create: &["userName"],
        single_valued_multi: false,
        // Only `userName eq`; no co/sw/ew, no and/or.
        filterable: &["userName"],
        filter_and: false,
        // Without a filter the answer is `tooMany`.
        filter_required: true,
        pagination: Pagination::None,
        // UNVERIFIED: group PATCH size limit.
        max_members_per_patch: 100,
        serialize_object_writes: false,
        headers: &[],
        // UNVERIFIED: quotas are per project.
        rate_limit: RateLimits {
            per_second: None,
            per_minute: None,
            per_hour: None,
            burst: None,
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Yes,
        // Bulk is not supported.
        bulk: false,
        member_removal: FULL_REMOVAL_CHAIN,
        member_value_quoted: true,
        group_members_readable: true,
        user_name_max_len: None,
        manager_key: "value",
        primary_email_in_patch: false,
    }
}
