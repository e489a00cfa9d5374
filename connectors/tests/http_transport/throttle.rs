//! The per-app throttle against a local server that enforces a rate limit the way SaaS
//! apps do: a count per fixed window, 429 with `Retry-After` once it is exceeded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use hrsync_connectors::http::{Auth, RateLimit, Throttle};
use tokio::time::Instant;

use crate::util::{client, get, serve};

/// A server allowing `limit` requests per window of `window`, answering after `latency`.
struct Limited {
    origin: Instant,
    window: Duration,
    limit: u64,
    latency: Duration,
    /// Also advertise the quota with the IETF draft `RateLimit-*` headers.
    advertise: bool,
    counts: Mutex<(u64, u64)>,
    ok: AtomicU64,
    throttled: AtomicU64,
    in_flight: AtomicU64,
    peak_in_flight: AtomicU64,
}

impl Limited {
    fn new(limit: u64, latency: Duration, advertise: bool) -> Arc<Self> {
        Arc::new(Limited {
            origin: Instant::now(),
            window: Duration::from_secs(1),
            limit,
            latency,
            advertise,
            counts: Mutex::new((0, 0)),
            ok: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            peak_in_flight: AtomicU64::new(0),
        })
    }

    fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/{*rest}", any(limited))
            .with_state(Arc::clone(self))
    }
}

async fn limited(State(s): State<Arc<Limited>>) -> impl IntoResponse {
    let elapsed = s.origin.elapsed();
    let index = (elapsed.as_nanos() / s.window.as_nanos()) as u64;
    let window_end = s.window * (index as u32 + 1);
    let left = window_end.saturating_sub(elapsed);
    let reset_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    let used = {
        let mut c = s.counts.lock().expect("counts");
        if c.0 != index {
            *c = (index, 0);
        }
        c.1 += 1;
        c.1
    };
    let mut headers = HeaderMap::new();
    if used > s.limit {
        s.throttled.fetch_add(1, Ordering::SeqCst);
        headers.insert("retry-after", reset_secs.into());
        return (StatusCode::TOO_MANY_REQUESTS, headers, "slow down");
    }
    if s.advertise {
        headers.insert("ratelimit-remaining", (s.limit - used).into());
        headers.insert("ratelimit-reset", reset_secs.into());
    }
    let n = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    s.peak_in_flight.fetch_max(n, Ordering::SeqCst);
    tokio::time::sleep(s.latency).await;
    s.in_flight.fetch_sub(1, Ordering::SeqCst);
    s.ok.fetch_add(1, Ordering::SeqCst);
    (StatusCode::OK, headers, "ok")
}

/// Sends `n` GETs at once through one client and returns their final statuses.
async fn burst(server: std::net::SocketAddr, throttle: &Throttle, n: usize) -> Vec<u16> {
    let c = client(Auth::None, 6, Some(throttle));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                let r = c.send(&get(server, &format!("/Users/{i}"))).await;
                r.expect("transport").status.as_u16()
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_client_configured_at_the_limit_sees_no_429() {
    let server = Limited::new(10, Duration::from_millis(30), false);
    let addr = serve(server.router()).await;
    let throttle = Throttle::new("app", Some(&RateLimit::per_second(10)), 4).expect("throttle");
    let statuses = burst(addr, &throttle, 60).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(server.throttled.load(Ordering::SeqCst), 0);
    assert_eq!(server.ok.load(Ordering::SeqCst), 60);
    assert_eq!(throttle.stats().throttled, 0);
}

#[tokio::test(start_paused = true)]
async fn a_client_configured_at_twice_the_limit_converges() {
    let server = Limited::new(10, Duration::from_millis(30), false);
    let addr = serve(server.router()).await;
    let throttle = Throttle::new("app", Some(&RateLimit::per_second(20)), 4).expect("throttle");
    let statuses = burst(addr, &throttle, 300).await;
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every request got through"
    );
    let refused = server.throttled.load(Ordering::SeqCst);
    // The app did push back, and the client listened: a client that kept sending at the
    // configured 20/s would have had about one request in two refused.
    assert!(
        refused >= 1,
        "the server never throttled: the test proves nothing"
    );
    assert!(refused <= 30, "{refused} requests refused for 300 sent");
    let stats = throttle.stats();
    assert_eq!(stats.throttled, refused, "the throttle saw every 429");
    let rate = stats.effective_per_sec.expect("limited");
    assert!(rate <= 20.0, "never above the configured rate: {rate}");
}

#[tokio::test(start_paused = true)]
async fn the_concurrency_bound_is_respected() {
    let server = Limited::new(u64::MAX, Duration::from_millis(200), false);
    let addr = serve(server.router()).await;
    let throttle = Throttle::new("app", None, 3).expect("throttle");
    let statuses = burst(addr, &throttle, 30).await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert_eq!(server.peak_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn advertised_quota_is_respected_without_any_429() {
    let server = Limited::new(8, Duration::ZERO, true);
    let addr = serve(server.router()).await;
    // No configured rate at all: the client learns the quota from the headers alone.
    let throttle = Throttle::new("app", None, 1).expect("throttle");
    let statuses = burst(addr, &throttle, 40).await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert_eq!(server.throttled.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_throttled_app_does_not_delay_another() {
    let hard = Router::new().route(
        "/{*rest}",
        any(|| async {
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("retry-after", "600")],
                "no",
            )
        }),
    );
    let hard_addr = serve(hard).await;
    let hard_hits = Arc::new(AtomicU64::new(0));
    let normal = Limited::new(u64::MAX, Duration::from_millis(10), false);
    let normal_addr = serve(normal.router()).await;

    let hard_throttle = Throttle::new("hard", None, 2).expect("throttle");
    let normal_throttle =
        Throttle::new("normal", Some(&RateLimit::per_second(50)), 4).expect("throttle");
    let hard_client = client(Auth::None, 5, Some(&hard_throttle));
    let stuck: Vec<_> = (0..5)
        .map(|i| {
            let c = hard_client.clone();
            let hits = Arc::clone(&hard_hits);
            tokio::spawn(async move {
                let r = c.send(&get(hard_addr, &format!("/Users/{i}"))).await;
                hits.fetch_add(1, Ordering::SeqCst);
                r.map(|r| r.status.as_u16()).ok()
            })
        })
        .collect();
    tokio::task::yield_now().await;

    let started = Instant::now();
    let statuses = burst(normal_addr, &normal_throttle, 100).await;
    assert!(statuses.iter().all(|s| *s == 200));
    assert!(
        started.elapsed() < Duration::from_secs(600),
        "the normal app waited for the other one's pause"
    );
    assert_eq!(
        hard_hits.load(Ordering::SeqCst),
        0,
        "the hard app is still paused"
    );
    assert!(hard_throttle.stats().paused_until.is_some());
    assert_eq!(normal_throttle.stats().throttled, 0);
    for t in stuck {
        t.abort();
    }
}
