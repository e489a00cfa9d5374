//! Zoom (developers.zoom.us/docs/api/scim2): Accept header, PATCH to (de)activate; rate
//! labels per plan; DELETE semantics and filter support UNVERIFIED.

use super::{
    generic, DeleteSemantics, PageSizes, Pagination, PatchSupport, Profile, RateLimits, RateSpec,
};

/// The "Light" rate as the app enforces it, reads and writes alike.
const LIGHT: RateSpec = RateSpec {
    per_sec: 30.0,
    burst: 30.0,
};

/// The Zoom profile.
pub(super) const PROFILE: Profile = Profile {
    name: "zoom",
    // PATCH /scim2/Users/{id} "to activate or deactivate a user".
    // UNVERIFIED: exact DELETE semantics.
    delete_semantics: DeleteSemantics::Delete,
    // UNVERIFIED: required attributes on create.
    checked_on_create: &["emails.value"],
    // UNVERIFIED: filter support; results are verified client-side and a 400 makes
    // the client list and match itself.
    filterable: &["userName", "externalId", "emails", "displayName"],
    filter_and: false,
    // UNVERIFIED: the largest count.
    pagination: Pagination::Index { max_count: 100 },
    page_sizes: PageSizes {
        default_count: 30,
        max_count: 100,
    },
    // UNVERIFIED: group PATCH size limit.
    max_members_per_patch: 100,
    // Send `Accept: application/scim+json`.
    headers: &[("Accept", "application/scim+json")],
    // User PATCH/PUT is "Light"; a secondary source gives Light 30/s on Pro and 80/s
    // on Business+ (UNVERIFIED): the lower is used.
    rate_limit: RateLimits {
        per_second: Some(30),
        burst: Some(10),
        ..RateLimits::NONE
    },
    reads_limit: Some(LIGHT),
    writes_limit: Some(LIGHT),
    patch: PatchSupport::Yes,
    bulk_limits: None,
    sort: false,
    ..generic::PROFILE
};
