//! Fault injection and the counters over HTTP: dropped connections, injected errors and
//! throttles that write nothing, stalls that write half the time, rate limits, seeds.

use std::time::Duration;

use serde_json::Value;

use super::{client, create_user, sandbox, sandbox_with, send, user_body};
use crate::faults::Injector;
use crate::{Faults, RequestStats};

#[tokio::test]
async fn dropped_connections_get_no_answer_and_write_nothing() {
    let sb = sandbox_with(
        "generic",
        Faults {
            drop_rate: 1.0,
            ..Faults::default()
        },
    )
    .await;
    let c = client();
    for i in 0..3 {
        let r = c
            .post(format!("{}/Users", sb.base_url()))
            .json(&user_body(&format!("d{i}")))
            .send()
            .await;
        assert!(
            r.is_err(),
            "the connection must close without a response: {r:?}"
        );
    }
    assert!(sb.users().await.is_empty());
    let stats = sb.stats();
    assert_eq!((stats.total, stats.faults_injected), (3, 3));
    sb.shutdown().await;
}

#[tokio::test]
async fn injected_errors_and_throttles_write_nothing() {
    let sb = sandbox_with(
        "generic",
        Faults {
            error_rate: 1.0,
            retry_after_secs: 4,
            ..Faults::default()
        },
    )
    .await;
    let c = client();
    for i in 0..6 {
        let (s, body) = send(
            c.post(format!("{}/Users", sb.base_url()))
                .json(&user_body(&format!("e{i}"))),
        )
        .await;
        assert!([500, 502, 503].contains(&s), "{s}");
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    assert!(sb.users().await.is_empty());
    assert_eq!(sb.stats().faults_injected, 6);
    sb.shutdown().await;

    let sb = sandbox_with(
        "generic",
        Faults {
            throttle_rate: 1.0,
            retry_after_secs: 7,
            ..Faults::default()
        },
    )
    .await;
    let resp = c
        .post(format!("{}/Users", sb.base_url()))
        .json(&user_body("t"))
        .send()
        .await;
    let resp = resp.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 429);
    let ra = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    assert_eq!(ra.as_deref(), Some("7"));
    assert!(sb.users().await.is_empty());
    let stats = sb.stats();
    assert_eq!((stats.throttled, stats.faults_injected), (1, 1));
    sb.shutdown().await;
}

#[tokio::test]
async fn retry_after_zero_is_sent_as_configured() {
    let sb = sandbox_with(
        "generic",
        Faults {
            throttle_rate: 1.0,
            retry_after_secs: 0,
            ..Faults::default()
        },
    )
    .await;
    let resp = client()
        .get(format!("{}/Users", sb.base_url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status().as_u16(), 429);
    let ra = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok());
    assert_eq!(ra, Some("0"), "again at once, as configured");
    sb.shutdown().await;
}

#[tokio::test]
async fn seeded_faults_repeat_exactly() {
    let faults = Faults {
        error_rate: 0.4,
        throttle_rate: 0.2,
        seed: Some(42),
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = sandbox_with("generic", faults.clone()).await;
        let c = client();
        let mut codes = Vec::new();
        for i in 0..12 {
            codes.push(
                send(
                    c.post(format!("{}/Users", sb.base_url()))
                        .json(&user_body(&format!("s{i}"))),
                )
                .await
                .0,
            );
        }
        assert_eq!(
            sb.users().await.len(),
            codes.iter().filter(|&&s| s == 201).count()
        );
        runs.push(codes);
        sb.shutdown().await;
    }
    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&201) && runs[0].iter().any(|&s| s != 201),
        "{:?}",
        runs[0]
    );
}

/// How many of the first `n` stalled writes the seeded injector applies.
fn expected_applied(faults: &Faults, n: usize) -> usize {
    let inj = Injector::new(faults.clone());
    (0..n).filter(|_| inj.decide().stall_applies).count()
}

#[tokio::test]
async fn stalled_writes_are_applied_for_half_of_them() {
    let faults = Faults {
        stall_rate: 1.0,
        stall_ms: 150,
        seed: Some(3),
        ..Faults::default()
    };
    let n = 8;
    let want = expected_applied(&faults, n);
    assert!(want > 0 && want < n, "pick a seed that shows both outcomes");
    // A patient client sees the outcome: 201 when written, 503 when not.
    let sb = sandbox_with("generic", faults.clone()).await;
    let c = client();
    let mut created = 0;
    for i in 0..n {
        let (s, _) = send(
            c.post(format!("{}/Users", sb.base_url()))
                .json(&user_body(&format!("p{i}"))),
        )
        .await;
        assert!(s == 201 || s == 503, "{s}");
        created += usize::from(s == 201);
    }
    assert_eq!(created, want);
    assert_eq!(sb.users().await.len(), want);
    sb.shutdown().await;

    // An impatient client times out, yet the writes still land afterwards.
    let sb = sandbox_with("generic", faults.clone()).await;
    let hasty = reqwest::Client::builder()
        .timeout(Duration::from_millis(20))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 0..n {
        let r = hasty
            .post(format!("{}/Users", sb.base_url()))
            .json(&user_body(&format!("h{i}")))
            .send()
            .await;
        assert!(r.is_err_and(|e| e.is_timeout()));
    }
    let mut landed = 0;
    for _ in 0..100 {
        landed = sb.users().await.len();
        if landed == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(landed, want);
    sb.shutdown().await;
}

#[tokio::test]
async fn rate_limit_override_throttles_and_replaces_the_profile_limit() {
    let sb = sandbox_with(
        "generic",
        Faults {
            rate_limit_per_sec: Some(0.5),
            ..Faults::default()
        },
    )
    .await;
    let c = client();
    let (s1, _) = send(c.get(format!("{}/Users", sb.base_url()))).await;
    let (s2, e) = send(c.get(format!("{}/Users", sb.base_url()))).await;
    assert_eq!((s1, s2), (200, 429), "{e}");
    assert_eq!(sb.stats().throttled, 1);
    sb.shutdown().await;

    let sb = sandbox_with(
        "slack",
        Faults {
            rate_limit_per_sec: Some(1000.0),
            ..Faults::default()
        },
    )
    .await;
    for i in 0..30 {
        create_user(&c, &sb.base_url(), &format!("fast{i}")).await;
    }
    assert_eq!(sb.stats().throttled, 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn stats_are_served_over_http_without_counting_themselves() {
    let sb = sandbox().await;
    let c = client();
    let base = sb.base_url();
    create_user(&c, &base, "counted").await;
    send(c.get(format!("{base}/Users"))).await;
    send(c.get(format!("{base}/Users/none"))).await;
    let root = format!("http://{}", sb.addr());
    let (s, body) = send(c.get(format!("{root}/_sandbox/stats"))).await;
    assert_eq!(s, 200);
    let stats: RequestStats = serde_json::from_value(body).unwrap_or_default();
    assert_eq!(stats, sb.stats());
    assert_eq!(
        (stats.total, stats.reads, stats.writes, stats.users_created),
        (3, 2, 1, 1)
    );
    assert_eq!(stats.by_method.get("GET"), Some(&2));
    let (s, _) = send(c.post(format!("{root}/_sandbox/reset"))).await;
    assert_eq!(s, 204);
    assert_eq!(sb.stats(), RequestStats::default());
    let (_, body) = send(c.get(format!("{root}/_sandbox/stats"))).await;
    assert_eq!(body["total"], Value::from(0));
    sb.shutdown().await;
}
