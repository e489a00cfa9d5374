//! The engine's errors, each variant named by what happened and documented by what the
//! caller does about it: a cycle that cannot run ([`EngineError`]) and an operation that
//! did not succeed ([`OpError`]).

use std::path::PathBuf;

use hrsync_connectors::http::TransportKind;
use hrsync_connectors::scim::ScimError;
use hrsync_state::StateError;

use super::read::SourceGuard;

/// Why a cycle could not run.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A source guard stopped the cycle before any write: report it, exit 3.
    #[error(transparent)]
    Guard(#[from] SourceGuard),
    /// The request does not fit the current state (a stale saved plan): nothing was
    /// touched; fix the request, exit 2.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The state database failed: exit 1 (a held lock is a usage error, exit 2).
    #[error("state: {0}")]
    State(#[from] StateError),
    /// A bug in hrsync (a panicked task, a broken invariant): exit 1 and report it.
    #[error(transparent)]
    Internal(#[from] InternalError),
}

/// A request the current state refuses; nothing was touched.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The state file's directory is missing and cannot be created.
    #[error("cannot create the state directory {}: {source}", dir.display())]
    StateDir {
        /// The directory.
        dir: PathBuf,
        /// Why it could not be created.
        source: std::io::Error,
    },
    /// A template or expression reads a field that no source provided in this read: the
    /// cycle stopped before any plan (a configuration error, exit 2).
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// HR or the state changed since the saved plan was computed.
    #[error("the saved plan is stale: HR or the state changed since it was computed; plan again (`hrsync plan --save`, or `hrsync apply` to be shown and asked anew) and review the new plan")]
    PlanStale,
}

/// A bug in hrsync: the cycle stops, the command exits 1, and the message asks for a report.
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// The task planning or executing one app panicked (or was cancelled).
    #[error("internal error: the task of app {app} failed ({detail}); this is a bug in hrsync, please report it")]
    AppTask {
        /// The app whose task failed.
        app: String,
        /// What the runtime said.
        detail: String,
    },
    /// An executing cycle reached an app without an open state store.
    #[error("internal error: app {app}: executing without a state store")]
    NoStore {
        /// The app.
        app: String,
    },
    /// An executing cycle reached an app without its SCIM client.
    #[error("internal error: app {app}: no client")]
    NoClient {
        /// The app.
        app: String,
    },
}

/// What a failure means for the app and the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// Credentials refused: open the circuit.
    Auth,
    /// DNS/TLS: the app cannot be reached as configured: open the circuit.
    Unreachable,
    /// Transport or server trouble: counts towards opening the circuit.
    Transport,
    /// This record is rejected: quarantine the person, go on.
    Record,
    /// Anything else (state errors, skips).
    Other,
}

/// Why an operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// Not attempted: reported as skipped, never audited; a later cycle tries again.
    #[error(transparent)]
    Skipped(#[from] SkipReason),
    /// The app answered with an error or could not be reached: audited; the class decides
    /// between the circuit, a retry and the person's quarantine.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// hrsync refused, to protect an account (ownership, ambiguity): audited and counted
    /// towards the person's quarantine.
    #[error(transparent)]
    Permanent(#[from] PermanentFailure),
    /// The state database failed: the outcome may be unrecorded; the next cycle's lookup
    /// finds what the app holds.
    #[error("state: {0}")]
    State(#[from] StateError),
}

/// Why an operation was not attempted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipReason {
    /// The cycle is stopping: no new operation starts.
    #[error("shutting down")]
    ShuttingDown,
    /// The app's circuit is open.
    #[error("circuit open: {0}")]
    CircuitOpen(String),
    /// The person failed repeatedly and waits in quarantine.
    #[error("quarantined after repeated failures; next attempt after {until}")]
    Deferred {
        /// When the next attempt may run.
        until: String,
    },
    /// An unlinked account matches and the app's `on_unlinked_match` is `skip`.
    #[error("existing account {id} matches; on_unlinked_match = \"skip\"")]
    MatchSkipped {
        /// The matching account.
        id: String,
    },
    /// Members to add, none of whom has an account yet (their create failed or waits):
    /// nothing is sent, and the change waits for the accounts.
    #[error("no member of {name:?} to add has an account yet")]
    MembersWaiting {
        /// The group.
        name: String,
    },
    /// A membership change for a group the app does not hold yet.
    #[error("group {name:?} does not exist yet")]
    GroupMissing {
        /// The group.
        name: String,
    },
}

/// What hrsync refused to do, or found impossible, for one operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermanentFailure {
    /// The app answered a create or lookup with an account that has no id.
    #[error("the app returned an account without an id")]
    NoId,
    /// An account matched by name but carries another person's key.
    #[error("account {id} ({user_name}) matches by name but carries externalId {external_id:?}, not {key:?}; not linking it")]
    ForeignExternalId {
        /// The matching account.
        id: String,
        /// Its userName.
        user_name: String,
        /// The key it carries.
        external_id: String,
        /// The person's key.
        key: String,
    },
    /// The matching account is already linked to someone else.
    #[error("account {id} matched but is already linked to {other}; not linking it twice")]
    AlreadyLinked {
        /// The matching account.
        id: String,
        /// The person it is linked to.
        other: String,
    },
    /// An unlinked account matches and the app's `on_unlinked_match` is `fail`.
    #[error("existing account {id} matches; on_unlinked_match = \"fail\"")]
    MatchRefused {
        /// The matching account.
        id: String,
    },
    /// The plan asks to change an account without saying which.
    #[error("{op} without an account id")]
    NoAccountId {
        /// The operation (`update`, `deactivate`, `delete`).
        op: &'static str,
    },
    /// The linked account disappeared from the app; the link is marked deleted.
    #[error("account {id} no longer exists in the app; it will be re-created next cycle")]
    AccountGone {
        /// The vanished account.
        id: String,
    },
    /// A group of the same name exists that hrsync did not create.
    #[error("group {name:?} exists ({id}) but hrsync did not create it; it is left alone")]
    ForeignGroup {
        /// The group's name.
        name: String,
        /// Its id in the app.
        id: String,
    },
    /// The app refused the credentials of a whole Bulk request.
    #[error("{detail}")]
    BulkUnauthorized {
        /// The app's refusal.
        detail: String,
    },
}

