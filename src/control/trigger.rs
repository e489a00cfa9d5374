//! What asks for a cycle, and the queue that holds the asks: requests that arrive while a
//! cycle runs wait here and are merged with like requests, so cycles never run at once and
//! a burst of webhooks makes one cycle. Every accepted request gets a cycle id at once.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Notify;
use tokio::time::Instant;

/// A cycle id handed to whoever asked for it (`GET /v1/cycles/{id}`); ids of requests
/// merged into one cycle all report that cycle.
pub type CycleId = u64;

/// Why a cycle runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    /// The schedule came due for these apps (all when empty); every other app still gets
    /// its pending deprovisions.
    Scheduled {
        /// Apps whose schedule is due (empty: all).
        apps: Vec<String>,
    },
    /// `POST /v1/sync` or a handed-off `hrsync apply`: these apps (all when empty).
    Sync {
        /// Apps to sync (empty: all).
        apps: Vec<String>,
        /// Release deprovisions a guard would hold (`apply --allow-mass-deprovision`).
        allow_mass_deprovision: bool,
    },
    /// `POST /v1/resync` or a handed-off `hrsync resync`.
    Resync {
        /// Apps to resync (empty: all).
        apps: Vec<String>,
        /// Only these persons (empty: all).
        users: Vec<String>,
        /// Report what would change; change nothing.
        dry_run: bool,
        /// Release deprovisions a guard would hold.
        allow_mass_deprovision: bool,
    },
    /// An HR webhook: every app; when `keys` is non-empty only those persons get creates
    /// and updates, while every pending deprovision of anyone still goes out.
    Webhook {
        /// The source the hook came from.
        source: String,
        /// The persons the hook named (empty: unknown, so everyone).
        keys: Vec<String>,
    },
}

impl Trigger {
    /// The label of the cycle kind in metrics and on the board.
    pub fn kind(&self) -> &'static str {
        match self {
            Trigger::Scheduled { .. } => "scheduled",
            Trigger::Sync { .. } => "sync",
            Trigger::Resync { .. } => "resync",
            Trigger::Webhook { .. } => "webhook",
        }
    }

    /// Merges `other` into `self` when one cycle can serve both; false when they must stay
    /// two cycles.
    fn absorb(&mut self, other: &Trigger) -> bool {
        match (self, other) {
            (Trigger::Scheduled { apps }, Trigger::Scheduled { apps: more }) => {
                union(apps, more);
                true
            }
            (
                Trigger::Sync {
                    apps,
                    allow_mass_deprovision: a,
                },
                Trigger::Sync {
                    apps: more,
                    allow_mass_deprovision: b,
                },
            ) if a == b => {
                union(apps, more);
                true
            }
            (Trigger::Webhook { keys, .. }, Trigger::Webhook { keys: more, .. }) => {
                union(keys, more);
                true
            }
            (
                Trigger::Resync {
                    apps,
                    users,
                    dry_run: d,
                    allow_mass_deprovision: a,
                },
                Trigger::Resync {
                    apps: more,
                    users: more_users,
                    dry_run: e,
                    allow_mass_deprovision: b,
                },
            ) if d == e && a == b => {
                union(apps, more);
                union(users, more_users);
                true
            }
            _ => false,
        }
    }
}

/// `a ∪ b` where an empty list means "all": all absorbs anything.
fn union(a: &mut Vec<String>, b: &[String]) {
    if a.is_empty() || b.is_empty() {
        a.clear();
        return;
    }
    let set: BTreeSet<String> = a.iter().chain(b.iter()).cloned().collect();
    *a = set.into_iter().collect();
}

/// A queued cycle: what it will do, the ids of every request it serves, and the earliest
/// moment it may start (later than now only for debounced webhooks).
#[derive(Debug, Clone)]
pub struct Pending {
    /// What to run.
    pub trigger: Trigger,
    /// Every request id this cycle answers.
    pub ids: Vec<CycleId>,
    /// Not before this moment.
    pub not_before: Instant,
}

/// The coalescing queue between whoever asks for cycles and the daemon loop.
pub struct TriggerQueue {
    pending: Mutex<VecDeque<Pending>>,
    wake: Notify,
    /// The webhook debounce, milliseconds (a reload may change it).
    debounce_ms: AtomicU64,
}

