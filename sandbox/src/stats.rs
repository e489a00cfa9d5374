//! Request counters of the sandbox, readable in-process ([`super::SandboxHandle::stats`]) and
//! over HTTP (`GET /_sandbox/stats`), so tests can count what a client really sent.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Counters since the sandbox started or since the last reset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestStats {
    /// Every request under `/scim/v2`.
    pub total: u64,
    /// GET requests and `.search` queries.
    pub reads: u64,
    /// POST, PUT, PATCH and DELETE requests (a Bulk request counts once).
    pub writes: u64,
    /// Requests per HTTP method.
    pub by_method: BTreeMap<String, u64>,
    /// Answers with status 429, whatever the cause.
    pub throttled: u64,
    /// Injected faults: errors, throttles, stalls and dropped connections.
    pub faults_injected: u64,
    /// Users created (by POST or inside Bulk).
    pub users_created: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub struct Stats {
    total: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    throttled: AtomicU64,
    faults: AtomicU64,
    users_created: AtomicU64,
    by_method: Mutex<BTreeMap<String, u64>>,
}

impl Stats {
    /// Counts an incoming request.
    pub fn request(&self, method: &str, is_write: bool) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if is_write {
            self.writes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.by_method.lock() {
            *m.entry(method.to_string()).or_insert(0) += 1;
        }
    }

    /// Counts a 429 answer.
    pub fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an injected fault.
    pub fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a created user.
    pub fn user_created(&self) {
        self.users_created.fetch_add(1, Ordering::Relaxed);
    }

    /// A consistent-enough copy of the counters.
    pub fn snapshot(&self) -> RequestStats {
        RequestStats {
            total: self.total.load(Ordering::Relaxed),
            reads: self.reads.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            by_method: self.by_method.lock().map(|m| m.clone()).unwrap_or_default(),
            throttled: self.throttled.load(Ordering::Relaxed),
            faults_injected: self.faults.load(Ordering::Relaxed),
            users_created: self.users_created.load(Ordering::Relaxed),
        }
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        for c in [
            &self.total,
            &self.reads,
            &self.writes,
            &self.throttled,
            &self.faults,
            &self.users_created,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        if let Ok(mut m) = self.by_method.lock() {
            m.clear();
        }
    }
}
