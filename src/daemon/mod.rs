//! The daemon: cycles on a schedule until a signal stops it, finishing in-flight work.
//! [`Daemon`] owns what a running daemon holds (the loaded config, its schedule, the stop
//! channel); [`run`] is the entry point `hrsync run` calls.

mod scheduler;
pub mod signals;

use std::path::PathBuf;

use tokio::sync::watch;

use crate::config::{Schedule, Settings};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config names no schedule: a usage error (exit 2), nothing touched.
    #[error("{}: `hrsync run` needs daemon.schedule or daemon.interval", config.display())]
    NoSchedule {
        /// The config file.
        config: PathBuf,
    },
    /// The stop signals cannot be caught: refuse to run rather than be killed mid-write
    /// (exit 1). The cause follows in the error chain.
    #[error("installing the SIGTERM/SIGINT handlers")]
    Signals(#[source] std::io::Error),
}

/// A running daemon: the config it was started with, when it runs cycles, and the channel
/// that turns true when it must stop.
pub struct Daemon {
    /// The config file, for logs.
    config_path: PathBuf,
    /// The loaded, checked config (its sources built once) shared by every cycle.
    settings: Settings,
    /// When cycles run.
    schedule: Schedule,
    /// Turns true on SIGTERM/SIGINT.
    stop: watch::Receiver<bool>,
}

impl Daemon {
    /// Prepares a daemon: the config must name a schedule, and the stop signals are caught
    /// before this returns, so one arriving right after start is not lost.
    pub fn new(config_path: PathBuf, settings: Settings) -> Result<Daemon, DaemonError> {
        let Some(schedule) = settings.schedule.clone() else {
            return Err(DaemonError::NoSchedule {
                config: config_path,
            });
        };
        let stop = signals::stop_signal().map_err(DaemonError::Signals)?;
        Ok(Daemon {
            config_path,
            settings,
            schedule,
            stop,
        })
    }

    /// Runs cycles until a stop signal, then lets in-flight work finish within the grace
    /// period.
    pub async fn run(self) {
        tracing::info!(config = %self.config_path.display(), schedule = ?self.schedule, "hrsync daemon started.");
        scheduler::run_until_stopped(&self.settings, &self.schedule, &self.stop).await;
        tracing::info!("hrsync daemon stopped.");
    }
}

/// Starts the daemon on `settings` and runs it until a signal stops it.
pub async fn run(config_path: PathBuf, settings: Settings) -> Result<(), DaemonError> {
    Daemon::new(config_path, settings)?.run().await;
    Ok(())
}