impl TriggerQueue {
    /// An empty queue; webhooks wait `debounce` after the first of a burst.
    pub fn new(debounce: Duration) -> TriggerQueue {
        TriggerQueue {
            pending: Mutex::new(VecDeque::new()),
            wake: Notify::new(),
            debounce_ms: AtomicU64::new(millis(debounce)),
        }
    }

    /// Changes the webhook debounce for hooks that start a new cycle from now on.
    pub fn set_debounce(&self, debounce: Duration) {
        self.debounce_ms.store(millis(debounce), Ordering::Relaxed);
    }

    /// Queues request `id` (merged into a like one still waiting).
    pub fn submit(&self, id: CycleId, trigger: Trigger) {
        let mut pending = lock(&self.pending);
        let merged = pending.iter_mut().find_map(|p| {
            let absorbed = p.trigger.absorb(&trigger);
            absorbed.then_some(p)
        });
        if let Some(p) = merged {
            p.ids.push(id);
        } else {
            let delay = match trigger {
                Trigger::Webhook { .. } => {
                    Duration::from_millis(self.debounce_ms.load(Ordering::Relaxed))
                }
                _ => Duration::ZERO,
            };
            pending.push_back(Pending {
                trigger,
                ids: vec![id],
                not_before: Instant::now() + delay,
            });
        }
        drop(pending);
        self.wake.notify_one();
    }

    /// Takes the first queued cycle that may start now, if any, and the moment the next
    /// one may start.
    pub fn take_ready(&self) -> (Option<Pending>, Option<Instant>) {
        let now = Instant::now();
        let mut pending = lock(&self.pending);
        let ready = pending.iter().position(|p| p.not_before <= now);
        let taken = ready.and_then(|i| pending.remove(i));
        let next = pending.iter().map(|p| p.not_before).min();
        (taken, next)
    }

    /// Waits until something is submitted (returns at once if something was submitted
    /// since the last wait).
    pub async fn submitted(&self) {
        self.wake.notified().await;
    }

    /// How many cycles wait.
    pub fn len(&self) -> usize {
        lock(&self.pending).len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical
/// section here is a plain push or pop).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sync(apps: &[&str]) -> Trigger {
        Trigger::Sync {
            apps: apps.iter().map(|s| s.to_string()).collect(),
            allow_mass_deprovision: false,
        }
    }

    #[tokio::test]
    async fn requests_while_waiting_merge_into_one_cycle_serving_every_id() {
        let q = TriggerQueue::new(Duration::ZERO);
        let (a, b, c) = (1, 2, 3);
        q.submit(a, sync(&["slack"]));
        q.submit(b, sync(&["github"]));
        q.submit(
            c,
            Trigger::Resync {
                apps: vec![],
                users: vec!["E1".into()],
                dry_run: true,
                allow_mass_deprovision: false,
            },
        );
        assert_eq!(q.len(), 2);
        let (first, _) = q.take_ready();
        let first = first.expect("a ready cycle");
        assert_eq!(first.ids, vec![a, b]);
        assert_eq!(first.trigger, sync(&["github", "slack"]));
        let (second, _) = q.take_ready();
        assert_eq!(second.map(|p| p.ids), Some(vec![c]));
    }

    #[tokio::test]
    async fn a_sync_of_all_apps_absorbs_a_sync_of_some() {
        let q = TriggerQueue::new(Duration::ZERO);
        q.submit(1, sync(&["slack"]));
        q.submit(2, sync(&[]));
        assert_eq!(q.take_ready().0.map(|p| p.trigger), Some(sync(&[])));
    }

    #[tokio::test(start_paused = true)]
    async fn webhooks_wait_for_the_debounce_and_merge_their_keys() {
        let q = TriggerQueue::new(Duration::from_millis(500));
        let hook = |k: &str| Trigger::Webhook {
            source: "hris".into(),
            keys: vec![k.into()],
        };
        q.submit(1, hook("E2"));
        q.submit(2, hook("E1"));
        let (none, next) = q.take_ready();
        assert!(none.is_none());
        assert!(next.is_some());
        tokio::time::advance(Duration::from_millis(501)).await;
        let p = q.take_ready().0.expect("ready after the debounce");
        assert_eq!(p.ids.len(), 2);
        assert_eq!(
            p.trigger,
            Trigger::Webhook {
                source: "hris".into(),
                keys: vec!["E1".into(), "E2".into()]
            }
        );
    }
}
