//! What a plan says instead of a plain create: an existing account linked, skipped or
//! failed per `on_unlinked_match`, or a create the app is known to refuse.

use serde::{Deserialize, Serialize};

use super::plan::OpKind;

/// What `on_unlinked_match` decides for an account that matches an unlinked person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchDecision {
    /// Link (adopt) the account and send the changes listed with the operation.
    #[default]
    Link,
    /// Leave the account and the person alone; nothing is sent.
    Skip,
    /// Report a failure for the person; nothing is sent.
    Fail,
}

impl MatchDecision {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            MatchDecision::Link => "link",
            MatchDecision::Skip => "skip",
            MatchDecision::Fail => "fail",
        }
    }
}

/// An existing account a create found in the app's accounts read for the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adoption {
    /// The account's id.
    pub id: String,
    /// What matched: `userName` or `email`.
    pub by: String,
    /// What apply does with it.
    pub decision: MatchDecision,
}

/// An operation the app is known to refuse (its profile says so): shown, never sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// What would have been sent.
    pub op: OpKind,
    /// Person key.
    pub key: String,
    /// The account's userName, when known.
    #[serde(rename = "userName", default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// Why the app refuses it.
    pub reason: String,
}
