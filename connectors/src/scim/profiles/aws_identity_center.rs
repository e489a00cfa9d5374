//! AWS IAM Identity Center (developer guide): cursor paging, `eq`/`and` filters, one value
//! per multi-valued attribute, 100 membership changes per group PATCH, no Bulk, and GET
//! group returns no members.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
};
use crate::scim::patch::RemovalForm;

/// The AWS IAM Identity Center profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "aws_identity_center",
        // UNVERIFIED: active:false via PATCH disables the user (the attribute is accepted).
        deprovision: Deprovision::PatchActive,
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
        filter_and: true,
        filter_required: false,
        // No startIndex; `cursor` gives `nextCursor`; count is 1–100.
        pagination: Pagination::Cursor { max_count: 100 },
        // At most 100 membership changes per request.
        max_members_per_patch: 100,
        serialize_object_writes: false,
        headers: &[],
        // No numeric quota is published (throttling is a 429 ThrottlingException).
        // UNVERIFIED: a conservative default of 10/s.
        rate_limit: RateLimits {
            per_second: Some(10),
            per_minute: None,
            per_hour: None,
            burst: Some(5),
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Yes,
        // /Bulk is not supported.
        bulk: false,
        // GET group shows no members, so forms that rewrite the member list would wipe
        // the group (and replacing or removing all members is refused with 400).
        member_removal: &[RemovalForm::ValuePath, RemovalForm::ValueArray],
        member_value_quoted: true,
        group_members_readable: false,
        user_name_max_len: None,
        manager_key: "value",
        primary_email_in_patch: false,
    }
}
