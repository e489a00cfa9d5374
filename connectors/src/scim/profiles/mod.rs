//! Per-app quirk profiles: what each app documents about deprovisioning, filters, paging,
//! PATCH, group membership, headers and rate limits, as data plus a few small hooks that
//! adapt what the client sends. One file per app; facts come from
//! research/targets_and_sources.md, and guesses are marked UNVERIFIED where they are set.

mod atlassian;
mod aws_identity_center;
mod generic;
mod github;
mod google;
mod salesforce;
mod slack;
mod zoom;

use serde::Serialize;
use serde_json::{Map, Value};

use super::patch::{PatchKind, PatchOp, RemovalForm};
use super::path::AttrPath;
use super::resource::{get_ci, mark_primary_email, user_name, values_at};
use super::ENTERPRISE_SCHEMA;

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

/// One app's quirks. Fields are public so that tests and config can adjust a copy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    /// Profile name, as in the config's `profile` key.
    pub name: &'static str,
    /// How accounts are deprovisioned.
    pub deprovision: Deprovision,
    /// What DELETE of a user means here.
    pub delete_semantics: DeleteSemantics,
    /// Attribute paths a create must carry (checked before sending).
    pub required_on_create: &'static [&'static str],
    /// Multi-valued attributes take a single value (AWS): keep the primary one.
    pub single_valued_multi: bool,
    /// Top-level attributes the app can filter users/groups on with `eq`.
    pub filterable: &'static [&'static str],
    /// Whether filters may join terms with `and`.
    pub filter_and: bool,
    /// Listing without a filter is refused (Google), so full listings are impossible.
    pub filter_required: bool,
    /// How lists are paged.
    pub pagination: Pagination,
    /// Most membership changes in one group PATCH.
    pub max_members_per_patch: usize,
    /// Only one write per user or group at a time (Slack answers 429 otherwise).
    pub serialize_object_writes: bool,
    /// Headers the app requires on every request.
    pub headers: &'static [(&'static str, &'static str)],
    /// Default rate limits.
    pub rate_limit: RateLimits,
    /// Where `ServiceProviderConfig` lives, tried in order.
    pub discovery_paths: &'static [&'static str],
    /// PATCH support.
    pub patch: PatchSupport,
    /// Whether Bulk may be used when the app advertises it.
    pub bulk: bool,
    /// Member-removal forms to try, in order, until one works.
    pub member_removal: &'static [RemovalForm],
    /// Whether member ids in `members[value eq …]` are quoted.
    pub member_value_quoted: bool,
    /// Whether GET of a group returns its members (AWS returns none).
    pub group_members_readable: bool,
    /// Longest accepted `userName`, in characters.
    pub user_name_max_len: Option<usize>,
    /// Key of the manager's id inside the enterprise `manager` object.
    pub manager_key: &'static str,
    /// A PATCH of the work email must carry `primary: true` (Atlassian).
    pub primary_email_in_patch: bool,
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

/// Multi-valued attributes a single-valued app keeps one entry of.
const SINGLE_VALUED: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "entitlements",
    "roles",
    "x509Certificates",
];

