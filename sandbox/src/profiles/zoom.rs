//! Zoom: clients must accept `application/scim+json`; deactivation goes through PATCH
//! `active`; the "Light" API rate (30 requests per second on paid plans, unverified) applies.

use super::{generic, Paging, Profile, RateSpec};

/// The Zoom profile.
pub fn profile() -> Profile {
    let light = RateSpec {
        per_sec: 30.0,
        burst: 30.0,
    };
    Profile {
        name: "zoom",
        paging: Paging::Index {
            default_count: 30,
            max_count: 100,
        },
        bulk: None,
        sort: false,
        require_scim_accept: true,
        reads_limit: Some(light),
        writes_limit: Some(light),
        ..generic::profile()
    }
}
