//! How a command ends: errors mapped onto the exit codes of SPEC §2.

use crate::config::ConfigError;

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
}

impl CommandError {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Config(_) | CommandError::Usage(_) => 2,
            CommandError::Guard(_) => 3,
            CommandError::Runtime(_) => 1,
        }
    }
}

/// What a successful command returns: its exit code (0, or 1/2/3 for partial outcomes).
pub type CommandResult = Result<u8, CommandError>;
