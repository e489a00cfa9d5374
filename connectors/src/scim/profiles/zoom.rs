//! Zoom (developers.zoom.us/docs/api/scim2): Accept header, PATCH to (de)activate; rate
//! labels per plan; DELETE semantics and filter support UNVERIFIED.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
    FULL_REMOVAL_CHAIN,
};

/// The Zoom profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "zoom",
        // PATCH /scim2/Users/{id} "to activate or deactivate a user".
        deprovision: Deprovision::PatchActive,
        // UNVERIFIED: exact DELETE semantics.
        delete_semantics: DeleteSemantics::Delete,
        // UNVERIFIED: required attributes on create.
        required_on_create: &["userName", "emails.value"],
        single_valued_multi: false,
        // UNVERIFIED: filter support; results are verified client-side and a 400 makes
        // the client list and match itself.
        filterable: &["userName", "externalId", "emails", "displayName"],
        filter_and: false,
        filter_required: false,
        // UNVERIFIED: the largest count.
        pagination: Pagination::Index { max_count: 100 },
        // UNVERIFIED: group PATCH size limit.
        max_members_per_patch: 100,
        serialize_object_writes: false,
        // Send `Accept: application/scim+json`.
        headers: &[("Accept", "application/scim+json")],
        // User PATCH/PUT is "Light"; a secondary source gives Light 30/s on Pro and 80/s
        // on Business+ (UNVERIFIED): the lower is used.
        rate_limit: RateLimits {
            per_second: Some(30),
            per_minute: None,
            per_hour: None,
            burst: Some(10),
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Yes,
        bulk: true,
        member_removal: FULL_REMOVAL_CHAIN,
        member_value_quoted: true,
        group_members_readable: true,
        user_name_max_len: None,
        manager_key: "value",
        primary_email_in_patch: false,
    }
}