impl OpError {
    /// How the circuit breaker and quarantine treat this failure.
    pub fn class(&self) -> FailureClass {
        match self {
            OpError::Scim(e) => scim_class(e),
            OpError::Permanent(_) => FailureClass::Record,
            OpError::Skipped(_) | OpError::State(_) => FailureClass::Other,
        }
    }

    /// True when the app timed out: a create may still be running in it.
    pub fn timed_out(&self) -> bool {
        matches!(
            self,
            OpError::Scim(ScimError::Transport { source, .. })
                if source.transport_kind() == Some(TransportKind::Timeout)
        )
    }

    #[cfg(test)]
    pub(crate) fn test_transport() -> OpError {
        OpError::Scim(ScimError::Server {
            app: "a".into(),
            op: "test",
            status: 503,
            detail: String::new(),
        })
    }

    #[cfg(test)]
    pub(crate) fn test_auth() -> OpError {
        OpError::Scim(ScimError::Unauthorized {
            app: "a".into(),
            op: "test",
            status: 401,
            detail: String::new(),
        })
    }
}

fn scim_class(e: &ScimError) -> FailureClass {
    match e {
        ScimError::Unauthorized { .. } => FailureClass::Auth,
        ScimError::Transport { source, .. } => match source.transport_kind() {
            Some(TransportKind::Dns | TransportKind::Tls) => FailureClass::Unreachable,
            Some(_) => FailureClass::Transport,
            None => FailureClass::Auth,
        },
        ScimError::Server { .. }
        | ScimError::Throttled { .. }
        | ScimError::InvalidResponse { .. } => FailureClass::Transport,
        ScimError::Rejected { .. }
        | ScimError::InvalidRecord { .. }
        | ScimError::Ambiguous { .. }
        | ScimError::Conflict { .. } => FailureClass::Record,
        _ => FailureClass::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_stay_as_printed() {
        let skip = OpError::from(SkipReason::CircuitOpen("401".into()));
        assert_eq!(skip.to_string(), "circuit open: 401");
        let gone = OpError::from(PermanentFailure::AccountGone { id: "u1".into() });
        assert_eq!(
            gone.to_string(),
            "account u1 no longer exists in the app; it will be re-created next cycle"
        );
        assert_eq!(gone.class(), FailureClass::Record);
        let foreign = PermanentFailure::ForeignExternalId {
            id: "u2".into(),
            user_name: "ada".into(),
            external_id: "E2".into(),
            key: "E1".into(),
        };
        assert_eq!(
            foreign.to_string(),
            "account u2 (ada) matches by name but carries externalId \"E2\", not \"E1\"; not linking it"
        );
    }

    #[test]
    fn an_app_task_failure_names_the_app_and_says_internal() {
        let e = EngineError::from(InternalError::AppTask {
            app: "slack".into(),
            detail: "task 3 panicked".into(),
        });
        let text = e.to_string();
        assert!(text.starts_with("internal error"), "{text}");
        assert!(text.contains("slack"), "{text}");
    }
}
