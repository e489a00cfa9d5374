//! The daemon: cycles on a schedule and on request until a signal stops it, finishing
//! in-flight work. [`Daemon`] owns what a running daemon holds (the config in force, the
//! schedules, the control surface, the signals, the line to systemd); [`run`] is the
//! entry point `hrsync run` calls.
//!
//! One loop does everything that must not stall: it takes queued cycles from the control
//! surface (schedules, admin requests, webhooks), runs them one at a time, applies a
//! SIGHUP reload between cycles, and pings the systemd watchdog as it goes.

mod notify;
mod reload;
mod scheduler;
pub mod signals;
mod turn;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::config::{Schedule, Settings};
use crate::control::{self, Control, Readiness, ServeAdmin, Trigger};
use notify::Notifier;
use scheduler::Scheduler;

/// How often an idle loop turns when systemd asks for no watchdog.
const IDLE_TICK: Duration = Duration::from_secs(1);

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config names no schedule: a usage error (exit 2), nothing touched.
    #[error("{}: `hrsync run` needs daemon.schedule or daemon.interval", config.display())]
    NoSchedule {
        /// The config file.
        config: PathBuf,
    },
    /// The signals cannot be caught: refuse to run rather than be killed mid-write
    /// (exit 1). The cause follows in the error chain.
    #[error("installing the signal handlers")]
    Signals(#[source] std::io::Error),
    /// The state database cannot be opened (exit 1).
    #[error("opening the state {}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: hrsync_state::StateError,
    },
    /// The admin endpoint cannot listen where the config says (exit 1).
    #[error("binding the admin endpoint on {listen}")]
    AdminBind {
        /// The configured address.
        listen: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// A running daemon.
pub struct Daemon {
    /// The config file, re-read on SIGHUP.
    config_path: PathBuf,
    /// Its text as in force, to tell what a reload changes.
    config_text: String,
    /// The config in force.
    settings: Arc<Settings>,
    /// Hands the config in force to the control surface's readers.
    settings_tx: watch::Sender<Arc<Settings>>,
    /// The daemon's own schedule (apps may have theirs).
    schedule: Schedule,
    /// When each app's next scheduled cycle comes.
    scheduler: Scheduler,
    /// Triggers, board, health, metrics.
    control: Control,
    /// Turns true on SIGTERM/SIGINT.
    stop: watch::Receiver<bool>,
    /// One message per SIGHUP.
    hup: mpsc::Receiver<()>,
    /// A SIGHUP came during a cycle: reload once it ends.
    reload_pending: bool,
    /// The line to systemd.
    notifier: Notifier,
    /// How often the loop turns while idle or watching a cycle.
    tick: Duration,
    /// What the last cycle did, for STATUS.
    last_status: String,
}

impl Daemon {
    /// Prepares a daemon: the config must name a schedule, the signals are caught, the
    /// state opens, and the admin endpoint (if configured and `serve` given) is bound and
    /// serving. Then READY=1.
    pub async fn start(
        config_path: PathBuf,
        settings: Settings,
        serve: Option<ServeAdmin>,
    ) -> Result<Daemon, DaemonError> {
        let Some(schedule) = settings.schedule.clone() else {
            return Err(DaemonError::NoSchedule {
                config: config_path,
            });
        };
        let stop = signals::stop_signal().map_err(DaemonError::Signals)?;
        let hup = signals::reload_signal().map_err(DaemonError::Signals)?;
        let config_text = std::fs::read_to_string(&config_path).unwrap_or_default();
        let settings = Arc::new(settings);
        let (settings_tx, settings_rx) = watch::channel(settings.clone());
        let control = Control::new(settings_rx);
        let health = control.health();
        health.beat();
        if let Err(e) = open_state(&settings).await {
            health.set_readiness(Readiness::NotReady(e.to_string()));
            return Err(e);
        }
        bind_admin(&settings, &control, serve).await?;
        let notifier = Notifier::from_env();
        let tick = notifier.ping_every().unwrap_or(IDLE_TICK).min(IDLE_TICK);
        let mut daemon = Daemon {
            scheduler: Scheduler::new(&settings, &schedule),
            config_path,
            config_text,
            settings,
            settings_tx,
            schedule,
            control,
            stop,
            hup,
            reload_pending: false,
            notifier,
            tick,
            last_status: "Ready; the first cycle is starting".into(),
        };
        daemon.control.health().set_readiness(Readiness::Ready);
        daemon.publish_ready();
        Ok(daemon)
    }

    /// The control surface (for tests and embedding).
    pub fn control(&self) -> &Control {
        &self.control
    }

    /// Runs cycles until a stop signal; a cycle running then gets the grace period.
    pub async fn run(mut self) {
        tracing::info!(config = %self.config_path.display(), schedule = ?self.schedule,
            "hrsync daemon started.");
        while !*self.stop.borrow() {
            self.turn().await;
        }
        self.notifier.stopping();
        tracing::info!("hrsync daemon stopped.");
    }

    /// One turn of the loop: beat, reload if asked, queue what is due, then run one ready
    /// cycle or wait for the next reason to turn.
    async fn turn(&mut self) {
        self.control.health().beat();
        self.notifier.ping_if_due();
        if self.reload_pending {
            self.reload().await;
        }
        let due = self.scheduler.take_due();
        if !due.is_empty() {
            let apps = if self.scheduler.is_all(&due) {
                Vec::new()
            } else {
                due
            };
            self.control.submit(Trigger::Scheduled { apps });
        }
        let (ready, next_ready) = self.control.queue().take_ready();
        if let Some(pending) = ready {
            self.run_pending(pending).await;
            return;
        }
        let now = Instant::now();
        let wake = [next_ready, self.scheduler.next_due(), Some(now + self.tick)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + self.tick);
        let mut stop = self.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = self.control.queue().submitted() => {}
            Some(()) = self.hup.recv() => self.reload_pending = true,
            _ = stop.changed() => {}
        }
    }

    /// READY=1 with the current status line.
    fn publish_ready(&mut self) {
        let status = self.status_line();
        self.notifier.ready(&status);
    }

    /// STATUS= with what the last cycle did and when the next one comes.
    fn publish_status(&mut self) {
        let status = self.status_line();
        self.notifier.status(&status);
    }

    fn status_line(&self) -> String {
        let next = self
            .scheduler
            .next_due()
            .map(|at| at.saturating_duration_since(Instant::now()).as_secs());
        match next {
            Some(secs) => format!("{}; next scheduled cycle in {secs}s", self.last_status),
            None => self.last_status.clone(),
        }
    }
}

