//! Salesforce (identity_scim_rest_api): `ServiceProviderConfigs` (plural), users are
//! deactivated, never deleted, updates by PATCH.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, FULL_REMOVAL_CHAIN,
};

/// The Salesforce profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "salesforce",
        // "you deactivate user objects rather than deleting them".
        deprovision: Deprovision::PatchActive,
        delete_semantics: DeleteSemantics::NotSupported,
        // UNVERIFIED: Salesforce users also need a profile entitlement, set by the app.
        required_on_create: &["userName", "emails.value", "name.familyName"],
        single_valued_multi: false,
        // UNVERIFIED: filter support.
        filterable: &["userName", "externalId", "emails", "displayName", "id"],
        filter_and: true,
        filter_required: false,
        // UNVERIFIED: the largest count.
        pagination: Pagination::Index { max_count: 100 },
        // UNVERIFIED: group PATCH size limit.
        max_members_per_patch: 200,
        serialize_object_writes: false,
        headers: &[],
        // UNVERIFIED: API limits are per org and edition.
        rate_limit: RateLimits {
            per_second: None,
            per_minute: None,
            per_hour: None,
            burst: None,
        },
        // The SCIM 1.1 plural name is what Salesforce serves.
        discovery_paths: &["ServiceProviderConfigs", "ServiceProviderConfig"],
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
