//! App profiles: what each rehearsed app does differently from a by-the-book SCIM server,
//! as data (limits, paging, filter support, delete semantics) plus small validation hooks.
//! One file per app; `generic` is the RFC-faithful baseline the others start from.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter, ParseOptions};
use super::patch::PatchOp;
use super::schema::Kind;

pub mod atlassian;
pub mod aws_identity_center;
pub mod generic;
pub mod github;
pub mod google;
pub mod salesforce;
pub mod slack;
pub mod zoom;

/// Every profile name `--profile` accepts: the same apps hrsync has client profiles for, so
/// each one can be rehearsed.
pub const NAMES: &[&str] = hrsync_connectors::scim::Profile::NAMES;

/// The profile of that name.
pub fn by_name(name: &str) -> Option<Profile> {
    Some(match name {
        "generic" => generic::profile(),
        "slack" => slack::profile(),
        "github" => github::profile(),
        "aws_identity_center" | "aws" => aws_identity_center::profile(),
        "zoom" => zoom::profile(),
        "atlassian" => atlassian::profile(),
        "salesforce" => salesforce::profile(),
        "google" => google::profile(),
        _ => return None,
    })
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

impl Paging {
    /// The `filter.maxResults` to advertise.
    pub fn max_results(self) -> usize {
        match self {
            Paging::Index { max_count, .. } | Paging::Cursor { max_count } => max_count,
            Paging::Unpaged => 1000,
        }
    }
}

/// `/Bulk` limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkLimits {
    /// Operations per request.
    pub max_operations: usize,
    /// Bytes per request.
    pub max_payload_size: usize,
}

/// A token bucket: sustained rate and burst.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSpec {
    /// Requests per second, sustained.
    pub per_sec: f64,
    /// Requests allowed at once.
    pub burst: f64,
}

/// Which filters the app understands; anything else is 400 `invalidFilter`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FilterRules {
    /// Listing without a filter is refused (400 `tooMany`).
    pub required: bool,
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
}

/// App-specific checks on top of the schema.
#[derive(Clone, Copy)]
pub struct Hooks {
    /// Rewrites or refuses a userName (Slack's length and character rules).
    pub user_name: fn(&str) -> Result<String, ScimError>,
    /// Checks a user about to be stored.
    pub check_user: fn(&Map<String, Value>) -> Result<(), ScimError>,
    /// Checks a PATCH request before it is applied.
    pub check_patch: fn(Kind, &[PatchOp]) -> Result<(), ScimError>,
}

fn keep_name(n: &str) -> Result<String, ScimError> {
    Ok(n.to_string())
}
fn accept_user(_: &Map<String, Value>) -> Result<(), ScimError> {
    Ok(())
}
fn accept_patch(_: Kind, _: &[PatchOp]) -> Result<(), ScimError> {
    Ok(())
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            user_name: keep_name,
            check_user: accept_user,
            check_patch: accept_patch,
        }
    }
}

/// Everything that makes the sandbox behave like one app.
#[derive(Clone)]
pub struct Profile {
    /// The name given to `--profile`.
    pub name: &'static str,
    /// Path of the service provider config (Salesforce uses the plural).
    pub spc_endpoint: &'static str,
    /// Error bodies carry `status` as a number (Slack) instead of a string.
    pub status_as_int: bool,
    /// What DELETE of a user does.
    pub user_delete: DeleteMode,
    /// List paging.
    pub paging: Paging,
    /// Supported filters.
    pub filter: FilterRules,
    /// `/Bulk`, when supported.
    pub bulk: Option<BulkLimits>,
    /// ETags and `If-Match` / `If-None-Match`.
    pub etag: bool,
    /// `sortBy`.
    pub sort: bool,
    /// `attributes`/`excludedAttributes` honoured on lists.
    pub list_projection: bool,
    /// Groups are returned with empty `members` (AWS).
    pub hide_group_members: bool,
    /// A write to an object that is being written gets 429 (Slack).
    pub per_object_write_lock: bool,
    /// Requests without `User-Agent` get 403 (GitHub).
    pub require_user_agent: bool,
    /// Requests whose `Accept` excludes SCIM JSON get 406 (Zoom).
    pub require_scim_accept: bool,
    /// Read limit, enforced unless overridden by the faults.
    pub reads_limit: Option<RateSpec>,
    /// Write limit, enforced unless overridden by the faults.
    pub writes_limit: Option<RateSpec>,
    /// Lenient filter syntax the app accepts.
    pub parse: ParseOptions,
    /// Validation hooks.
    pub hooks: Hooks,
}

impl Profile {
    /// Refuses filters the app does not support, before they are evaluated.
    pub fn check_filter(&self, f: &Filter) -> Result<(), ScimError> {
        let r = &self.filter;
        let mut comparisons = 0usize;
        check_node(r, f, &mut comparisons)?;
        if r.max_comparisons.is_some_and(|m| comparisons > m) {
            return Err(ScimError::invalid_filter(format!(
                "{} supports only a single comparison per filter",
                self.name
            )));
        }
        Ok(())
    }
}

fn path_allowed(r: &FilterRules, p: &AttrPath) -> bool {
    let Some(allowed) = r.attrs else { return true };
    let name = match &p.sub {
        Some(s) => format!("{}.{s}", p.name),
        None => p.name.clone(),
    };
    allowed.iter().any(|a| a.eq_ignore_ascii_case(&name))
}

fn check_node(r: &FilterRules, f: &Filter, n: &mut usize) -> Result<(), ScimError> {
    let refuse = |what: &str| {
        Err(ScimError::invalid_filter(format!(
            "{what} is not supported by this app"
        )))
    };
    match f {
        Filter::Compare(p, op, _) => {
            *n += 1;
            if r.eq_only && *op != CompareOp::Eq {
                return refuse(&format!("operator {op:?}"));
            }
            if !path_allowed(r, p) {
                return refuse(&format!("filtering on {p}"));
            }
            Ok(())
        }
        Filter::Present(p) => {
            *n += 1;
            if r.eq_only {
                return refuse("operator pr");
            }
            if !path_allowed(r, p) {
                return refuse(&format!("filtering on {p}"));
            }
            Ok(())
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            let is_and = matches!(f, Filter::And(..));
            if (is_and && !r.and) || (!is_and && !r.or) {
                return refuse(if is_and { "and" } else { "or" });
            }
            check_node(r, a, n)?;
            check_node(r, b, n)
        }
        Filter::Not(a) => {
            if !r.not {
                return refuse("not");
            }
            check_node(r, a, n)
        }
        Filter::ValuePath(p, inner) => {
            if !r.value_paths || !path_allowed(r, p) {
                return refuse(&format!("value filter on {p}"));
            }
            let mut ignored = 0;
            check_node(r, inner, &mut ignored)?;
            *n += 1;
            Ok(())
        }
    }
}
