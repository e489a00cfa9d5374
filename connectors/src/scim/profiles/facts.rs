//! The vocabulary of an app profile: the small types its fields are made of (delete
//! semantics, paging, filter grammar, userName rules, rate limits, error style).

use serde::Serialize;

/// How an account is taken away when its person leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deprovision {
    /// PATCH (or PUT) `active: false`; reversible.
    PatchActive,
    /// DELETE the account.
    Delete,
}

/// What DELETE of a user does in this app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeleteSemantics {
    /// Removes the account.
    Delete,
    /// Removes the account for good; a rehire gets a new account (GitHub EMU).
    HardIrreversible,
    /// Only deactivates; the account can still be read and reactivated (Slack).
    Deactivate,
    /// Unlinks from the provisioning directory and deactivates; re-provisioning needs a
    /// new POST (Atlassian).
    Unlink,
    /// The app offers no DELETE for users; only deactivation exists (Salesforce).
    NotSupported,
}

impl DeleteSemantics {
    /// Whether the user can still be read (inactive) after a DELETE.
    pub fn keeps_user(self) -> bool {
        matches!(
            self,
            DeleteSemantics::Deactivate | DeleteSemantics::NotSupported
        )
    }
}

/// How list results are paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pagination {
    /// RFC `startIndex` (1-based) and `count`.
    Index {
        /// Largest `count` to ask for.
        max_count: usize,
    },
    /// `cursor` / `nextCursor` (AWS IAM Identity Center), with `count`.
    Cursor {
        /// Largest `count` to ask for.
        max_count: usize,
    },
    /// No paging: one request returns everything.
    None,
}

/// The page sizes the app itself serves (the client asks for [`Pagination`]'s count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageSizes {
    /// Page size when a request gives no `count`.
    pub default_count: usize,
    /// Largest page served; also the advertised `filter.maxResults`.
    pub max_count: usize,
}

/// Whether the app takes PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchSupport {
    /// Use what `ServiceProviderConfig` advertises (PATCH until told otherwise).
    Discover,
    /// Documented to take PATCH.
    Yes,
    /// Documented not to: always PUT the whole resource.
    No,
}

/// Default request rate for the app's limiter; every window given must hold. `None`
/// everywhere means the app publishes no number and the limiter only adapts to 429s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RateLimits {
    /// Requests per second.
    pub per_second: Option<u32>,
    /// Requests per minute.
    pub per_minute: Option<u32>,
    /// Requests per hour.
    pub per_hour: Option<u32>,
    /// Burst size.
    pub burst: Option<u32>,
}

impl RateLimits {
    /// No published number.
    pub const NONE: RateLimits = RateLimits {
        per_second: None,
        per_minute: None,
        per_hour: None,
        burst: None,
    };
}

/// A token bucket the app enforces: sustained rate and burst.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateSpec {
    /// Requests per second, sustained.
    pub per_sec: f64,
    /// Requests allowed at once.
    pub burst: f64,
}

/// The filter grammar the app accepts; anything else is 400 `invalidFilter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FilterRules {
    /// Only `eq` comparisons.
    pub eq_only: bool,
    /// `and` allowed.
    pub and: bool,
    /// `or` allowed.
    pub or: bool,
    /// `not` allowed.
    pub not: bool,
    /// `attr[...]` allowed.
    pub value_paths: bool,
    /// Most comparisons in one filter.
    pub max_comparisons: Option<usize>,
    /// Attribute paths that may be filtered on (case-insensitive); `None` = all.
    pub attrs: Option<&'static [&'static str]>,
    /// `'single quoted'` strings are read as strings (GitHub's documented examples).
    pub single_quotes: bool,
    /// Unquoted bare words are read as strings (Slack's `members[value eq U123]`).
    pub bare_values: bool,
}

impl FilterRules {
    /// Every operator, logical combination and value path of RFC 7644, strict syntax.
    pub const ALL: FilterRules = FilterRules {
        eq_only: false,
        and: true,
        or: true,
        not: true,
        value_paths: true,
        max_comparisons: None,
        attrs: None,
        single_quotes: false,
        bare_values: false,
    };

    /// A single `eq` on one of `attrs`, nothing else.
    pub const fn single_eq(attrs: &'static [&'static str]) -> FilterRules {
        FilterRules {
            eq_only: true,
            and: false,
            or: false,
            not: false,
            value_paths: false,
            max_comparisons: Some(1),
            attrs: Some(attrs),
            single_quotes: false,
            bare_values: false,
        }
    }
}

/// What the app does to a userName it is given before storing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct UserNameRules {
    /// The app lowercases the name.
    pub lowercase: bool,
    /// The app keeps ASCII letters, digits and these characters; `None` keeps every
    /// character.
    pub allowed_punctuation: Option<&'static str>,
    /// What a character outside the allowed ones becomes.
    pub replacement: char,
}

impl UserNameRules {
    /// Names are stored as given.
    pub const AS_GIVEN: UserNameRules = UserNameRules {
        lowercase: false,
        allowed_punctuation: None,
        replacement: '_',
    };

    /// The name as the app stores it.
    pub fn apply(&self, name: &str) -> String {
        let name = if self.lowercase {
            name.to_lowercase()
        } else {
            name.to_string()
        };
        let Some(extra) = self.allowed_punctuation else {
            return name;
        };
        name.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || extra.contains(c) {
                    c
                } else {
                    self.replacement
                }
            })
            .collect()
    }
}

/// How the app writes its error bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorStyle {
    /// RFC 7644 §3.12: `status` as a string, free-text `detail`.
    Rfc,
    /// `status` as a JSON number and a `detail` that opens with the app's own error code
    /// (`invalid_username: …`).
    Coded,
}

/// `/Bulk` as the app serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BulkLimits {
    /// Operations per request.
    pub max_operations: usize,
    /// Bytes per request.
    pub max_payload_size: usize,
}
