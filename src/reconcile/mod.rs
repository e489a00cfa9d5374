//! Reconciliation, pure: persons + links (+ the apps' real accounts) → a [`Plan`].
//! No I/O and no clock: time comes in as a parameter, which keeps it property-testable.

mod accounts;
mod adoption;
pub mod diff;
pub mod form;
pub mod groups;
pub mod guards;
mod hash;
pub mod input;
pub mod order;
pub mod outcome;
mod person_ops;
pub mod plan;
pub mod planner;
pub mod settled;
pub mod target;

pub use form::{Form, KeptForms};
pub use hash::{state_digest, state_hash, StateHash};
pub use input::{
    AppInput, AppPolicy, ConflictRules, DesiredPerson, GroupState, LeavePolicy, LinkLifecycle,
    LinkState, OrphanPolicy, RemoteUser,
};
pub use plan::{
    Adoption, AppPlan, Change, Conflict, ConflictRule, Held, MatchDecision, OpKind, Operation,
    Plan, QuarantinedRecord, Refusal, SourceSummary, Summary,
};
pub use planner::{plan_app, plan_app_unless_creating, plan_app_with, Candidates};

#[cfg(test)]
mod tests;
