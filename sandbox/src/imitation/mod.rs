//! How the sandbox plays an app: it reads the app's profile from the one profile table
//! (`hrsync_connectors::scim::profiles`) and turns those facts into server behaviour —
//! paging, DELETE, filter syntax, error bodies here; refusals in `filters` and `checks`.
//! No app is named in this code: a new profile in the table is playable as it stands.

mod checks;
mod filters;

pub use hrsync_connectors::scim::profiles::{BulkLimits, Profile, RateSpec};
use hrsync_connectors::scim::profiles::{ErrorStyle, Pagination};

pub use checks::{check_patch, check_user, user_name};
pub use filters::check_filter;

use super::filter::ParseOptions;

/// Every profile name `--profile` accepts: the same apps hrsync has client profiles for, so
/// each one can be rehearsed.
pub const NAMES: &[&str] = Profile::NAMES;

/// The profile of that name (`aws` is short for `aws_identity_center`).
pub fn by_name(name: &str) -> Option<Profile> {
    let name = if name == "aws" {
        "aws_identity_center"
    } else {
        name
    };
    Profile::by_name(name)
}

/// What DELETE of a user does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteMode {
    /// The user is gone; later requests get 404.
    Hard,
    /// The user stays, with `active: false` (the app's "delete" is a deactivation).
    Deactivate,
}

/// How lists are paged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// RFC `startIndex`/`count`.
    Index {
        /// Page size when `count` is absent.
        default_count: usize,
        /// Largest page served (`filter.maxResults`).
        max_count: usize,
    },
    /// `cursor`/`nextCursor`; `startIndex` is ignored.
    Cursor {
        /// Largest page served.
        max_count: usize,
    },
    /// Everything that matches, in one answer.
    Unpaged,
}

/// The server-side reading of a profile's facts.
pub trait Imitation {
    /// How lists are paged.
    fn paging(&self) -> Paging;
    /// The `filter.maxResults` to advertise.
    fn max_results(&self) -> usize;
    /// What DELETE of a user does.
    fn user_delete(&self) -> DeleteMode;
    /// Lenient filter syntax the app accepts.
    fn parse_options(&self) -> ParseOptions;
    /// Error bodies carry `status` as a number instead of a string.
    fn status_as_int(&self) -> bool;
    /// Groups are returned with empty `members`.
    fn hide_group_members(&self) -> bool;
}

impl Imitation for Profile {
    fn paging(&self) -> Paging {
        let sizes = self.page_sizes;
        match self.pagination {
            Pagination::Index { .. } => Paging::Index {
                default_count: sizes.default_count,
                max_count: sizes.max_count,
            },
            Pagination::Cursor { .. } => Paging::Cursor {
                max_count: sizes.max_count,
            },
            Pagination::None => Paging::Unpaged,
        }
    }

    fn max_results(&self) -> usize {
        self.page_sizes.max_count
    }

    fn user_delete(&self) -> DeleteMode {
        if self.delete_semantics.keeps_user() {
            DeleteMode::Deactivate
        } else {
            DeleteMode::Hard
        }
    }

    fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            single_quotes: self.filter_rules.single_quotes,
            bare_values: self.filter_rules.bare_values,
        }
    }

    fn status_as_int(&self) -> bool {
        self.error_style == ErrorStyle::Coded
    }

    fn hide_group_members(&self) -> bool {
        !self.group_members_readable
    }
}

/// A refusal's detail, opened with the app's error code where the app writes one.
fn detail(p: &Profile, code: &str, text: impl std::fmt::Display) -> String {
    match p.error_style {
        ErrorStyle::Coded => format!("{code}: {text}"),
        ErrorStyle::Rfc => text.to_string(),
    }
}
