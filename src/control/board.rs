//! The cycle board: what became of each requested cycle (queued, running, done and its
//! result), for `GET /v1/cycles/{id}` and the CLI hand-off. History is bounded: the oldest
//! finished entries are forgotten first.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::trigger::CycleId;

/// How many finished entries the board remembers.
const HISTORY: usize = 256;

/// Where a requested cycle stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleState {
    /// Waiting for the running cycle (or the webhook debounce).
    Queued,
    /// Running now.
    Running,
    /// Finished; the result says how.
    Done,
}

/// One requested cycle as the board shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CycleEntry {
    /// The id handed to the requester.
    pub id: CycleId,
    /// `scheduled`, `sync`, `resync` or `webhook`.
    pub kind: String,
    /// Where it stands.
    pub state: CycleState,
    /// When it was asked for.
    pub requested_at: DateTime<Utc>,
    /// When its cycle started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    /// When its cycle ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// The id the state database gave the cycle (as `hrsync status` shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_cycle: Option<i64>,
    /// The result summary once done: `result` (`ok`, `failed`, `guarded`, ...), the exit
    /// code the CLI would have had, counts, and an error when the cycle could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

/// The board itself.
#[derive(Default)]
pub struct Board {
    entries: Mutex<BTreeMap<CycleId, CycleEntry>>,
}

impl Board {
    /// An empty board.
    pub fn new() -> Board {
        Board::default()
    }

    /// Records a newly accepted request.
    pub fn queued(&self, id: CycleId, kind: &str) {
        let mut entries = lock(&self.entries);
        entries.insert(
            id,
            CycleEntry {
                id,
                kind: kind.to_string(),
                state: CycleState::Queued,
                requested_at: crate::clock::now(),
                started_at: None,
                finished_at: None,
                state_cycle: None,
                result: None,
            },
        );
        forget_oldest(&mut entries);
    }

    /// Marks the requests a starting cycle serves as running.
    pub fn running(&self, ids: &[CycleId]) {
        let now = crate::clock::now();
        let mut entries = lock(&self.entries);
        for id in ids {
            if let Some(e) = entries.get_mut(id) {
                e.state = CycleState::Running;
                e.started_at = Some(now);
            }
        }
    }

    /// Records the result of a finished cycle on every request it served.
    pub fn done(&self, ids: &[CycleId], state_cycle: Option<i64>, result: serde_json::Value) {
        let now = crate::clock::now();
        let mut entries = lock(&self.entries);
        for id in ids {
            if let Some(e) = entries.get_mut(id) {
                e.state = CycleState::Done;
                e.finished_at = Some(now);
                e.state_cycle = state_cycle;
                e.result = Some(result.clone());
            }
        }
    }

    /// The entry of a request, if the board still remembers it.
    pub fn get(&self, id: CycleId) -> Option<CycleEntry> {
        lock(&self.entries).get(&id).cloned()
    }
}

/// Drops the oldest finished entries beyond the history bound; queued and running ones
/// are always kept (their requesters still wait).
fn forget_oldest(entries: &mut BTreeMap<CycleId, CycleEntry>) {
    while entries.len() > HISTORY {
        let oldest_done = entries
            .iter()
            .find(|(_, e)| e.state == CycleState::Done)
            .map(|(id, _)| *id);
        match oldest_done {
            Some(id) => entries.remove(&id),
            None => break,
        };
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_goes_queued_running_done_with_its_result() {
        let b = Board::new();
        b.queued(7, "sync");
        assert_eq!(b.get(7).map(|e| e.state), Some(CycleState::Queued));
        b.running(&[7]);
        assert_eq!(b.get(7).map(|e| e.state), Some(CycleState::Running));
        b.done(&[7], Some(3), serde_json::json!({"result": "ok"}));
        let e = b.get(7).expect("entry");
        assert_eq!(e.state, CycleState::Done);
        assert_eq!(e.state_cycle, Some(3));
        assert_eq!(e.result, Some(serde_json::json!({"result": "ok"})));
    }

    #[test]
    fn history_is_bounded_and_forgets_finished_entries_first() {
        let b = Board::new();
        for id in 0..(HISTORY as u64 + 10) {
            b.queued(id, "sync");
            if id > 0 {
                b.done(&[id], None, serde_json::json!({}));
            }
        }
        assert!(b.get(0).is_some(), "a still queued entry is kept");
        assert!(b.get(1).is_none());
        assert!(b.get(HISTORY as u64 + 9).is_some());
    }
}
