//! Liveness and readiness. The daemon loop beats on every turn it makes (and a cycle beats
//! on every settled operation), so a loop or cycle that stalls stops beating: `/healthz`
//! and the systemd watchdog both read the same heartbeat. Readiness says whether the first
//! config load and state open succeeded, and why not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

/// Whether the daemon can serve, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Still starting (config being checked, state being opened).
    Starting,
    /// Config loaded, state open (and the admin listener bound).
    Ready,
    /// Not serving, with the reason (`/readyz` answers 503 with it).
    NotReady(String),
}

/// The daemon's health, shared by the loop, the engine and the admin endpoint.
pub struct Health {
    origin: Instant,
    /// Milliseconds after `origin` of the last beat.
    last_beat_ms: AtomicU64,
    readiness: Mutex<Readiness>,
}

impl Health {
    /// Health of a daemon that is starting now.
    pub fn new() -> Health {
        Health {
            origin: Instant::now(),
            last_beat_ms: AtomicU64::new(0),
            readiness: Mutex::new(Readiness::Starting),
        }
    }

    /// Records that the loop (or a cycle) made progress now.
    pub fn beat(&self) {
        let ms = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_beat_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long since the last beat.
    pub fn silence(&self) -> Duration {
        let last = Duration::from_millis(self.last_beat_ms.load(Ordering::Relaxed));
        self.origin.elapsed().saturating_sub(last)
    }

    /// True while the last beat is at most `bound` old.
    pub fn alive(&self, bound: Duration) -> bool {
        self.silence() <= bound
    }

    /// Sets the readiness.
    pub fn set_readiness(&self, r: Readiness) {
        *self
            .readiness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = r;
    }

    /// The readiness now.
    pub fn readiness(&self) -> Readiness {
        self.readiness
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Default for Health {
    fn default() -> Self {
        Health::new()
    }
}

/// The process-wide health: the engine beats it on every settled operation without a
/// handle being threaded through it; a CLI run beats it harmlessly.
pub fn global() -> &'static Health {
    static HEALTH: OnceLock<Health> = OnceLock::new();
    HEALTH.get_or_init(Health::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn silence_grows_until_the_next_beat() {
        let h = Health::new();
        h.beat();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(!h.alive(Duration::from_secs(4)));
        h.beat();
        assert!(h.alive(Duration::from_secs(1)));
    }

    #[test]
    fn readiness_carries_its_reason() {
        let h = Health::new();
        assert_eq!(h.readiness(), Readiness::Starting);
        h.set_readiness(Readiness::NotReady("state locked".into()));
        assert_eq!(h.readiness(), Readiness::NotReady("state locked".into()));
    }
}