/// Opens the state once (creating it, running migrations and crash recovery) so that a
/// daemon that cannot keep its records says so at start, not at the first cycle.
async fn open_state(settings: &Settings) -> Result<(), DaemonError> {
    let path = &settings.state_path;
    let fail = |source| DaemonError::State {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                fail(hrsync_state::StateError::Io {
                    op: "create the state directory",
                    path: dir.to_path_buf(),
                    source: e,
                })
            })?;
        }
    }
    hrsync_state::Store::open(path).await.map_err(fail)?;
    Ok(())
}

/// Binds the admin endpoint, if configured, and starts serving it.
async fn bind_admin(
    settings: &Settings,
    control: &Control,
    serve: Option<ServeAdmin>,
) -> Result<(), DaemonError> {
    let Some(admin) = &settings.daemon.admin else {
        return Ok(());
    };
    let Some(serve) = serve else {
        tracing::warn!(listen = %admin.listen, "This build has no admin endpoint; daemon.admin_listen is ignored.");
        return Ok(());
    };
    let listener = control::listen::bind(&admin.listen)
        .await
        .map_err(|source| DaemonError::AdminBind {
            listen: admin.listen.to_string(),
            source,
        })?;
    tracing::info!(listen = %listener.describe(), "Admin endpoint listening.");
    tokio::spawn(serve(listener, control.clone()));
    Ok(())
}

/// Starts the daemon on `settings` and runs it until a signal stops it; `serve` serves
/// the admin endpoint when the config asks for one.
pub async fn run(
    config_path: PathBuf,
    settings: Settings,
    serve: Option<ServeAdmin>,
) -> Result<(), DaemonError> {
    Daemon::start(config_path, settings, serve)
        .await?
        .run()
        .await;
    Ok(())
}
