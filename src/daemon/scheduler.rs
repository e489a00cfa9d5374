//! The loop: run a cycle, log how it went, wait for the next slot; a stop signal ends the
//! wait at once and lets a running cycle finish within `daemon.shutdown_grace_secs`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::config::{Schedule, Settings};
use crate::engine::{run_cycle, CycleOptions, CycleReport, EngineError, Mode};
use hrsync_state::CycleKind;

/// Runs scheduled cycles until `stop` turns true. A failed cycle is logged and the next one
/// still comes.
pub(super) async fn run_until_stopped(
    settings: &Settings,
    schedule: &Schedule,
    stop: &watch::Receiver<bool>,
) {
    let mut stop_changes = stop.clone();
    while !*stop.borrow() {
        let started = crate::clock::now();
        let Some(result) = run_one(settings, stop, &mut stop_changes, started).await else {
            break;
        };
        log_outcome(&result);
        if *stop.borrow() {
            break;
        }
        let delay = next_delay(schedule, started, crate::clock::now());
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop_changes.changed() => break,
        }
    }
}

/// Runs one apply cycle. On a stop signal the cycle gets the grace period to finish its
/// in-flight operations; None when it did not make it.
async fn run_one(
    settings: &Settings,
    stop: &watch::Receiver<bool>,
    stop_changes: &mut watch::Receiver<bool>,
    started: DateTime<Utc>,
) -> Option<Result<CycleReport, EngineError>> {
    let mut opts = CycleOptions::new(Mode::Apply, CycleKind::Run);
    opts.stop = stop.clone();
    opts.now = started;
    let cycle = run_cycle(settings, opts);
    tokio::pin!(cycle);
    tokio::select! {
        r = &mut cycle => Some(r),
        _ = stop_changes.changed() => {
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
    }
}

/// Logs a finished cycle, or why it failed.
fn log_outcome(result: &Result<CycleReport, EngineError>) {
    match result {
        Ok(r) => tracing::info!(
            failures = r.failures(),
            held = r.held(),
            cycle = r.cycle_id.unwrap_or_default(),
            "Scheduled cycle done."
        ),
        Err(e) => {
            tracing::error!(error = %e, "Scheduled cycle failed; the next one will run.")
        }
    }
}

/// How long to wait before the next cycle: an interval counts from the last cycle's start,
/// a cron schedule from now.
fn next_delay(schedule: &Schedule, started: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    match schedule {
        Schedule::Interval(d) => {
            let elapsed = (now - started).to_std().unwrap_or_default();
            d.saturating_sub(elapsed)
        }
        s => s.delay_from(now),
    }
}
