//! How a command ends: errors mapped onto the exit codes of SPEC §2.

use crate::config::ConfigError;
use crate::engine::EngineError;

/// A command's failure, by exit code.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Exit 2: the config is invalid; nothing was touched.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Exit 2: bad usage (e.g. a saved plan that no longer matches); nothing was touched.
    #[error("{0}")]
    Usage(String),
    /// Exit 3: a safety guard held back changes.
    #[error("{0}")]
    Guard(String),
    /// Exit 1: a runtime failure.
    #[error(transparent)]
    Runtime(#[from] anyhow::Error),
    /// Exit 1: a bug in hrsync (a panicked task); the message says so and asks for a report.
    #[error(transparent)]
    Internal(#[from] crate::engine::InternalError),
}

impl CommandError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Config(_) | CommandError::Usage(_) => 2,
            CommandError::Guard(_) => 3,
            CommandError::Runtime(_) | CommandError::Internal(_) => 1,
        }
    }
}

impl From<EngineError> for CommandError {
    /// A guard exits 3; a stale plan or an unusable state directory exit 2 (nothing was
    /// touched); a writer lock still held after `--wait-secs`, a state failure or a bug
    /// exit 1 (the request is fine; it could not run now).
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Guard(g) => CommandError::Guard(g.to_string()),
            EngineError::Usage(u) => CommandError::Usage(u.to_string()),
            EngineError::State(s) => CommandError::Runtime(s.into()),
            EngineError::Internal(i) => CommandError::Internal(i),
        }
    }
}

/// What a successful command returns: its exit code (0, or 1/2/3 for partial outcomes).
pub type CommandResult = Result<u8, CommandError>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{InternalError, UsageError};

    #[test]
    fn a_panicked_app_task_is_an_internal_error_exiting_1() {
        let e = CommandError::from(EngineError::Internal(InternalError::AppTask {
            app: "github".into(),
            detail: "task 7 panicked with message \"boom\"".into(),
        }));
        assert_eq!(e.exit_code(), 1);
        let text = format!("{e:#}");
        assert!(text.contains("internal error"), "{text}");
        assert!(text.contains("github"), "{text}");
    }

    #[test]
    fn engine_errors_keep_their_exit_codes() {
        let stale = CommandError::from(EngineError::Usage(UsageError::PlanStale));
        assert_eq!(stale.exit_code(), 2);
        assert!(stale.to_string().starts_with("the saved plan is stale"));
    }
}
