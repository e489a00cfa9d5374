//! The plan: what hrsync would do to every app, in order, with the facts a reviewer needs.
//! Serializable, so a plan can be saved, reviewed and applied exactly.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::hash::StateHash;
use crate::mapping::AttrMap;

pub use super::adoption::{Adoption, MatchDecision, Refusal};

/// The kinds of operation, in the order they run within an app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpKind {
    /// Disable the account (`active=false`).
    Deactivate,
    /// Remove the account (after `delete_after_days`).
    Delete,
    /// Enable the account again (rehire, back in scope), with any attribute changes.
    Reactivate,
    /// Attribute-level update.
    Update,
    /// Record the app's value as the new base (`app_wins`), no request to the app.
    Rebase,
    /// Create the account (after looking it up: an existing match is linked instead).
    Create,
    /// Create a group hrsync manages.
    GroupCreate,
    /// Add members to a group.
    MembershipAdd,
    /// Remove members from a group.
    MembershipRemove,
    /// Delete a managed group that became empty (only when configured).
    GroupDelete,
}

impl OpKind {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Deactivate => "deactivate",
            OpKind::Delete => "delete",
            OpKind::Reactivate => "reactivate",
            OpKind::Update => "update",
            OpKind::Rebase => "rebase",
            OpKind::Create => "create",
            OpKind::GroupCreate => "group_create",
            OpKind::MembershipAdd => "membership_add",
            OpKind::MembershipRemove => "membership_remove",
            OpKind::GroupDelete => "group_delete",
        }
    }

    /// True for operations that take access away.
    pub fn is_deprovision(self) -> bool {
        matches!(self, OpKind::Deactivate | OpKind::Delete)
    }

    /// Execution phase within an app: deprovisions, then updates, then creates, then groups.
    /// Rebases send nothing to the app and go first: a resync that relinks a leaver's
    /// account records the link before the same cycle deactivates it.
    pub fn phase(self) -> u8 {
        match self {
            OpKind::Rebase => 0,
            OpKind::Deactivate | OpKind::Delete => 1,
            OpKind::Reactivate | OpKind::Update => 2,
            OpKind::Create => 3,
            OpKind::GroupCreate => 4,
            OpKind::MembershipAdd | OpKind::MembershipRemove => 5,
            OpKind::GroupDelete => 6,
        }
    }
}

/// One attribute change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// SCIM path.
    pub path: String,
    /// The value before (last pushed, or the app's for `resync`); null if none.
    pub old: Option<Value>,
    /// The value after; null when the attribute is removed.
    pub new: Option<Value>,
}

/// A reference that could not be resolved when planning (its target has no account yet).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRef {
    /// SCIM path of the reference (shared with the mapping that made it: a plan holds one
    /// per create).
    pub path: Arc<str>,
    /// The HR key it points to (shared likewise).
    pub key: Arc<str>,
    /// The target is created earlier in the same cycle: the reference goes with this
    /// create (the account id, or a `bulkId` reference in one Bulk request), not in a
    /// second pass.
    #[serde(default, skip_serializing_if = "is_false")]
    pub at_create: bool,
}

/// One operation against one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    /// What to do.
    pub op: OpKind,
    /// The person's HR key (for group operations: the group name).
    pub key: String,
    /// The account's userName (desired, or last known).
    #[serde(rename = "userName", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// The account id in the app, when linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_id: Option<String>,
    /// Attribute changes (update, reactivate, rebase).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The complete desired attributes after the operation (create, update, reactivate);
    /// the creates of one person in apps that map alike share them.
    #[serde(default, skip_serializing_if = "no_attrs")]
    pub desired: Arc<AttrMap>,
    /// Whether the account is to be active after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// References to resolve once their targets exist (second pass).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_refs: Vec<PendingRef>,
    /// Members (HR keys) for membership operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// Why (e.g. "terminated 2026-11-20", "left scope", "rehire").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A short description for reports (department · title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Arc<str>>,
    /// Hash of the desired state after the operation (stored with the link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<StateHash>,
    /// A create whose person already has an account in the app (found when the plan read
    /// the app's accounts): what happens to it instead of a POST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt: Option<Box<Adoption>>,
    /// A create planned after reading the app's accounts, none of which is the person's:
    /// it is POSTed without a lookup of its own (a 409 is still resolved by lookup).
    #[serde(default, skip_serializing_if = "is_false")]
    pub looked_up: bool,
}

/// Serde helper: leave counts that were added later out of the JSON while they are zero.
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Serde helper: leave empty attribute maps out of the JSON.
fn no_attrs(m: &Arc<AttrMap>) -> bool {
    m.is_empty()
}

