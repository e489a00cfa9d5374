//! Unit tests of the throttle on tokio's paused clock: every duration below is virtual, so
//! the assertions are about the schedule the throttle produces, not about machine speed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use tokio::time::Instant;

use super::*;
use crate::http::TransportKind;

fn answer(t: &Throttle, status: u16, headers: &[(&'static str, &str)]) {
    let mut h = HeaderMap::new();
    for (k, v) in headers {
        h.insert(*k, HeaderValue::from_str(v).expect("header value"));
    }
    let status = StatusCode::from_u16(status).expect("status");
    t.record(&Attempt::Status {
        status,
        headers: &h,
    });
}

/// Offsets from `start` at which each of `n` sequential acquisitions was granted.
async fn admit_times(t: &Throttle, n: usize) -> Vec<Duration> {
    let start = Instant::now();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let a = t.acquire().await;
        out.push(start.elapsed());
        drop(a);
    }
    out
}

/// The largest number of admissions inside any half-open span of length `span`.
fn densest(times: &[Duration], span: Duration) -> usize {
    let mut best = 0;
    for (i, t) in times.iter().enumerate() {
        let n = times[i..].iter().take_while(|u| **u < *t + span).count();
        best = best.max(n);
    }
    best
}

#[tokio::test(start_paused = true)]
async fn evenly_spaced_at_the_configured_rate() {
    let t = Throttle::new("app", Some(&RateLimit::per_second(10)), 4).expect("throttle");
    let times = admit_times(&t, 30).await;
    assert_eq!(densest(&times, Duration::from_secs(1)), 10);
    assert_eq!(times[29], Duration::from_millis(2900));
    assert_eq!(t.stats().admitted, 30);
    assert_eq!(t.stats().effective_per_sec, Some(10.0));
}

#[tokio::test(start_paused = true)]
async fn a_late_start_keeps_the_schedule() {
    // Cells every 20 ms. A caller that wakes a millisecond after its cell (as real timers
    // do) must not push every later cell back by that millisecond.
    let t = Throttle::new("app", Some(&RateLimit::per_second(50)), 1).expect("throttle");
    let start = Instant::now();
    drop(t.acquire().await);
    let mut on_schedule = Vec::new();
    for _ in 0..20 {
        tokio::time::advance(Duration::from_millis(21)).await;
        drop(t.acquire().await);
        drop(t.acquire().await);
        on_schedule.push(start.elapsed());
    }
    let want: Vec<Duration> = (1..=20).map(|k| Duration::from_millis(40 * k)).collect();
    assert_eq!(on_schedule, want);
}

#[tokio::test(start_paused = true)]
async fn catching_up_never_puts_more_than_the_count_in_a_window() {
    let t = Throttle::new("app", Some(&RateLimit::per_second(50)), 1).expect("throttle");
    let start = Instant::now();
    let mut times = Vec::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..600 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        // Late by 0-4 ms now and then, on time otherwise.
        if seed.is_multiple_of(3) {
            tokio::time::advance(Duration::from_micros(20_000 + seed % 4_000)).await;
        }
        drop(t.acquire().await);
        times.push(start.elapsed());
    }
    assert!(densest(&times, Duration::from_secs(1)) <= 50);
    // Late starts cost little: a window's oldest start only delays the start `count`
    // later, not every start after it (without the catch-up this pattern takes 12.8 s).
    assert!(
        times[599] <= Duration::from_millis(599 * 20 * 103 / 100),
        "{:?}",
        times[599]
    );
}

#[tokio::test(start_paused = true)]
async fn burst_then_spread_over_the_window() {
    let rl = RateLimit::per_minute(300).with_burst(10);
    let t = Throttle::new("app", Some(&rl), 4).expect("throttle");
    let times = admit_times(&t, 600).await;
    assert!(
        times[..10].iter().all(|d| d.is_zero()),
        "{:?}",
        &times[..11]
    );
    assert!(times[10] > Duration::ZERO);
    assert!(densest(&times, Duration::from_secs(60)) <= 300);
}

#[tokio::test(start_paused = true)]
async fn all_windows_hold_and_no_cell_is_spent_twice() {
    let rl = RateLimit {
        per_second: Some(5),
        per_minute: Some(20),
        per_hour: None,
        burst: None,
    };
    let t = Throttle::new("app", Some(&rl), 1).expect("throttle");
    let times = admit_times(&t, 60).await;
    assert!(densest(&times, Duration::from_secs(1)) <= 5);
    assert!(densest(&times, Duration::from_secs(60)) <= 20);
    // 20 per minute is one every 3 s; a cell wasted per refusal would stretch this.
    assert_eq!(times[59], Duration::from_secs(59 * 3));
}

#[tokio::test(start_paused = true)]
async fn concurrency_bound_holds_across_waiting_tasks() {
    let t = Throttle::new("app", None, 3).expect("throttle");
    let now_in = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let (t, now_in, peak) = (t.clone(), now_in.clone(), peak.clone());
        tasks.push(tokio::spawn(async move {
            let _a = t.acquire().await;
            let n = now_in.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(500)).await;
            now_in.fetch_sub(1, Ordering::SeqCst);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    assert_eq!(peak.load(Ordering::SeqCst), 3);
    assert_eq!(t.stats().in_flight, 0, "every admission released its slot");
}

#[tokio::test(start_paused = true)]
async fn retry_after_pauses_the_whole_app() {
    let t = Throttle::new("app", None, 8).expect("throttle");
    drop(t.acquire().await);
    answer(&t, 429, &[("retry-after", "5")]);
    let s = t.stats();
    assert_eq!(s.throttled, 1);
    assert!(s.paused_until.is_some());
    let start = Instant::now();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let t = t.clone();
            tokio::spawn(async move {
                drop(t.acquire().await);
                start.elapsed()
            })
        })
        .collect();
    for w in waiters {
        assert!(w.await.expect("task") >= Duration::from_secs(5));
    }
    assert_eq!(t.stats().paused_until, None);
}

