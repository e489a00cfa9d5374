//! Slack (docs.slack.dev/reference/scim-api and …/rate-limits): org-wide write limits,
//! one write per object at a time, `managerId`, 21-character userNames, DELETE deactivates.

use super::{
    DeleteSemantics, Deprovision, Pagination, PatchSupport, Profile, RateLimits, DISCOVERY_PATHS,
    FULL_REMOVAL_CHAIN,
};

/// The Slack profile.
pub(super) fn profile() -> Profile {
    Profile {
        name: "slack",
        // DELETE only deactivates too, but PATCH active:false is the same effect and
        // symmetric with reactivation.
        deprovision: Deprovision::PatchActive,
        delete_semantics: DeleteSemantics::Deactivate,
        // POST requires userName and at least one email.
        required_on_create: &["userName", "emails.value"],
        single_valued_multi: false,
        // Users filter by username/email. Group filtering on displayName: UNVERIFIED
        // (the client verifies results and falls back to listing on 400).
        filterable: &["userName", "emails", "displayName"],
        filter_and: false,
        filter_required: false,
        // Keep count at 1,000 or less.
        pagination: Pagination::Index { max_count: 1000 },
        // Up to 15,000 users per call, 5,000 recommended; user groups max out at 5,000.
        max_members_per_patch: 5000,
        // "only allows one update to a user or group at a time": concurrent writes to the
        // same object get 429.
        serialize_object_writes: true,
        headers: &[],
        // User POST/PUT/PATCH/DELETE: 180/min, burst 20 (the tightest write bucket; reads
        // allow 300/min for GET user and 1000/min overall). Org-wide, shared by all SCIM apps.
        rate_limit: RateLimits {
            per_second: None,
            per_minute: Some(180),
            per_hour: None,
            burst: Some(20),
        },
        discovery_paths: DISCOVERY_PATHS,
        patch: PatchSupport::Yes,
        // No Bulk documented; discovery decides.
        bulk: true,
        member_removal: FULL_REMOVAL_CHAIN,
        // The v2 remove-member example writes `members[value eq U123ABC456]`, unquoted.
        member_value_quoted: false,
        group_members_readable: true,
        // userName: max 21 characters.
        user_name_max_len: Some(21),
        // The enterprise manager is `manager.managerId`.
        manager_key: "managerId",
        primary_email_in_patch: false,
    }
}
