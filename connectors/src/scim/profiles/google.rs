//! Google Cloud Identity inbound SCIM (v1beta1): listing needs a filter (400 `tooMany`
//! without one), only `userName eq` (groups: `displayName eq`), no paging, sorting, Bulk
//! or ETags.

use super::{generic, DeleteSemantics, FilterRules, Pagination, PatchSupport, Profile};

/// The Google profile.
pub(super) const PROFILE: Profile = Profile {
    name: "google",
    // UNVERIFIED: deprovisioning semantics.
    delete_semantics: DeleteSemantics::Delete,
    // UNVERIFIED: required attributes on create (the generic userName).
    // Only `userName eq`; no co/sw/ew, no and/or.
    filterable: &["userName"],
    filter_and: false,
    filter_rules: FilterRules::single_eq(&["userName", "displayName"]),
    // Without a filter the answer is `tooMany`.
    filter_required: true,
    pagination: Pagination::None,
    // UNVERIFIED: group PATCH size limit.
    max_members_per_patch: 100,
    // UNVERIFIED: quotas are per project.
    patch: PatchSupport::Yes,
    // Bulk is not supported.
    bulk: false,
    bulk_limits: None,
    etag: false,
    sort: false,
    ..generic::PROFILE
};
