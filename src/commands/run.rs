//! `hrsync run`: the daemon. Runs cycles on `daemon.schedule` or `daemon.interval`; a
//! failed cycle is logged and the next one still comes; SIGTERM/SIGINT stop scheduling,
//! let in-flight operations finish within `daemon.shutdown_grace_secs`, and exit 0.

use std::path::PathBuf;

use crate::config::Settings;
use crate::daemon::{self, DaemonError};
use crate::error::{CommandError, CommandResult};

/// Runs the daemon until a signal.
pub async fn run(config_path: PathBuf, settings: Settings) -> CommandResult {
    daemon::run(config_path, settings)
        .await
        .map_err(|e| match e {
            DaemonError::NoSchedule { .. } => CommandError::Usage(e.to_string()),
            DaemonError::Signals(_) => CommandError::Runtime(anyhow::Error::new(e)),
        })?;
    Ok(0)
}
