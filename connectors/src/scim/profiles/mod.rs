//! App profiles: one table of what each app does differently from the RFC — deprovisioning,
//! filters, paging, PATCH, group membership, headers, rate limits, userName rules, error
//! style — as data. One file per app, each starting from `generic` and stating only what
//! differs; facts come from research/targets_and_sources.md, and guesses are marked
//! UNVERIFIED where they are set.
//!
//! Two readers: the SCIM client (`adapt.rs` and the client modules) adapts what it sends,
//! and the sandbox crate imitates the app from the same facts.

mod adapt;
mod facts;

use serde::Serialize;

use super::patch::RemovalForm;
use super::path::AttrPath;

pub use facts::{
    BulkLimits, DeleteSemantics, Deprovision, ErrorStyle, FilterRules, PageSizes, Pagination,
    PatchSupport, RateLimits, RateSpec, UserNameRules,
};

/// Declares the app modules and lists their profiles, in one place.
macro_rules! registry {
    ($($app:ident),* $(,)?) => {
        $(mod $app;)*

        /// Every known app profile, `generic` first.
        pub const ALL: &[Profile] = &[$($app::PROFILE),*];
    };
}

// The registry: one line per app, named as its file and its config `profile` key.
registry! {
    generic,
    slack,
    github,
    aws_identity_center,
    zoom,
    atlassian,
    salesforce,
    google,
}

/// One app's quirks. Fields are public so that tests and config can adjust a copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Profile name, as in the config's `profile` key.
    pub name: &'static str,
    /// How accounts are deprovisioned.
    pub deprovision: Deprovision,
    /// What DELETE of a user means here.
    pub delete_semantics: DeleteSemantics,
    /// Attribute paths the app refuses a create without (checked before sending).
    pub required_on_create: &'static [&'static str],
    /// Further attribute paths the client insists on before a create, where the app's
    /// rule is unverified: the client checks them, the sandbox does not enforce them.
    pub checked_on_create: &'static [&'static str],
    /// Multi-valued attributes take a single value, and the email must be primary (AWS):
    /// the client keeps the primary one.
    pub single_valued_multi: bool,
    /// Top-level attributes the client filters users/groups on with `eq`.
    pub filterable: &'static [&'static str],
    /// Whether the client joins filter terms with `and`.
    pub filter_and: bool,
    /// Listing without a filter is refused (Google), so full listings are impossible.
    pub filter_required: bool,
    /// The filter grammar the app itself accepts.
    pub filter_rules: FilterRules,
    /// How the client pages lists.
    pub pagination: Pagination,
    /// The page sizes the app serves.
    pub page_sizes: PageSizes,
    /// Most membership changes the client sends in one group PATCH.
    pub max_members_per_patch: usize,
    /// Most membership changes the app accepts in one group PATCH, refusing more with 400.
    pub member_changes_limit: Option<usize>,
    /// The app accepts a PATCH that replaces or removes the whole member list.
    pub whole_member_writes: bool,
    /// Only one write per user or group at a time (Slack answers 429 otherwise).
    pub serialize_object_writes: bool,
    /// Headers the app requires on every request (refusing requests without them).
    pub headers: &'static [(&'static str, &'static str)],
    /// Default rate limits of the client's limiter.
    pub rate_limit: RateLimits,
    /// Read rate the app enforces, answering 429 beyond it.
    pub reads_limit: Option<RateSpec>,
    /// Write rate the app enforces, answering 429 beyond it.
    pub writes_limit: Option<RateSpec>,
    /// Where `ServiceProviderConfig` lives, tried in order; the app serves the first.
    pub discovery_paths: &'static [&'static str],
    /// PATCH support.
    pub patch: PatchSupport,
    /// Whether the client may use Bulk when the app advertises it.
    pub bulk: bool,
    /// `/Bulk` as the app serves it; `None` when it has none.
    pub bulk_limits: Option<BulkLimits>,
    /// The app sends ETags and honours `If-Match` / `If-None-Match`.
    pub etag: bool,
    /// The app honours `sortBy`.
    pub sort: bool,
    /// The app honours `attributes`/`excludedAttributes` on lists.
    pub list_projection: bool,
    /// Member-removal forms to try, in order, until one works.
    pub member_removal: &'static [RemovalForm],
    /// Whether member ids in `members[value eq …]` are quoted.
    pub member_value_quoted: bool,
    /// Whether GET of a group returns its members (AWS returns none).
    pub group_members_readable: bool,
    /// Longest accepted `userName`, in characters.
    pub user_name_max_len: Option<usize>,
    /// How the app rewrites a userName before storing it.
    pub user_name_rules: UserNameRules,
    /// Key of the manager's id inside the enterprise `manager` object.
    pub manager_key: &'static str,
    /// A PATCH of the work email must carry `primary: true` (Atlassian).
    pub primary_email_in_patch: bool,
    /// How the app writes its error bodies.
    pub error_style: ErrorStyle,
}

/// The member-removal chain for apps whose GET group shows members.
pub(crate) const FULL_REMOVAL_CHAIN: &[RemovalForm] = &[
    RemovalForm::ValuePath,
    RemovalForm::ValueArray,
    RemovalForm::ReplaceMembers,
    RemovalForm::PutGroup,
];

/// Both discovery spellings, singular first.
pub(crate) const DISCOVERY_PATHS: &[&str] = &["ServiceProviderConfig", "ServiceProviderConfigs"];

/// The names of [`ALL`], in order.
const NAMES_ARRAY: [&str; ALL.len()] = {
    let mut names = [""; ALL.len()];
    let mut i = 0;
    while i < ALL.len() {
        names[i] = ALL[i].name;
        i += 1;
    }
    names
};

impl Profile {
    /// Names of the known profiles.
    pub const NAMES: &'static [&'static str] = &NAMES_ARRAY;

    /// The profile of that name.
    pub fn by_name(name: &str) -> Option<Profile> {
        ALL.iter().find(|p| p.name == name).cloned()
    }

    /// The profile for an app that follows the RFC.
    pub fn generic() -> Profile {
        generic::PROFILE
    }

    /// Whether the app can filter on this attribute.
    pub fn can_filter(&self, path: &AttrPath) -> bool {
        self.filterable
            .iter()
            .any(|a| a.eq_ignore_ascii_case(path.attr()))
    }

    /// Where the app serves `ServiceProviderConfig`.
    pub fn config_endpoint(&self) -> &'static str {
        self.discovery_paths
            .first()
            .copied()
            .unwrap_or("ServiceProviderConfig")
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
