//! systemd notifications (`sd_notify`): READY, STATUS, WATCHDOG, RELOADING and STOPPING.
//! Without `NOTIFY_SOCKET` every call is a no-op, so the daemon runs the same outside
//! systemd. The watchdog is pinged only by the daemon loop itself, at half the interval
//! systemd asked for, and only while the loop (or its running cycle) makes progress.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio::time::Instant;

/// The daemon's line to the service manager.
pub struct Notifier {
    /// Half of `WATCHDOG_USEC`, when systemd watches this process.
    ping_every: Option<Duration>,
    last_ping: Option<Instant>,
    /// Set after the first failed send, so a broken socket is reported once.
    warned: bool,
}

impl Notifier {
    /// Reads `WATCHDOG_USEC` (and `WATCHDOG_PID`) from the environment.
    pub fn from_env() -> Notifier {
        Notifier {
            ping_every: sd_notify::watchdog_enabled().map(|d| d / 2),
            last_ping: None,
            warned: false,
        }
    }

    /// How often the watchdog wants a ping (None: no watchdog).
    pub fn ping_every(&self) -> Option<Duration> {
        self.ping_every
    }

    /// `READY=1` with a status line.
    pub fn ready(&mut self, status: &str) {
        self.send(&[NotifyState::Ready, NotifyState::Status(status)]);
    }

    /// `STATUS=...`.
    pub fn status(&mut self, status: &str) {
        self.send(&[NotifyState::Status(status)]);
    }

    /// `RELOADING=1` with `MONOTONIC_USEC`, as `Type=notify-reload` expects.
    pub fn reloading(&mut self) {
        match NotifyState::monotonic_usec_now() {
            Ok(now) => self.send(&[
                NotifyState::Reloading,
                now,
                NotifyState::Status("Reloading the config"),
            ]),
            Err(_) => self.send(&[NotifyState::Reloading]),
        }
    }

    /// `STOPPING=1`.
    pub fn stopping(&mut self) {
        self.send(&[
            NotifyState::Stopping,
            NotifyState::Status("Stopping: letting in-flight operations finish"),
        ]);
    }

    /// `WATCHDOG=1` if half the watchdog interval passed since the last ping.
    pub fn ping_if_due(&mut self) {
        let Some(every) = self.ping_every else {
            return;
        };
        let now = Instant::now();
        // A tick that comes a little early still pings: skipping it would stretch the
        // gap to a whole interval, the very bound systemd enforces.
        if self
            .last_ping
            .is_some_and(|t| now.duration_since(t) < every * 9 / 10)
        {
            return;
        }
        self.last_ping = Some(now);
        self.send(&[NotifyState::Watchdog]);
    }

    fn send(&mut self, states: &[NotifyState<'_>]) {
        if let Err(e) = sd_notify::notify(states) {
            if !self.warned {
                self.warned = true;
                tracing::warn!(error = %e, "Cannot notify the service manager (NOTIFY_SOCKET).");
            }
        }
    }
}
