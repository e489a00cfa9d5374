//! `hrsync run`: the daemon. Runs cycles on `daemon.schedule` or `daemon.interval`; a
//! failed cycle is logged and the next one still comes; SIGTERM/SIGINT stop scheduling,
//! let in-flight operations finish within `daemon.shutdown_grace_secs`, and exit 0.

use std::path::PathBuf;

use crate::config::Settings;
use crate::engine::{run_cycle, CycleOptions, Mode};
use crate::error::{CommandError, CommandResult};
use hrsync_state::CycleKind;

/// Runs the daemon until a signal.
pub async fn run(config_path: PathBuf, settings: Settings) -> CommandResult {
    let Some(schedule) = settings.schedule.clone() else {
        return Err(CommandError::Usage(format!(
            "{}: `hrsync run` needs daemon.schedule or daemon.interval",
            config_path.display()
        )));
    };
    let stop_rx = crate::daemon::signals::stop_signal().map_err(|e| {
        CommandError::Runtime(anyhow::anyhow!(
            "installing the SIGTERM/SIGINT handlers: {e}"
        ))
    })?;
    tracing::info!(config = %config_path.display(), ?schedule, "hrsync daemon started.");
    let mut stop = stop_rx.clone();
    loop {
        if *stop.borrow() {
            break;
        }
        let started = crate::clock::now();
        let mut opts = CycleOptions::new(Mode::Apply, CycleKind::Run);
        opts.stop = stop_rx.clone();
        opts.now = started;
        let cycle = run_cycle(&settings, opts);
        tokio::pin!(cycle);
        let result = tokio::select! {
            r = &mut cycle => Some(r),
            _ = stop.changed() => {
                tracing::info!(grace_secs = settings.shutdown_grace.as_secs(),
                    "Stopping: letting in-flight operations finish.");
                match tokio::time::timeout(settings.shutdown_grace, &mut cycle).await {
                    Ok(r) => Some(r),
                    Err(_) => {
                        tracing::warn!("In-flight operations did not finish within the grace period; the next start repairs them.");
                        None
                    }
                }
            }
        };
        match result {
            Some(Ok(r)) => tracing::info!(
                failures = r.failures(),
                held = r.held(),
                cycle = r.cycle_id.unwrap_or_default(),
                "Scheduled cycle done."
            ),
            Some(Err(e)) => {
                tracing::error!(error = %e, "Scheduled cycle failed; the next one will run.")
            }
            None => break,
        }
        if *stop.borrow() {
            break;
        }
        let elapsed = (crate::clock::now() - started).to_std().unwrap_or_default();
        let delay = match &schedule {
            crate::daemon::schedule::Schedule::Interval(d) => d.saturating_sub(elapsed),
            s => s.delay_from(crate::clock::now()),
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => break,
        }
    }
    tracing::info!("hrsync daemon stopped.");
    Ok(0)
}
