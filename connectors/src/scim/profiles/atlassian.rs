//! Atlassian Cloud user provisioning: a single `eq` on userName or externalId, pages of 100,
//! DELETE unlinks, and a PATCH of emails must mark one primary (ID-8027).

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
    FULL_REMOVAL_CHAIN,
};

/// The Atlassian profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "atlassian",
        deprovision: Deprovision::PatchActive,
        // Newer doc: DELETE unlinks from the IdP, deactivates and deletes the SCIM record,
        // so re-provisioning needs a new POST (older doc: it only deactivates).
        delete_semantics: DeleteSemantics::Unlink,
        // The email must be on a verified domain (the app checks that).
        required_on_create: &["userName", "emails.value"],
        single_valued_multi: false,
        // A single `eq` on userName or externalId.
        filterable: &["userName", "externalId"],
        filter_and: false,
        filter_required: false,
        // Pages hold at most 100.
        pagination: Pagination::Index { max_count: 100 },
        // UNVERIFIED: group PATCH size limit.
        max_members_per_patch: 100,
        serialize_object_writes: false,
        headers: &[],
        // UNVERIFIED: SCIM rate limits are not published.
        rate_limit: RateLimits {
            per_second: None,
            per_minute: None,
            per_hour: None,
            burst: None,
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Yes,
        bulk: true,
        member_removal: FULL_REMOVAL_CHAIN,
        member_value_quoted: true,
        group_members_readable: true,
        user_name_max_len: None,
        manager_key: "value",
        // A `replace` of emails without primary:true fails 400 "One email address need to
        // be marked as primary".
        primary_email_in_patch: true,
    }
}