/// Serde helper: leave `false` flags out of the JSON.
fn is_false(b: &bool) -> bool {
    !*b
}

impl Operation {
    /// True for the create of a new account (not the relink of one the app holds).
    pub fn creates_account(&self) -> bool {
        self.op == OpKind::Create && self.remote_id.is_none()
    }

    /// A bare operation of a kind for a key.
    pub fn new(op: OpKind, key: impl Into<String>) -> Self {
        Operation {
            op,
            key: key.into(),
            user_name: None,
            remote_id: None,
            changes: Vec::new(),
            desired: Arc::default(),
            active: None,
            pending_refs: Vec::new(),
            members: Vec::new(),
            reason: None,
            summary: None,
            hash: None,
            adopt: None,
            looked_up: false,
        }
    }
}

/// Who wins an attribute when HR and the app disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ConflictRule {
    /// HR's value is pushed.
    #[default]
    HrWins,
    /// The app's value is kept (the attribute is create-only).
    AppWins,
    /// Nothing is pushed; the difference is reported.
    Report,
}

impl ConflictRule {
    /// The config word.
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictRule::HrWins => "hr_wins",
            ConflictRule::AppWins => "app_wins",
            ConflictRule::Report => "report",
        }
    }
}

/// An attribute on which the app and HR disagree and that hrsync did not overwrite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// Person key.
    pub key: String,
    /// Account userName.
    #[serde(rename = "userName", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// SCIM path.
    pub path: String,
    /// The app's value.
    pub app: Option<Value>,
    /// HR's value.
    pub hr: Option<Value>,
    /// The rule that applied.
    pub rule: ConflictRule,
}

/// An operation held back by a guard until a run with `--allow-mass-deprovision`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Held {
    /// The operation.
    pub operation: Operation,
    /// Which guard held it.
    pub reason: String,
}

/// A person set aside for one app (e.g. two persons map to one userName).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppQuarantine {
    /// Person key.
    pub key: String,
    /// Why.
    pub reason: String,
}

/// An account in the app that hrsync does not manage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Orphan {
    /// Account id.
    pub id: String,
    /// Its userName.
    #[serde(rename = "userName")]
    pub user_name: String,
    /// Its externalId, if any.
    #[serde(
        rename = "externalId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Whether it is active.
    pub active: bool,
}

/// Counts per operation kind, as in the report summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Accounts to create (persons with no account in the app).
    pub create: usize,
    /// Existing accounts to link (adopt) instead of creating.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub link: usize,
    /// Creates skipped because an unlinked account matches (`on_unlinked_match = "skip"`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: usize,
    /// Creates failed because an unlinked account matches (`on_unlinked_match = "fail"`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub fail: usize,
    /// Accounts to update (rebase included).
    pub update: usize,
    /// Accounts to deactivate.
    pub deactivate: usize,
    /// Accounts to reactivate.
    pub reactivate: usize,
    /// Accounts to delete.
    pub delete: usize,
    /// Groups to create.
    pub group_create: usize,
    /// Membership changes (members added or removed).
    pub membership: usize,
    /// Conflicts reported.
    pub conflict: usize,
    /// Operations held by guards.
    pub held: usize,
    /// Operations the app is known to refuse (not sent).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused: usize,
}

