//! The control surface shared by the daemon loop and the admin endpoint, importing
//! neither: the trigger queue (who asks for cycles), the cycle board (what became of
//! them), health and readiness, and the metrics registry. The daemon consumes triggers and
//! updates the board and health; the admin endpoint submits triggers and reads the rest.

pub mod board;
pub mod health;
pub mod listen;
pub mod metrics;
pub mod trigger;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::watch;

pub use board::{Board, CycleEntry, CycleState};
pub use health::{Health, Readiness};
pub use listen::AdminListener;
pub use metrics::Metrics;
pub use trigger::{CycleId, Pending, Trigger, TriggerQueue};

use crate::config::Settings;

/// What serves the admin endpoint on a bound listener until the process ends; the daemon
/// spawns it after binding (and before READY=1).
pub type ServeAdmin = fn(AdminListener, Control) -> Pin<Box<dyn Future<Output = ()> + Send>>;

/// A handle on the control surface; cheap to clone.
#[derive(Clone)]
pub struct Control {
    inner: Arc<Inner>,
}

struct Inner {
    queue: TriggerQueue,
    board: Board,
    next_id: AtomicU64,
    settings: watch::Receiver<Arc<Settings>>,
    pid: u32,
}

impl Control {
    /// A control surface over the daemon's current settings (the daemon keeps the sender
    /// and sends the new settings on every accepted reload).
    pub fn new(settings: watch::Receiver<Arc<Settings>>) -> Control {
        let debounce = settings.borrow().daemon.webhook_debounce;
        Control {
            inner: Arc::new(Inner {
                queue: TriggerQueue::new(debounce),
                board: Board::new(),
                next_id: AtomicU64::new(1),
                settings,
                pid: std::process::id(),
            }),
        }
    }

    /// Queues a cycle request and returns its id at once (`202 {"cycle": id}`).
    pub fn submit(&self, trigger: Trigger) -> CycleId {
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        // On the board before the loop can see it, so "running" always finds the entry.
        self.inner.board.queued(id, trigger.kind());
        self.inner.queue.submit(id, trigger);
        id
    }

    /// The queue the daemon loop takes cycles from.
    pub fn queue(&self) -> &TriggerQueue {
        &self.inner.queue
    }

    /// The cycle board.
    pub fn board(&self) -> &Board {
        &self.inner.board
    }

    /// The daemon's health and readiness.
    pub fn health(&self) -> &'static Health {
        health::global()
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &'static Metrics {
        metrics::global()
    }

    /// The settings in force now (they change on an accepted reload).
    pub fn settings(&self) -> Arc<Settings> {
        self.inner.settings.borrow().clone()
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.inner.pid
    }
}