#[tokio::test(start_paused = true)]
async fn http_date_retry_after_and_absurd_values_are_capped() {
    let tuning = ThrottleTuning {
        max_pause: Duration::from_secs(60),
        ..ThrottleTuning::default()
    };
    let t = Throttle::with_tuning("app", None, 1, tuning).expect("throttle");
    answer(&t, 503, &[("retry-after", "86400")]);
    let start = Instant::now();
    drop(t.acquire().await);
    assert_eq!(start.elapsed(), Duration::from_secs(60));
    let date = (crate::http::wall_clock() + chrono::Duration::seconds(30)).to_rfc2822();
    answer(&t, 429, &[("retry-after", &date)]);
    let paused = t.stats().paused_until.expect("paused");
    let left = paused.saturating_duration_since(Instant::now());
    assert!(
        left > Duration::from_secs(25) && left <= Duration::from_secs(30),
        "{left:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn exhausted_quota_pauses_until_its_reset() {
    let t = Throttle::new("app", None, 4).expect("throttle");
    answer(
        &t,
        200,
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "3")],
    );
    assert_eq!(
        t.stats().throttled,
        0,
        "a pause before exhaustion is not a throttle"
    );
    let start = Instant::now();
    drop(t.acquire().await);
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    // Quota left: no pause.
    answer(
        &t,
        200,
        &[("ratelimit-remaining", "40"), ("ratelimit-reset", "3")],
    );
    let start = Instant::now();
    drop(t.acquire().await);
    assert_eq!(start.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn slows_down_on_throttling_and_recovers_to_the_configured_rate() {
    let t = Throttle::new("app", Some(&RateLimit::per_second(20)), 1).expect("throttle");
    drop(t.acquire().await);
    answer(&t, 429, &[]);
    assert_eq!(t.stats().effective_per_sec, Some(10.0));
    let times = admit_times(&t, 11).await;
    assert!(densest(&times, Duration::from_secs(1)) <= 10, "{times:?}");
    let mut seen = Vec::new();
    for _ in 0..400 {
        answer(&t, 200, &[]);
        seen.push(t.stats().effective_per_sec.expect("configured"));
    }
    assert!(
        seen.iter().all(|r| *r <= 20.0),
        "never above the configured rate"
    );
    assert_eq!(seen.last(), Some(&20.0));
    let times = admit_times(&t, 21).await;
    assert_eq!(densest(&times, Duration::from_secs(1)), 20);
}

#[tokio::test(start_paused = true)]
async fn unconfigured_app_is_slowed_to_below_what_it_was_sending() {
    let t = Throttle::new("app", None, 1).expect("throttle");
    assert_eq!(t.stats().effective_per_sec, None);
    // 40 requests in the first second, then a 429.
    for _ in 0..40 {
        drop(t.acquire().await);
        tokio::time::advance(Duration::from_millis(25)).await;
    }
    answer(&t, 429, &[]);
    let rate = t.stats().effective_per_sec.expect("now limited");
    assert!((15.0..=25.0).contains(&rate), "{rate}");
}

#[tokio::test(start_paused = true)]
async fn retry_at_once_is_no_request_to_slow_down() {
    // An app that refuses a share of requests with `Retry-After: 0` (a busy object, a
    // failover) is not asking for a slower pace: the rate stays, the answers are counted.
    let t = Throttle::new("app", Some(&RateLimit::per_second(20)), 1).expect("throttle");
    for _ in 0..50 {
        answer(&t, 429, &[("retry-after", "0")]);
        answer(&t, 503, &[("retry-after", "0")]);
    }
    let stats = t.stats();
    assert_eq!(stats.effective_per_sec, Some(20.0), "{stats:?}");
    assert_eq!(stats.throttled, 100);
    assert_eq!(stats.paused_until, None);
    // A throttle that names a wait still cuts.
    answer(&t, 429, &[("retry-after", "1")]);
    assert_eq!(t.stats().effective_per_sec, Some(10.0));
}

#[tokio::test(start_paused = true)]
async fn transport_failures_do_not_count_as_recovery() {
    let t = Throttle::new("app", Some(&RateLimit::per_second(8)), 1).expect("throttle");
    answer(&t, 429, &[]);
    for _ in 0..100 {
        t.record(&Attempt::Transport(TransportKind::Connect));
    }
    assert_eq!(t.stats().effective_per_sec, Some(4.0));
}

#[tokio::test(start_paused = true)]
async fn a_paused_app_does_not_delay_another() {
    let slow = Throttle::new("slow", Some(&RateLimit::per_second(1)), 1).expect("throttle");
    let fast = Throttle::new("fast", Some(&RateLimit::per_second(100)), 1).expect("throttle");
    answer(&slow, 429, &[("retry-after", "600")]);
    let blocked = tokio::spawn({
        let slow = slow.clone();
        async move { drop(slow.acquire().await) }
    });
    let times = admit_times(&fast, 100).await;
    assert_eq!(times[99], Duration::from_millis(990));
    assert!(!blocked.is_finished(), "the slow app is still paused");
    blocked.abort();
}

#[test]
fn zero_concurrency_is_refused() {
    let e = Throttle::new("app", None, 0).expect_err("zero");
    assert_eq!(e, RateLimitError::ZeroConcurrency);
}
