//! AWS IAM Identity Center (developer guide): cursor paging (`startIndex` ignored), `eq`
//! filters joined by `and`, one value per multi-valued attribute with a primary email,
//! 100 membership changes per group PATCH and no replacing or removing all members, GET
//! group returns no members, no Bulk, no ETags, no `attributes` on lists.

use super::{
    generic, DeleteSemantics, FilterRules, PageSizes, Pagination, PatchSupport, Profile,
    RateLimits,
};
use crate::scim::patch::RemovalForm;

/// "At most 100 membership changes per request."
const MAX_MEMBER_CHANGES: usize = 100;

/// The AWS IAM Identity Center profile.
pub(super) const PROFILE: Profile = Profile {
    name: "aws_identity_center",
    // UNVERIFIED: active:false via PATCH disables the user (the attribute is accepted).
    // DeleteUser deletes the user (204).
    delete_semantics: DeleteSemantics::Delete,
    // CreateUser requires givenName, familyName, userName and displayName.
    required_on_create: &[
        "userName",
        "displayName",
        "name.givenName",
        "name.familyName",
    ],
    // Multi-valued attributes take one value only; the email must be primary.
    single_valued_multi: true,
    // Users: userName, externalId (and groups.value, id+manager). Groups by
    // displayName: UNVERIFIED.
    filterable: &["userName", "externalId", "displayName"],
    filter_rules: FilterRules {
        eq_only: true,
        or: false,
        not: false,
        value_paths: false,
        ..FilterRules::ALL
    },
    // No startIndex; `cursor` gives `nextCursor`; count is 1–100.
    pagination: Pagination::Cursor { max_count: 100 },
    page_sizes: PageSizes {
        default_count: 100,
        max_count: 100,
    },
    max_members_per_patch: MAX_MEMBER_CHANGES,
    member_changes_limit: Some(MAX_MEMBER_CHANGES),
    // Replacing or removing all members is refused with 400.
    whole_member_writes: false,
    // No numeric quota is published (throttling is a 429 ThrottlingException).
    // UNVERIFIED: a conservative default of 10/s.
    rate_limit: RateLimits {
        per_second: Some(10),
        burst: Some(5),
        ..RateLimits::NONE
    },
    patch: PatchSupport::Yes,
    // /Bulk is not supported.
    bulk: false,
    bulk_limits: None,
    etag: false,
    sort: false,
    list_projection: false,
    // GET group shows no members, so forms that rewrite the member list would wipe
    // the group (and replacing or removing all members is refused with 400).
    member_removal: &[RemovalForm::ValuePath, RemovalForm::ValueArray],
    group_members_readable: false,
    ..generic::PROFILE
};
