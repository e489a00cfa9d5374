//! Misbehaviour on purpose: per-request fault decisions from a (seedable) RNG, token-bucket
//! rate limits, and Slack's one-write-per-object lock.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::time::Instant;

use super::imitation::{Profile, RateSpec};

/// Faults to inject; the default injects none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Fraction of requests answered 500/502/503 without doing anything.
    pub error_rate: f64,
    /// Fraction of requests answered 429 with `Retry-After`.
    pub throttle_rate: f64,
    /// `Retry-After` seconds on injected 429s and 503s; 0 sends `Retry-After: 0` ("again
    /// at once"), which lets a storm of faults run fast.
    pub retry_after_secs: u64,
    /// Latency added to every request, milliseconds.
    pub latency_ms: u64,
    /// Fraction of requests held for `stall_ms`; half of stalled writes are applied.
    pub stall_rate: f64,
    /// How long a stalled request is held, milliseconds.
    pub stall_ms: u64,
    /// Fraction of requests whose connection is closed without an answer.
    pub drop_rate: f64,
    /// Requests per second over all endpoints; overrides the profile's limits.
    pub rate_limit_per_sec: Option<f64>,
    /// Seed for reproducible fault sequences.
    pub seed: Option<u64>,
}

/// What happens to one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Decision {
    /// Close the connection without answering.
    pub drop: bool,
    /// Answer with this 5xx status.
    pub error: Option<u16>,
    /// Answer 429.
    pub throttle: bool,
    /// Hold the request for `stall_ms`.
    pub stall: bool,
    /// For a stalled write: apply it after the stall (otherwise nothing is written).
    pub stall_applies: bool,
}

/// Draws the fault decisions.
pub struct Injector {
    faults: Faults,
    rng: Mutex<StdRng>,
}

impl Injector {
    /// An injector for `faults`, seeded when a seed is given.
    pub fn new(faults: Faults) -> Self {
        let rng = match faults.seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_rng(&mut rand::rng()),
        };
        Injector {
            faults,
            rng: Mutex::new(rng),
        }
    }

    /// The configured faults.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Decides the fate of the next request. Draws a fixed number of values per request, so
    /// a seeded run repeats exactly for the same sequence of requests.
    pub fn decide(&self) -> Decision {
        let f = &self.faults;
        let Ok(mut rng) = self.rng.lock() else {
            return Decision::default();
        };
        let draws: [f64; 5] = std::array::from_fn(|_| rng.random::<f64>());
        let code = [500u16, 502, 503][rng.random_range(0..3usize)];
        let mut d = Decision::default();
        if draws[0] < f.drop_rate {
            d.drop = true;
        } else if draws[1] < f.error_rate {
            d.error = Some(code);
        } else if draws[2] < f.throttle_rate {
            d.throttle = true;
        } else if draws[3] < f.stall_rate {
            d.stall = true;
            d.stall_applies = draws[4] < 0.5;
        }
        d
    }
}

/// A token bucket.
pub struct Bucket {
    spec: RateSpec,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    /// A full bucket.
    pub fn new(spec: RateSpec) -> Self {
        Bucket {
            spec,
            state: Mutex::new((spec.burst, Instant::now())),
        }
    }

    /// Takes a token, or says how long until one is available.
    pub fn try_take(&self) -> Result<(), Duration> {
        self.try_take_at(Instant::now())
    }

    /// [`Bucket::try_take`] at a given moment (time is a parameter, for tests).
    pub fn try_take_at(&self, now: Instant) -> Result<(), Duration> {
        let Ok(mut st) = self.state.lock() else {
            return Ok(());
        };
        let elapsed = now.duration_since(st.1).as_secs_f64();
        st.0 = (st.0 + elapsed * self.spec.per_sec).min(self.spec.burst);
        st.1 = now;
        if st.0 >= 1.0 {
            st.0 -= 1.0;
            Ok(())
        } else if self.spec.per_sec > 0.0 {
            Err(Duration::from_secs_f64((1.0 - st.0) / self.spec.per_sec))
        } else {
            Err(Duration::from_secs(3600))
        }
    }
}

