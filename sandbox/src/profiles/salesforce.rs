//! Salesforce: the configuration lives at `/ServiceProviderConfigs` (plural, a SCIM 1.1
//! name) and the singular path is 404; users are deactivated, never deleted.

use super::{generic, DeleteMode, Profile};

/// The Salesforce profile.
pub fn profile() -> Profile {
    Profile {
        name: "salesforce",
        spc_endpoint: "ServiceProviderConfigs",
        user_delete: DeleteMode::Deactivate,
        bulk: None,
        ..generic::profile()
    }
}
