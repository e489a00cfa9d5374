//! `hrsync run`: the daemon. Runs cycles on `daemon.schedule` or `daemon.interval` (and
//! each app's own), on admin requests and HR webhooks; a failed cycle is logged and the
//! next one still comes; SIGHUP reloads the config; SIGTERM/SIGINT stop scheduling, let
//! in-flight operations finish within `daemon.shutdown_grace_secs`, and exit 0.

use std::path::PathBuf;

use crate::config::Settings;
use crate::control::ServeAdmin;
use crate::daemon::{self, DaemonError};
use crate::error::{CommandError, CommandResult};

/// What serves the admin endpoint when `daemon.admin_listen` is set.
const SERVE_ADMIN: Option<ServeAdmin> = Some(crate::admin::serve);

/// Runs the daemon until a signal.
pub async fn run(config_path: PathBuf, settings: Settings) -> CommandResult {
    daemon::run(config_path, settings, SERVE_ADMIN)
        .await
        .map_err(|e| match e {
            DaemonError::NoSchedule { .. } => CommandError::Usage(e.to_string()),
            _ => CommandError::Runtime(anyhow::Error::new(e)),
        })?;
    Ok(0)
}
