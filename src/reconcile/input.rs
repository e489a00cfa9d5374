//! What the planner reads: each app's policy, the desired persons, the links from the
//! state, and (for drift detection and resync) the app's real accounts.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use hrsync_connectors::source::Lifecycle;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::plan::ConflictRule;
use crate::mapping::MappedAttrs;

/// What `leave` means for an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeavePolicy {
    /// Persons on leave keep an active account.
    #[default]
    Keep,
    /// Persons on leave are deactivated, and reactivated when they return.
    Deactivate,
}

/// What to do with accounts hrsync does not manage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrphanPolicy {
    /// List them in reports; never touch them.
    #[default]
    Report,
    /// Deactivate them (resync only).
    Deactivate,
}

/// Per-attribute conflict rules of an app.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConflictRules {
    /// Rule for attributes without their own.
    pub default: ConflictRule,
    /// Rules by SCIM path.
    pub per_path: BTreeMap<String, ConflictRule>,
}

impl ConflictRules {
    /// The rule for a path: its own, or that of its top-level attribute, or the default.
    pub fn for_path(&self, path: &str) -> ConflictRule {
        if let Some(r) = self.per_path.get(path) {
            return *r;
        }
        let top = top_level(path);
        self.per_path.get(top).copied().unwrap_or(self.default)
    }

    /// True when some path may fall under `rule` (the default or a per-path rule).
    pub fn uses(&self, rule: ConflictRule) -> bool {
        self.default == rule || self.per_path.values().any(|r| *r == rule)
    }
}

/// The top-level attribute of a SCIM path (`emails[type eq "work"].value` → `emails`).
pub fn top_level(path: &str) -> &str {
    if path.starts_with("urn:") {
        return path;
    }
    let end = path.find(['[', '.']).unwrap_or(path.len());
    &path[..end]
}

/// The lifecycle rules of one app.
#[derive(Debug, Clone)]
pub struct AppPolicy {
    /// App name.
    pub name: String,
    /// Profile name.
    pub profile: String,
    /// What `leave` means.
    pub leave: LeavePolicy,
    /// Create accounts (inactive) this many days before `start_date`.
    pub pre_provision_days: u32,
    /// Delete deactivated accounts after this many days (none: never delete).
    pub delete_after_days: Option<u32>,
    /// userNames (lowercase) and HR keys hrsync never touches.
    pub exempt: BTreeSet<String>,
    /// Conflict rules.
    pub conflicts: ConflictRules,
    /// Consecutive absent cycles before an absent person is deprovisioned.
    pub absence_grace_cycles: u32,
    /// Orphan handling.
    pub orphans: OrphanPolicy,
    /// Delete managed groups that became empty.
    pub delete_empty_groups: bool,
}

impl AppPolicy {
    /// True when the key or userName is exempt.
    pub fn is_exempt(&self, key: &str, user_name: Option<&str>) -> bool {
        // Asked several times per person: skip lowercasing when nothing is exempt.
        if self.exempt.is_empty() {
            return false;
        }
        contains_lowercased(&self.exempt, key)
            || user_name.is_some_and(|u| contains_lowercased(&self.exempt, u))
    }
}

/// Whether the set holds `s` lowercased; text that is lowercase ASCII already (most
/// userNames) is looked up as it is, without a copy.
fn contains_lowercased(set: &BTreeSet<String>, s: &str) -> bool {
    if s.is_ascii() && !s.bytes().any(|b| b.is_ascii_uppercase()) {
        set.contains(s)
    } else {
        set.contains(&s.to_lowercase())
    }
}

/// A person as one app should see them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredPerson {
    /// HR key.
    pub key: String,
    /// Lifecycle status.
    pub status: Lifecycle,
    /// First day.
    pub start_date: Option<NaiveDate>,
    /// Last day.
    pub end_date: Option<NaiveDate>,
    /// Whether the app's scope expression selects them.
    pub in_scope: bool,
    /// Consecutive complete reads they were missing from (0 = present now).
    pub absent_cycles: u32,
    /// Mapped attributes (references unresolved), shared with the other apps of their
    /// mapping class.
    pub attrs: MappedAttrs,
    /// Names of the groups they belong to in this app.
    pub groups: BTreeSet<String>,
    /// Short description for reports.
    pub summary: Option<std::sync::Arc<str>>,
    /// Set when mapping failed for this person: they are quarantined for the app.
    pub mapping_error: Option<String>,
    /// Set when the person's HR record was set aside at a source this cycle (duplicate
    /// key, malformed row): they count as present but frozen, and nothing is planned for
    /// them (their account stays as last pushed). `attrs` is the last known record, or
    /// empty when none is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frozen: Option<String>,
}

impl DesiredPerson {
    /// The mapped userName, when it rendered to a string.
    pub fn user_name(&self) -> Option<&str> {
        match self.attrs.value("userName") {
            Some(Value::String(s)) => Some(s),
            _ => None,
        }
    }
}

/// Lifecycle of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkLifecycle {
    /// Account is active.
    Active,
    /// Account is deactivated (or created inactive before the start date).
    Inactive,
    /// Account was deleted.
    Deleted,
}

/// What the state knows of a person's account in an app.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkState {
    /// Account id.
    pub remote_id: String,
    /// userName last pushed.
    pub user_name: String,
    /// Attributes last pushed (flat SCIM paths).
    pub last_pushed: BTreeMap<String, Value>,
    /// Hash of the last pushed state.
    pub hash: String,
    /// Lifecycle.
    pub lifecycle: LinkLifecycle,
    /// When it was deactivated.
    pub deactivated_at: Option<DateTime<Utc>>,
}

/// An account as the app has it (drift detection and resync).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteUser {
    /// Account id.
    pub id: String,
    /// userName.
    pub user_name: String,
    /// externalId.
    pub external_id: Option<String>,
    /// Whether active.
    pub active: bool,
    /// Values at the app's configured paths.
    pub attrs: BTreeMap<String, Value>,
}

/// A group as the state knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupState {
    /// Group id in the app, once created.
    pub remote_id: Option<String>,
    /// Members (HR keys) last pushed.
    pub members: BTreeSet<String>,
}

/// Everything the planner needs for one app.
#[derive(Debug, Clone, Copy)]
pub struct AppInput<'a> {
    /// The app's rules.
    pub policy: &'a AppPolicy,
    /// Desired persons by key (present and recently absent).
    pub persons: &'a BTreeMap<String, DesiredPerson>,
    /// Links by person key.
    pub links: &'a BTreeMap<String, LinkState>,
    /// The app's accounts by id, when read (drift detection, resync).
    pub remote: Option<&'a BTreeMap<String, RemoteUser>>,
    /// Managed groups by name.
    pub groups: &'a BTreeMap<String, GroupState>,
    /// Whether group management is configured for the app.
    pub manages_groups: bool,
    /// Now (never read from the clock inside `reconcile/`).
    pub now: DateTime<Utc>,
    /// The forms the app returned for values hrsync wrote, by person (none: nothing kept).
    pub forms: Option<&'a super::form::KeptForms>,
    /// Persons left out of this plan as settled (see [`super::settled`]): absent from
    /// `persons`, their links possibly in brief, their memberships standing as they are.
    pub settled: Option<&'a BTreeSet<String>>,
}