/// The limits in force: one bucket for everything (the override) or the profile's
/// separate read and write buckets.
pub struct Limiter {
    all: Option<Bucket>,
    reads: Option<Bucket>,
    writes: Option<Bucket>,
}

impl Limiter {
    /// The limits for a profile, unless `override_per_sec` replaces them.
    pub fn new(profile: &Profile, override_per_sec: Option<f64>) -> Self {
        match override_per_sec {
            Some(r) => Limiter {
                all: Some(Bucket::new(RateSpec {
                    per_sec: r.max(0.0),
                    burst: r.ceil().max(1.0),
                })),
                reads: None,
                writes: None,
            },
            None => Limiter {
                all: None,
                reads: profile.reads_limit.map(Bucket::new),
                writes: profile.writes_limit.map(Bucket::new),
            },
        }
    }

    /// Admits a request, or answers with the wait before the next one would be admitted.
    pub fn admit(&self, is_write: bool) -> Result<(), Duration> {
        let bucket = match (&self.all, is_write) {
            (Some(b), _) => Some(b),
            (None, true) => self.writes.as_ref(),
            (None, false) => self.reads.as_ref(),
        };
        bucket.map_or(Ok(()), Bucket::try_take)
    }
}

/// Objects being written right now (Slack allows one write per object at a time).
#[derive(Default, Clone)]
pub struct ObjectLocks(Arc<Mutex<BTreeSet<String>>>);

/// Held while an object is being written; releases it when dropped.
pub struct ObjectGuard {
    locks: ObjectLocks,
    key: String,
}

impl ObjectLocks {
    /// Locks `key`, or `None` when another write holds it.
    pub fn try_lock(&self, key: &str) -> Option<ObjectGuard> {
        let mut set = self.0.lock().ok()?;
        if !set.insert(key.to_string()) {
            return None;
        }
        Some(ObjectGuard {
            locks: self.clone(),
            key: key.to_string(),
        })
    }
}

impl Drop for ObjectGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.locks.0.lock() {
            set.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_decisions_repeat_and_follow_the_rates() {
        let faults = Faults {
            error_rate: 0.3,
            throttle_rate: 0.2,
            seed: Some(7),
            ..Faults::default()
        };
        let a: Vec<Decision> = (0..200)
            .map({
                let i = Injector::new(faults.clone());
                move |_| i.decide()
            })
            .collect();
        let b: Vec<Decision> = (0..200)
            .map({
                let i = Injector::new(faults.clone());
                move |_| i.decide()
            })
            .collect();
        assert_eq!(a, b);
        let errors = a.iter().filter(|d| d.error.is_some()).count();
        assert!((30..=90).contains(&errors), "errors {errors}");
        assert!(a.iter().all(|d| !d.drop && !d.stall));
    }

    #[test]
    fn bucket_admits_the_burst_then_refills_at_the_rate() {
        let b = Bucket::new(RateSpec {
            per_sec: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(b.try_take_at(t0).is_ok());
        }
        let wait = b.try_take_at(t0).err();
        assert!(wait.is_some_and(|w| w > Duration::ZERO && w <= Duration::from_millis(500)));
        let t1 = t0 + Duration::from_millis(500);
        assert!(b.try_take_at(t1).is_ok());
        assert!(b.try_take_at(t1).is_err());
        // Idle time refills only up to the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(b.try_take_at(t2).is_ok());
        }
        assert!(b.try_take_at(t2).is_err());
    }

    #[test]
    fn object_lock_is_exclusive_until_released() {
        let locks = ObjectLocks::default();
        let g = locks.try_lock("Users/1");
        assert!(g.is_some());
        assert!(locks.try_lock("Users/1").is_none());
        assert!(locks.try_lock("Users/2").is_some());
        drop(g);
        assert!(locks.try_lock("Users/1").is_some());
    }
}
