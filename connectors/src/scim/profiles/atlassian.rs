//! Atlassian Cloud user provisioning: a single `eq` on userName or externalId, pages of at
//! most 100, DELETE unlinks, and a PATCH `replace` of emails without a primary one is
//! refused with 400 (jira ID-8027).

use super::{generic, DeleteSemantics, FilterRules, PageSizes, PatchSupport, Profile};

/// The Atlassian profile.
pub(super) const PROFILE: Profile = Profile {
    name: "atlassian",
    // Newer doc: DELETE unlinks from the IdP, deactivates and deletes the SCIM record,
    // so re-provisioning needs a new POST (older doc: it only deactivates).
    delete_semantics: DeleteSemantics::Unlink,
    // The email must be on a verified domain (the app checks that).
    checked_on_create: &["emails.value"],
    // A single `eq` on userName or externalId.
    filterable: &["userName", "externalId"],
    filter_and: false,
    filter_rules: FilterRules::single_eq(&["userName", "externalId"]),
    // Pages hold at most 100.
    page_sizes: PageSizes {
        default_count: 100,
        max_count: 100,
    },
    // UNVERIFIED: group PATCH size limit.
    max_members_per_patch: 100,
    // UNVERIFIED: SCIM rate limits are not published.
    patch: PatchSupport::Yes,
    bulk_limits: None,
    sort: false,
    // A `replace` of emails without primary:true fails 400 "One email address need to
    // be marked as primary".
    primary_email_in_patch: true,
    ..generic::PROFILE
};
