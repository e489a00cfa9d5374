//! What executing one operation returns: the app's answer in the terms the settle step
//! records — the effect of a success, or the failure and whether it is audited.

use std::collections::BTreeMap;

use hrsync_state::{AuditOp, Ownership};
use serde_json::Value;

use super::error::OpError;
use crate::reconcile::{Change, LinkState, Operation};

/// What the app answered to a write: the values sent, by path, and the resource it
/// returned, from which the settle step learns the forms the app keeps them in.
#[derive(Debug)]
pub struct Returned {
    /// The values the write sent.
    pub sent: BTreeMap<String, Value>,
    /// The resource the app returned.
    pub resource: Value,
    /// Whether it answered a create (a new account has no older forms to drop).
    pub create: bool,
}

impl Returned {
    /// A create's answer: every desired value was sent.
    pub fn of_create(
        desired: &crate::mapping::AttrMap,
        resource: Option<Value>,
    ) -> Option<Box<Self>> {
        resource.map(|resource| {
            Box::new(Returned {
                sent: desired.to_map(),
                resource,
                create: true,
            })
        })
    }

    /// An update's answer: the changes' new values were sent.
    pub fn of_changes(changes: &[Change], resource: Option<Value>) -> Option<Box<Self>> {
        let sent: BTreeMap<String, Value> = changes
            .iter()
            .filter_map(|c| c.new.clone().map(|v| (c.path.clone(), v)))
            .collect();
        match resource {
            Some(resource) if !sent.is_empty() => Some(Box::new(Returned {
                sent,
                resource,
                create: false,
            })),
            _ => None,
        }
    }
}

/// What the app answered to one operation.
#[derive(Debug)]
pub enum Answer {
    /// The app did it: record what it left.
    Done(Effect),
    /// The linked account no longer exists in the app: record the unlink, then the failure.
    Vanished {
        /// The account that is gone.
        id: String,
    },
    /// The operation failed (or was skipped): audit the failure (a skip is only reported)
    /// and tell the circuit.
    Failed(OpError),
    /// A failure reported in the app's outcome but neither audited nor counted by the
    /// circuit: a Bulk request refused as a whole, a Bulk entry that could not be prepared.
    Unaudited(OpError),
}

/// What a successful operation changed, written with its audit row in one transaction.
#[derive(Debug)]
pub enum Effect {
    /// The person's account was created, adopted, relinked, updated, reactivated or rebased:
    /// the link the operation leaves is upserted. `recorded` is the operation as audited
    /// when it differs from the plan's (an adoption pushes only what the account lacked).
    Linked {
        /// The audit row's operation.
        audit: AuditOp,
        /// The account.
        id: String,
        /// Whether hrsync created the account or took over an existing one.
        ownership: Ownership,
        /// The operation as audited, when it is not the plan's.
        recorded: Option<Box<Operation>>,
        /// What the app returned for what was sent, when it returned the resource.
        returned: Option<Box<Returned>>,
    },
    /// Access was removed (deactivated or deleted); `gone`: the account had already vanished.
    Removed {
        /// The audit row's operation.
        audit: AuditOp,
        /// The account.
        id: String,
        /// The account was missing in the app.
        gone: bool,
    },
    /// Nothing to record (a rebase without an account).
    Unchanged(AuditOp),
    /// A managed group was created or taken over.
    GroupCreated {
        /// The group's id in the app.
        id: String,
    },
    /// Members were added or removed (per the operation's kind).
    Members {
        /// The group's id in the app.
        gid: String,
        /// The persons whose membership changed.
        keys: Vec<String>,
    },
    /// A managed group was deleted.
    GroupDeleted {
        /// The group's id as the state knew it.
        remote_id: Option<String>,
    },
    /// The second pass pushed references (the manager) to a linked account.
    References {
        /// The update as audited.
        recorded: Box<Operation>,
        /// The link after the push.
        link: LinkState,
    },
}

impl From<Result<Effect, OpError>> for Answer {
    fn from(r: Result<Effect, OpError>) -> Self {
        match r {
            Ok(effect) => Answer::Done(effect),
            Err(e) => Answer::Failed(e),
        }
    }
}
