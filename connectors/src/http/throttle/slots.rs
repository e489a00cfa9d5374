//! The slots that bound an app's concurrency: one per request in flight, and one per
//! operation in progress (an operation may take several requests, so the two are counted
//! apart and an operation never waits for a slot its own request holds). Both follow the
//! same limit, which can grow and shrink while slots are held: a slot released while the
//! limit is below what is handed out is taken out of use instead of returned.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One semaphore whose size can change while permits are held.
#[derive(Debug)]
struct Resizable {
    sem: Arc<Semaphore>,
    /// Permits to take out of use as they are released.
    debt: Mutex<usize>,
}

impl Resizable {
    fn new(n: usize) -> Self {
        Resizable {
            sem: Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))),
            debt: Mutex::new(0),
        }
    }

    fn debt(&self) -> MutexGuard<'_, usize> {
        // A plain counter: consistent even if a holder panicked.
        self.debt.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn grow(&self, n: usize) {
        let mut debt = self.debt();
        let cancelled = n.min(*debt);
        *debt -= cancelled;
        self.sem.add_permits(n - cancelled);
    }

    fn shrink(&self, n: usize) {
        let mut debt = self.debt();
        let forgotten = self.sem.forget_permits(n);
        *debt += n - forgotten;
    }

    fn release(&self, permit: OwnedSemaphorePermit) {
        let mut debt = self.debt();
        if *debt > 0 {
            *debt -= 1;
            permit.forget();
        }
    }
}

/// The request and operation slots of one app.
#[derive(Debug)]
pub(super) struct Slots {
    requests: Resizable,
    operations: Resizable,
}

/// Holds one slot until dropped.
#[derive(Debug)]
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    slots: Arc<Slots>,
    operation: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(p) = self.permit.take() {
            let pool = if self.operation {
                &self.slots.operations
            } else {
                &self.slots.requests
            };
            pool.release(p);
        }
    }
}

impl Slots {
    /// `n` slots of each kind.
    pub(super) fn new(n: usize) -> Self {
        Slots {
            requests: Resizable::new(n),
            operations: Resizable::new(n),
        }
    }

    /// Waits for a request slot.
    pub(super) async fn request(self: &Arc<Self>) -> Slot {
        self.take(false).await
    }

    /// Waits for an operation slot.
    pub(super) async fn operation(self: &Arc<Self>) -> Slot {
        self.take(true).await
    }

    async fn take(self: &Arc<Self>, operation: bool) -> Slot {
        let pool = if operation {
            &self.operations
        } else {
            &self.requests
        };
        Slot {
            permit: Arc::clone(&pool.sem).acquire_owned().await.ok(),
            slots: Arc::clone(self),
            operation,
        }
    }

    /// `n` more slots of each kind.
    pub(super) fn grow(&self, n: usize) {
        self.requests.grow(n);
        self.operations.grow(n);
    }

    /// `n` fewer slots of each kind (taken out as they are released if all are held).
    pub(super) fn shrink(&self, n: usize) {
        self.requests.shrink(n);
        self.operations.shrink(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shrinking_while_held_takes_slots_out_as_they_are_released() {
        let slots = Arc::new(Slots::new(4));
        let held: Vec<Slot> = futures_free_take(&slots, 4).await;
        slots.shrink(2);
        drop(held);
        assert_eq!(slots.requests.sem.available_permits(), 2);
        slots.grow(3);
        assert_eq!(slots.requests.sem.available_permits(), 5);
        assert_eq!(slots.operations.sem.available_permits(), 5);
    }

    async fn futures_free_take(slots: &Arc<Slots>, n: usize) -> Vec<Slot> {
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(slots.request().await);
        }
        out
    }
}
