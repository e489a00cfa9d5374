//! Map once, use many times: apps whose attribute templates, scope and groups are the same
//! map every person the same way, so within one cycle the first of them maps the persons
//! and the others take its results. The cache lives as long as the cycle's HR view.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::MappedPerson;

/// One mapping of every person of a view, in the order they were handed over; `None`
/// where mapping failed (each app then maps that person again, so that its error names
/// the app's own config key).
pub type MappedAll = Arc<Vec<Option<MappedPerson>>>;

/// Results of one cycle, per mapper and class of identical app mappings.
#[derive(Default)]
pub struct SharedMapped {
    entries: Mutex<BTreeMap<(u64, usize), Entry>>,
}

struct Entry {
    results: Arc<OnceLock<MappedAll>>,
    /// How many apps of the class took the results; at the class size the entry goes.
    taken: usize,
}

impl SharedMapped {
    /// The results for `class` of mapper `mapper_id`, computed by the first of the class's
    /// `size` apps to ask (the others wait for it), and forgotten once all of them took
    /// them, so the cache holds no copy past the last app.
    pub(super) fn get_or_map(
        &self,
        key: (u64, usize),
        size: usize,
        map: impl FnOnce() -> MappedAll,
    ) -> MappedAll {
        let cell = {
            let mut entries = match self.entries.lock() {
                Ok(e) => e,
                // A panic while holding the lock left at worst a missing entry: map anew.
                Err(poisoned) => poisoned.into_inner(),
            };
            let entry = entries.entry(key).or_insert_with(|| Entry {
                results: Arc::new(OnceLock::new()),
                taken: 0,
            });
            entry.taken += 1;
            let cell = entry.results.clone();
            if entry.taken >= size {
                entries.remove(&key);
            }
            cell
        };
        cell.get_or_init(map).clone()
    }
}

impl Clone for SharedMapped {
    /// A copy of a view maps anew: results are tied to the view they came from.
    fn clone(&self) -> Self {
        SharedMapped::default()
    }
}

impl std::fmt::Debug for SharedMapped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedMapped")
    }
}
