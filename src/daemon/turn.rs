//! One turn of the daemon: run a queued cycle, watch it (the watchdog is pinged only while
//! it makes progress), let a stop signal give it the grace period, then record how it went
//! on the board, in the metrics, in the log and in systemd's STATUS line.

use std::collections::BTreeSet;
use std::time::Duration;

use hrsync_state::CycleKind;
use serde_json::json;
use tokio::time::Instant;

use super::Daemon;
use crate::control::{Metrics, Pending, Trigger};
use crate::engine::{run_cycle, CycleOptions, CycleReport, EngineError, Focus, Mode};
use crate::report;

/// What became of a cycle: its result, or None when the grace period ran out.
type Ran = Option<Result<CycleReport, EngineError>>;

impl Daemon {
    /// Runs one queued cycle to its end (or to the end of the grace period on a stop).
    pub(super) async fn run_pending(&mut self, p: Pending) {
        let kind = p.trigger.kind();
        self.control.board().running(&p.ids);
        self.control.health().beat();
        let started = Instant::now();
        let settings = self.settings.clone();
        let opts = options(&p.trigger, self.stop.clone());
        tracing::info!(kind, requests = p.ids.len(), "Cycle starting.");
        let cycle = run_cycle(&settings, opts);
        tokio::pin!(cycle);
        let mut tick = tokio::time::interval(self.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stop_changes = self.stop.clone();
        let mut stalled = false;
        let ran: Ran = loop {
            tokio::select! {
                r = &mut cycle => break Some(r),
                _ = tick.tick() => stalled = self.watch_cycle(stalled),
                Some(()) = self.hup.recv() => {
                    self.reload_pending = true;
                    tracing::info!("Reload requested; it applies once the running cycle ends.");
                }
                _ = stop_changes.changed() => {
                    self.notifier.stopping();
                    tracing::info!(grace_secs = settings.shutdown_grace.as_secs(),
                        "Stopping: letting in-flight operations finish.");
                    break match tokio::time::timeout(settings.shutdown_grace, &mut cycle).await {
                        Ok(r) => Some(r),
                        Err(_) => {
                            tracing::warn!("In-flight operations did not finish within the grace period; the next start repairs them.");
                            None
                        }
                    };
                }
            }
        };
        self.finish(&p, ran, started.elapsed());
    }

    /// On each tick of a running cycle: ping the watchdog while the cycle settles
    /// operations (or just started); a cycle silent past the stall bound stops the pings,
    /// so systemd restarts a stuck daemon. Returns whether the cycle is stalled.
    fn watch_cycle(&mut self, was_stalled: bool) -> bool {
        let bound = self.settings.daemon.stall_timeout;
        if self.control.health().alive(bound) {
            self.notifier.ping_if_due();
            return false;
        }
        if !was_stalled {
            tracing::error!(
                stall_timeout_secs = bound.as_secs(),
                "The running cycle made no progress within the stall bound; watchdog pings stop."
            );
        }
        true
    }

    /// Records a finished cycle everywhere it is looked at.
    fn finish(&mut self, p: &Pending, ran: Ran, took: Duration) {
        let kind = p.trigger.kind();
        let outcome = Outcome::of(&p.trigger, &ran);
        let metrics = self.control.metrics();
        metrics.cycle(kind, outcome.result, took.as_secs_f64());
        if let Some(Ok(r)) = &ran {
            record_gauges(metrics, r);
            if matches!(outcome.result, "ok" | "guarded") {
                let secs = crate::clock::now().timestamp_millis() as f64 / 1000.0;
                metrics.last_success.set(secs);
            }
        }
        log_outcome(kind, &ran);
        let state_cycle = match &ran {
            Some(Ok(r)) => r.cycle_id,
            _ => None,
        };
        self.control
            .board()
            .done(&p.ids, state_cycle, outcome.json.clone());
        self.last_status = format!(
            "Last cycle{} ({kind}) {} in {:.1}s",
            state_cycle.map(|c| format!(" {c}")).unwrap_or_default(),
            outcome.summary,
            took.as_secs_f64()
        );
        self.publish_status();
    }
}

/// The engine's options for a trigger.
fn options(trigger: &Trigger, stop: tokio::sync::watch::Receiver<bool>) -> CycleOptions {
    let set = |v: &[String]| (!v.is_empty()).then(|| v.iter().cloned().collect::<BTreeSet<_>>());
    let mut opts = match trigger {
        Trigger::Scheduled { apps } => {
            let mut o = CycleOptions::new(Mode::Apply, CycleKind::Run);
            o.focus = Focus {
                apps: set(apps),
                keys: None,
            };
            o
        }
        Trigger::Sync {
            apps,
            allow_mass_deprovision,
        } => {
            let mut o = CycleOptions::new(Mode::Apply, CycleKind::Run);
            o.focus = Focus {
                apps: set(apps),
                keys: None,
            };
            o.allow_mass_deprovision = *allow_mass_deprovision;
            o
        }
        Trigger::Webhook { keys, .. } => {
            let mut o = CycleOptions::new(Mode::Apply, CycleKind::Run);
            o.focus = Focus {
                apps: None,
                keys: set(keys),
            };
            o
        }
        Trigger::Resync {
            apps,
            users,
            dry_run,
            allow_mass_deprovision,
        } => {
            let mut o = CycleOptions::new(Mode::Resync { dry_run: *dry_run }, CycleKind::Resync);
            o.apps = apps.clone();
            o.users = users.clone();
            o.allow_mass_deprovision = *allow_mass_deprovision;
            o
        }
    };
    opts.stop = stop;
    opts.now = crate::clock::now();
    opts
}

/// A finished cycle in the words of the board, the metrics and the STATUS line.
struct Outcome {
    /// `ok`, `failed`, `guarded` or `interrupted`.
    result: &'static str,
    /// The board's JSON: result, exit code, counts, the CLI's text, any error.
    json: serde_json::Value,
    /// One line for STATUS.
    summary: String,
}

impl Outcome {
    fn of(trigger: &Trigger, ran: &Ran) -> Outcome {
        match ran {
            None => Outcome {
                result: "interrupted",
                json: json!({"result": "interrupted", "exit_code": 1,
                    "error": "stopped before the cycle finished"}),
                summary: "interrupted".into(),
            },
            Some(Err(e)) => {
                let result = if matches!(e, EngineError::Guard(_)) {
                    "guarded"
                } else {
                    "failed"
                };
                let error = e.to_string();
                let code = exit_code(e);
                Outcome {
                    result,
                    json: json!({"result": result, "exit_code": code, "error": error}),
                    summary: format!("{result}: {error}"),
                }
            }
            Some(Ok(r)) => Outcome::of_report(trigger, r),
        }
    }