impl Profile {
    /// Names of the known profiles.
    pub const NAMES: &'static [&'static str] = &[
        "generic",
        "slack",
        "github",
        "aws_identity_center",
        "zoom",
        "atlassian",
        "salesforce",
        "google",
    ];

    /// The profile of that name.
    pub fn by_name(name: &str) -> Option<Profile> {
        Some(match name {
            "generic" => generic::profile(),
            "slack" => slack::profile(),
            "github" => github::profile(),
            "aws_identity_center" => aws_identity_center::profile(),
            "zoom" => zoom::profile(),
            "atlassian" => atlassian::profile(),
            "salesforce" => salesforce::profile(),
            "google" => google::profile(),
            _ => return None,
        })
    }

    /// The profile for an app that follows the RFC.
    pub fn generic() -> Profile {
        generic::profile()
    }

    /// Whether the app can filter on this attribute.
    pub fn can_filter(&self, path: &AttrPath) -> bool {
        self.filterable
            .iter()
            .any(|a| a.eq_ignore_ascii_case(path.attr()))
    }

    /// Checks a User about to be created against the app's documented requirements.
    pub fn check_create(&self, user: &Value) -> Result<(), String> {
        let mut missing = Vec::new();
        for req in self.required_on_create {
            let Ok(path) = AttrPath::parse(req) else {
                continue;
            };
            let present = values_at(user, &path).iter().any(|v| match v {
                Value::String(s) => !s.trim().is_empty(),
                Value::Null => false,
                Value::Object(o) => get_ci(o, "value").is_some(),
                _ => true,
            });
            if !present {
                missing.push(*req);
            }
        }
        if !missing.is_empty() {
            return Err(format!(
                "{} requires {} on create",
                self.name,
                missing.join(", ")
            ));
        }
        if let (Some(max), Some(name)) = (self.user_name_max_len, user_name(user)) {
            let n = name.chars().count();
            if n > max {
                return Err(format!(
                    "userName {name:?} has {n} characters; {} accepts at most {max}",
                    self.name
                ));
            }
        }
        Ok(())
    }

    /// Adapts a full User (create or PUT) to the app: manager key, single-valued
    /// multi-valued attributes, a primary email.
    pub fn adapt_user(&self, user: &mut Value) {
        let Some(root) = user.as_object_mut() else {
            return;
        };
        self.adapt_manager(root);
        if self.single_valued_multi {
            for (key, v) in root.iter_mut() {
                let multi = SINGLE_VALUED.iter().any(|m| m.eq_ignore_ascii_case(key));
                if let (true, Value::Array(entries)) = (multi, v) {
                    keep_one(entries);
                }
            }
            mark_primary_email(root);
        }
    }

    /// Adapts one PATCH operation to the app (see the profile fields for why).
    pub fn adapt_op(&self, op: &mut PatchOp) {
        let path = op
            .path
            .as_deref()
            .and_then(|p| AttrPath::parse_target(p).ok());
        match (&path, op.value.as_mut()) {
            (Some(p), Some(Value::Object(o))) if p.is_manager() => self.rename_manager_key(o),
            (None, Some(Value::Object(o))) => self.adapt_manager(o),
            _ => {}
        }
        let Some(path) = path else {
            return;
        };
        let is_emails = path.schema().is_none() && path.attr().eq_ignore_ascii_case("emails");
        if self.primary_email_in_patch
            && is_emails
            && op.op == PatchKind::Replace
            && path.sub().is_some_and(|s| s.eq_ignore_ascii_case("value"))
        {
            if let (Some(f), Some(v)) = (path.filter(), op.value.take()) {
                let mut entry = Map::new();
                entry.insert(f.attr.clone(), f.value.clone());
                entry.insert("value".into(), v);
                entry.insert("primary".into(), Value::Bool(true));
                op.path = Some("emails".into());
                op.value = Some(Value::Array(vec![Value::Object(entry)]));
                return;
            }
        }
        let whole_multi = path.filter().is_none()
            && path.sub().is_none()
            && SINGLE_VALUED
                .iter()
                .any(|m| m.eq_ignore_ascii_case(path.attr()));
        if whole_multi && op.op != PatchKind::Remove {
            if let Some(Value::Array(entries)) = op.value.as_mut() {
                if self.single_valued_multi {
                    // Adding would make a second value, which the app refuses.
                    op.op = PatchKind::Replace;
                    keep_one(entries);
                }
                if is_emails && (self.single_valued_multi || self.primary_email_in_patch) {
                    if let Some(Value::Object(first)) = entries.first_mut() {
                        if !entries_have_primary(first) {
                            first.insert("primary".into(), Value::Bool(true));
                        }
                    }
                }
            }
        }
    }

    fn adapt_manager(&self, root: &mut Map<String, Value>) {
        let ext_key = root
            .keys()
            .find(|k| k.eq_ignore_ascii_case(ENTERPRISE_SCHEMA))
            .cloned();
        let Some(Value::Object(ext)) = ext_key.and_then(|k| root.get_mut(&k)) else {
            return;
        };
        let mk = ext
            .keys()
            .find(|k| k.eq_ignore_ascii_case("manager"))
            .cloned();
        if let Some(Value::Object(m)) = mk.and_then(|k| ext.get_mut(&k)) {
            self.rename_manager_key(m);
        }
    }

    fn rename_manager_key(&self, manager: &mut Map<String, Value>) {
        if self.manager_key == "value" || manager.contains_key(self.manager_key) {
            return;
        }
        if let Some(v) = manager.remove("value") {
            manager.insert(self.manager_key.to_string(), v);
        }
    }
}

fn entries_have_primary(first: &Map<String, Value>) -> bool {
    get_ci(first, "primary").is_some_and(|p| p == &Value::Bool(true))
}

/// Keeps the primary entry (or the first) of a multi-valued attribute.
fn keep_one(entries: &mut Vec<Value>) {
    if entries.len() <= 1 {
        return;
    }
    let idx = entries
        .iter()
        .position(|e| {
            e.as_object()
                .and_then(|o| get_ci(o, "primary"))
                .is_some_and(|p| p == &Value::Bool(true))
        })
        .unwrap_or(0);
    let keep = entries.swap_remove(idx);
    entries.clear();
    entries.push(keep);
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
