//! Salesforce (identity_scim_rest_api): `ServiceProviderConfigs` (plural, a SCIM 1.1 name;
//! the singular path is 404), users are deactivated, never deleted, updates by PATCH.

use super::{generic, DeleteSemantics, PatchSupport, Profile};

/// The Salesforce profile.
pub(super) const PROFILE: Profile = Profile {
    name: "salesforce",
    // "you deactivate user objects rather than deleting them".
    delete_semantics: DeleteSemantics::NotSupported,
    // UNVERIFIED: Salesforce users also need a profile entitlement, set by the app.
    checked_on_create: &["emails.value", "name.familyName"],
    // UNVERIFIED: filter support and the largest count (the generic ones are used).
    // UNVERIFIED: group PATCH size limit.
    max_members_per_patch: 200,
    // UNVERIFIED: API limits are per org and edition.
    // The SCIM 1.1 plural name is what Salesforce serves.
    discovery_paths: &["ServiceProviderConfigs", "ServiceProviderConfig"],
    patch: PatchSupport::Yes,
    bulk_limits: None,
    ..generic::PROFILE
};
