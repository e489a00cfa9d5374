//! Slack (docs.slack.dev/reference/scim-api and …/rate-limits): org-wide write limits,
//! one write per object at a time, `managerId`, 21-character userNames from a restricted
//! alphabet, DELETE deactivates, error `status` as a number with Slack's error codes.

use super::{
    generic, DeleteSemantics, ErrorStyle, FilterRules, PageSizes, Pagination, PatchSupport,
    Profile, RateLimits, RateSpec, UserNameRules,
};

/// The Slack profile.
pub(super) const PROFILE: Profile = Profile {
    name: "slack",
    // DELETE only deactivates too, but PATCH active:false is the same effect and
    // symmetric with reactivation.
    delete_semantics: DeleteSemantics::Deactivate,
    // POST requires userName and at least one email.
    required_on_create: &["userName", "emails.value"],
    // Users filter by username/email. Group filtering on displayName: UNVERIFIED
    // (the client verifies results and falls back to listing on 400).
    filterable: &["userName", "emails", "displayName"],
    filter_and: false,
    filter_rules: FilterRules {
        eq_only: true,
        or: false,
        not: false,
        value_paths: false,
        attrs: Some(&["userName", "emails", "emails.value"]),
        // The v2 remove-member example writes `members[value eq U123ABC456]`, unquoted.
        bare_values: true,
        ..FilterRules::ALL
    },
    // Keep count at 1,000 or less; 10 per page when none is given.
    pagination: Pagination::Index { max_count: 1000 },
    page_sizes: PageSizes {
        default_count: 10,
        max_count: 1000,
    },
    // Up to 15,000 users per call, 5,000 recommended; user groups max out at 5,000.
    max_members_per_patch: 5000,
    // "only allows one update to a user or group at a time": concurrent writes to the
    // same object get 429.
    serialize_object_writes: true,
    // User POST/PUT/PATCH/DELETE: 180/min, burst 20 (the tightest write bucket; reads
    // allow 300/min for GET user and 1000/min overall). Org-wide, shared by all SCIM apps.
    rate_limit: RateLimits {
        per_minute: Some(180),
        burst: Some(20),
        ..RateLimits::NONE
    },
    reads_limit: Some(RateSpec {
        per_sec: 5.0,
        burst: 50.0,
    }),
    writes_limit: Some(RateSpec {
        per_sec: 3.0,
        burst: 20.0,
    }),
    patch: PatchSupport::Yes,
    // No Bulk documented; the client lets discovery decide.
    bulk_limits: None,
    etag: false,
    sort: false,
    member_value_quoted: false,
    // userName: max 21 characters, lowercase, letters, digits and `._-` (others become `_`).
    user_name_max_len: Some(21),
    user_name_rules: UserNameRules {
        lowercase: true,
        allowed_punctuation: Some("._-"),
        replacement: '_',
    },
    // The enterprise manager is `manager.managerId`.
    manager_key: "managerId",
    error_style: ErrorStyle::Coded,
    ..generic::PROFILE
};