/// The plan for one app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppPlan {
    /// App name.
    pub name: String,
    /// Profile name.
    pub profile: String,
    /// Counts.
    pub summary: Summary,
    /// Operations in execution order.
    pub operations: Vec<Operation>,
    /// Conflicts left as they are.
    pub conflicts: Vec<Conflict>,
    /// Operations held by guards.
    pub held: Vec<Held>,
    /// Persons set aside for this app.
    #[serde(default)]
    pub quarantined: Vec<AppQuarantine>,
    /// Operations the app is known to refuse: shown, never sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refusal>,
    /// Unmanaged accounts (drift detection and resync only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<Orphan>,
    /// Links whose account no longer exists in the app (drift detection and resync only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vanished: Vec<String>,
    /// Whether the app's real state was read for this plan.
    #[serde(default)]
    pub remote_read: bool,
    /// Whether the app's accounts were read to plan its creates (links and adoptions
    /// shown are what apply does).
    #[serde(default, skip_serializing_if = "is_false")]
    pub accounts_read: bool,
    /// Why the app's accounts could not be read to plan its creates: each create looks its
    /// account up at apply instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accounts_unread: Option<String>,
    /// Why the app could not be planned or executed this cycle (unreachable, circuit open).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AppPlan {
    /// The app's plan without its operations (everything else cloned).
    pub fn outline(&self) -> AppPlan {
        AppPlan {
            name: self.name.clone(),
            profile: self.profile.clone(),
            summary: self.summary.clone(),
            operations: Vec::new(),
            conflicts: self.conflicts.clone(),
            held: self.held.clone(),
            quarantined: self.quarantined.clone(),
            refused: self.refused.clone(),
            orphans: self.orphans.clone(),
            vanished: self.vanished.clone(),
            remote_read: self.remote_read,
            accounts_read: self.accounts_read,
            accounts_unread: self.accounts_unread.clone(),
            error: self.error.clone(),
        }
    }

    /// An empty plan for an app.
    pub fn new(name: impl Into<String>, profile: impl Into<String>) -> Self {
        AppPlan {
            name: name.into(),
            profile: profile.into(),
            summary: Summary::default(),
            operations: Vec::new(),
            conflicts: Vec::new(),
            held: Vec::new(),
            quarantined: Vec::new(),
            refused: Vec::new(),
            orphans: Vec::new(),
            vanished: Vec::new(),
            remote_read: false,
            accounts_read: false,
            accounts_unread: None,
            error: None,
        }
    }

    /// Sorts operations into execution order and recomputes the summary.
    pub fn finish(&mut self) {
        // By phase; creates of managers before those of their reports.
        super::order::execution_order(&mut self.operations);
        self.conflicts
            .sort_by(|a, b| (&a.key, &a.path).cmp(&(&b.key, &b.path)));
        self.quarantined.sort_by(|a, b| a.key.cmp(&b.key));
        self.refused
            .sort_by(|a, b| (&a.key, a.op).cmp(&(&b.key, b.op)));
        self.orphans.sort_by(|a, b| a.user_name.cmp(&b.user_name));
        self.vanished.sort();
        let mut s = Summary {
            conflict: self.conflicts.len(),
            held: self.held.len(),
            refused: self.refused.len(),
            ..Summary::default()
        };
        for op in &self.operations {
            match op.op {
                OpKind::Create => match op.adopt.as_ref().map(|a| a.decision) {
                    None => s.create += 1,
                    Some(MatchDecision::Link) => s.link += 1,
                    Some(MatchDecision::Skip) => s.skip += 1,
                    Some(MatchDecision::Fail) => s.fail += 1,
                },
                OpKind::Update | OpKind::Rebase => s.update += 1,
                OpKind::Deactivate => s.deactivate += 1,
                OpKind::Reactivate => s.reactivate += 1,
                OpKind::Delete => s.delete += 1,
                OpKind::GroupCreate => s.group_create += 1,
                OpKind::MembershipAdd | OpKind::MembershipRemove => {
                    s.membership += op.members.len()
                }
                OpKind::GroupDelete => {}
            }
        }
        self.summary = s;
    }

    /// True when nothing would be sent to the app.
    pub fn is_empty(&self) -> bool {
        self.operations.is_empty()
    }
}

/// Per-source facts for the report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SourceSummary {
    /// Source name.
    pub name: String,
    /// Valid records read.
    pub records: usize,
    /// Records set aside.
    pub quarantined: usize,
    /// Problems of the read as a whole that set nothing aside (a `fields` mapping that no
    /// record has).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Why nobody of this source advanced toward absence this cycle (records set aside
    /// without a readable key), if so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absence_held: Option<String>,
}

/// A record set aside at the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuarantinedRecord {
    /// Source name.
    pub source: String,
    /// Record key, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Line in the file, if a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Position otherwise ("record #3").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    /// Field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Why.
    pub reason: String,
}

/// A whole plan across apps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// Schema version of this document.
    pub format_version: u32,
    /// When it was computed (RFC 3339).
    pub generated_at: String,
    /// Sources read.
    pub sources: Vec<SourceSummary>,
    /// Per app, in config order.
    pub apps: Vec<AppPlan>,
    /// HR records set aside.
    pub quarantined: Vec<QuarantinedRecord>,
    /// Hash of the inputs (HR snapshot + state) this plan was computed from.
    pub inputs_hash: String,
}

impl Plan {
    /// The plan without its apps' operations (everything else cloned): what is left of a
    /// large plan is small.
    pub fn outline(&self) -> Plan {
        Plan {
            format_version: self.format_version,
            generated_at: self.generated_at.clone(),
            sources: self.sources.clone(),
            apps: self.apps.iter().map(AppPlan::outline).collect(),
            quarantined: self.quarantined.clone(),
            inputs_hash: self.inputs_hash.clone(),
        }
    }

    /// True when no app has an operation.
    pub fn is_empty(&self) -> bool {
        self.apps.iter().all(AppPlan::is_empty)
    }
}
