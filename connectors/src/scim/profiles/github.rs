//! GitHub Enterprise Cloud with managed users (github/docs SCIM REST pages): one filter
//! term (single quotes accepted, as in GitHub's examples), a User-Agent header, 1,000
//! users per hour, DELETE is a hard, irreversible delete.

use super::{
    generic, DeleteSemantics, FilterRules, PatchSupport, Profile, RateLimits, RateSpec,
};

/// The GitHub profile.
pub(super) const PROFILE: Profile = Profile {
    name: "github",
    // PATCH active:false is a soft deprovision (suspends, reversible).
    // "DELETE is a hard deprovision and irreversible."
    delete_semantics: DeleteSemantics::HardIrreversible,
    // UNVERIFIED: emails required on create (the documented attribute list has them).
    checked_on_create: &["emails.value"],
    // "Possible filters are userName, externalId, id, and displayName."
    filterable: &["userName", "externalId", "id", "displayName"],
    // "Multiple filters are not supported."
    filter_and: false,
    filter_rules: FilterRules {
        single_quotes: true,
        ..FilterRules::single_eq(&["userName", "externalId", "id", "displayName"])
    },
    // startIndex/count; the largest count is UNVERIFIED (the generic 100 is asked for).
    // "do not add more than 1,000 users to each group per hour".
    max_members_per_patch: 1000,
    // A User-Agent header is required.
    headers: &[("User-Agent", concat!("hrsync/", env!("CARGO_PKG_VERSION")))],
    // "do not assign more than 1,000 users per hour": applied to all requests as a
    // conservative default (reads are few in the steady state).
    rate_limit: RateLimits {
        per_hour: Some(1000),
        burst: Some(10),
        ..RateLimits::NONE
    },
    // The app's own bucket: 1,000 writes refilled over an hour.
    writes_limit: Some(RateSpec {
        per_sec: 1000.0 / 3600.0,
        burst: 1000.0,
    }),
    patch: PatchSupport::Yes,
    // UNVERIFIED: no Bulk documented; the client lets discovery decide.
    bulk_limits: None,
    sort: false,
    ..generic::PROFILE
};