    fn of_report(trigger: &Trigger, r: &CycleReport) -> Outcome {
        let dry_run = matches!(trigger, Trigger::Resync { dry_run: true, .. });
        let (failures, held) = (r.failures(), r.held());
        let done: usize = r.outcomes.iter().flat_map(|o| o.done.values()).sum();
        let result = if failures > 0 {
            "failed"
        } else if held > 0 {
            "guarded"
        } else {
            "ok"
        };
        // What the CLI would have printed for the same request, and its exit code.
        let (output, exit_code) = if dry_run {
            let failed = r.plan.apps.iter().any(|a| a.error.is_some());
            (report::render_text(&r.plan), u8::from(failed))
        } else {
            (report::outcome::render(r), r.exit_code())
        };
        Outcome {
            result,
            json: json!({
                "result": result, "exit_code": exit_code, "cycle": r.cycle_id,
                "done": done, "failed": failures, "held": held, "output": output,
            }),
            summary: format!("{result}: {done} done, {failures} failed, {held} held"),
        }
    }
}

/// The exit code the CLI would have ended with for this engine error (as
/// `CommandError::from` maps it).
fn exit_code(e: &EngineError) -> u8 {
    match e {
        EngineError::Guard(_) => 3,
        EngineError::Usage(_) => 2,
        EngineError::State(_) | EngineError::Internal(_) => 1,
    }
}

/// Per-source and per-app gauges from a finished cycle.
fn record_gauges(m: &Metrics, r: &CycleReport) {
    for s in &r.plan.sources {
        Metrics::set_source(&m.source_records, &s.name, gauge(s.records));
        Metrics::set_source(&m.quarantined_records, &s.name, gauge(s.quarantined));
    }
    for a in &r.plan.apps {
        Metrics::set_app(&m.held_operations, &a.name, gauge(a.held.len()));
    }
    for o in &r.outcomes {
        Metrics::set_app(&m.circuit_open, &o.app, i64::from(o.circuit_open.is_some()));
    }
}

fn gauge(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Logs a finished cycle, or why it failed.
fn log_outcome(kind: &str, ran: &Ran) {
    match ran {
        Some(Ok(r)) => tracing::info!(
            kind,
            failures = r.failures(),
            held = r.held(),
            cycle = r.cycle_id.unwrap_or_default(),
            "Daemon cycle done."
        ),
        Some(Err(e)) if kind == "scheduled" => {
            tracing::error!(kind, error = %e, "Scheduled cycle failed; the next one will run.")
        }
        Some(Err(e)) => tracing::error!(kind, error = %e, "Triggered cycle failed."),
        None => {}
    }
}
