//! Map once, use many times: apps whose attribute templates, scope and groups are the same
//! map every person the same way, so within one cycle the first of them maps the persons
//! and the others take its results, sharing their attribute values. The cache lives as
//! long as the cycle's HR view. The same cache shares what the engine makes of a class's
//! mapping (`SharedByClass`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::MappedPerson;

/// What one pass maps: every person, in the order handed over; `None` where mapping
/// failed (mapping that person again for the app gives the error naming its own key).
#[derive(Debug, Default)]
pub(super) struct Pass {
    /// Where each person mapped lives (shared passes only): an app that hands over other
    /// persons, or the same in another order, must not take this pass.
    pub(super) at: Vec<usize>,
    pub(super) persons: Vec<Option<MappedPerson>>,
}

/// A pass, shared by the apps of one class.
pub(super) type Compacts = Arc<Pass>;

/// One app's mapping of every person of a view, perhaps shared with other apps.
#[derive(Debug, Clone)]
pub struct MappedAll {
    pub(super) persons: Compacts,
}

impl MappedAll {
    /// Each person's mapping, in the order they were handed over (None: it failed). Moves
    /// them out when no other app holds them; clones share the attribute values.
    pub fn into_persons(self) -> Box<dyn Iterator<Item = Option<MappedPerson>>> {
        match Arc::try_unwrap(self.persons) {
            Ok(owned) => Box::new(owned.persons.into_iter()),
            Err(shared) => {
                Box::new((0..shared.persons.len()).map(move |i| shared.persons[i].clone()))
            }
        }
    }

    /// Whether two apps' mappings are one and the same.
    pub fn shares(&self, other: &MappedAll) -> bool {
        Arc::ptr_eq(&self.persons, &other.persons)
    }
}

/// Results of one cycle, per mapper and class of identical app mappings: what the first
/// app of a class to ask computes, the others of the class take.
pub struct SharedByClass<T> {
    entries: Mutex<BTreeMap<(u64, usize), Entry<T>>>,
}

/// The mapping passes of one cycle.
#[derive(Default, Clone, Debug)]
pub struct SharedMapped(pub(super) SharedByClass<Compacts>);

struct Entry<T> {
    results: Arc<OnceLock<T>>,
    /// How many apps of the class took the results; at the class size the entry goes.
    taken: usize,
}

impl<T: Clone> SharedByClass<T> {
    /// The results for `class` of mapper `mapper_id`, computed by the first of the class's
    /// `size` apps to ask (the others wait for it), and forgotten once all of them took
    /// them, so the cache holds no copy past the last app.
    pub fn get_or_make(&self, key: (u64, usize), size: usize, make: impl FnOnce() -> T) -> T {
        let cell = {
            let mut entries = match self.entries.lock() {
                Ok(e) => e,
                // A panic while holding the lock left at worst a missing entry: make anew.
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
        cell.get_or_init(make).clone()
    }
}

/// What one app got from [`SharedByClass::take`].
pub enum Taken<T, R> {
    /// This app made the class's results, and kept what it made them from.
    Made(R),
    /// Another app of the class made them.
    Shared(T),
}

impl<T: Clone> SharedByClass<T> {
    /// [`SharedByClass::get_or_make`] for a class whose first app keeps something of its
    /// own besides what it shares (`make` gives both): that app gets its own, the others
    /// what was shared.
    pub fn take<R>(
        &self,
        key: (u64, usize),
        size: usize,
        make: impl FnOnce() -> (T, R),
    ) -> Taken<T, R> {
        let mut own = None;
        let shared = self.get_or_make(key, size, || {
            let (shared, kept) = make();
            own = Some(kept);
            shared
        });
        match own {
            Some(kept) => Taken::Made(kept),
            None => Taken::Shared(shared),
        }
    }
}

impl<T> Default for SharedByClass<T> {
    fn default() -> Self {
        SharedByClass {
            entries: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<T> Clone for SharedByClass<T> {
    /// A copy of a view computes anew: results are tied to the view they came from.
    fn clone(&self) -> Self {
        SharedByClass::default()
    }
}

impl<T> std::fmt::Debug for SharedByClass<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedByClass")
    }
}
