//! HR webhooks on the admin endpoint: a correctly signed hook starts a cycle that writes the
//! change at the app; a bad or missing signature, or a BambooHR timestamp outside the
//! five-minute window, gets 401 and starts nothing; an unknown source 404; a body over
//! 1 MiB 413; a burst of hooks within the debounce makes one cycle.

use std::time::Duration;

use serde_json::Value;

use crate::util::admin;
use crate::util::*;

const ANA: &str = "E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,";
const ANA_PROMOTED: &str =
    "E1,Ana,Lima,ana.lima@corp.example,Engineering,Staff Engineer,active,2020-01-01,,";

/// A daemon whose HR source takes hooks of `style`, after its first cycle created E1.
async fn hooked(
    style: &str,
    debounce_ms: u64,
) -> (hrsync_sandbox::SandboxHandle, Env, admin::Daemon) {
    let sb = sandbox().await;
    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let keys = format!("interval = \"1h\"\nwebhook_debounce_ms = {debounce_ms}");
    let d = admin::start_tcp(&env, Some(style), &keys).await;
    admin::eventually("the first cycle creates E1", async || {
        !by_external_id(&sb.users().await, "E1").is_empty()
    })
    .await;
    (sb, env, d)
}

async fn title_of(sb: &hrsync_sandbox::SandboxHandle, key: &str) -> String {
    by_external_id(&sb.users().await, key)
        .first()
        .and_then(|u| u["title"].as_str())
        .unwrap_or_default()
        .to_string()
}

/// Cycles the state database has recorded so far.
async fn recorded_cycles(env: &Env) -> usize {
    let doc = crate::util::push::status_json(env).await;
    doc["cycles"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_hook_writes_the_change_at_the_app() {
    let (sb, env, d) = hooked("", 100).await;
    env.set_hr(&format!("{HEADER}{ANA_PROMOTED}\n"));
    let body = br#"{"keys": ["E1"]}"#;
    let (status, answer) = d.hook("hris", &admin::signed(body), body).await;
    assert_eq!(status, 202, "{answer}");
    let entry = d.wait_cycle(answer["cycle"].as_u64().expect("id")).await;
    assert_eq!(entry["kind"], "webhook", "{entry}");
    assert_eq!(title_of(&sb, "E1").await, "Staff Engineer");
    let page = d.metrics().await;
    assert!(
        page.contains("hrsync_webhooks_total{source=\"hris\",result=\"accepted\"} 1"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_or_missing_signature_is_401_and_starts_nothing() {
    let (sb, env, d) = hooked("", 100).await;
    let before = recorded_cycles(&env).await;
    env.set_hr(&format!("{HEADER}{ANA_PROMOTED}\n"));
    let body = br#"{"keys": ["E1"]}"#;
    let forged = vec![(
        "X-Hrsync-Signature",
        format!("sha256={}", admin::hmac_hex("not-the-secret", &[body])),
    )];
    let tampered = admin::signed(br#"{"keys": ["E2"]}"#);
    for headers in [forged, tampered, Vec::new()] {
        let (status, answer) = d.hook("hris", &headers, body).await;
        assert_eq!(status, 401, "{headers:?}: {answer}");
    }
    // Well past the debounce: no cycle ran, the change did not go out.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(recorded_cycles(&env).await, before);
    assert_eq!(title_of(&sb, "E1").await, "Engineer");
    let page = d.metrics().await;
    assert!(
        page.contains("hrsync_webhooks_total{source=\"hris\",result=\"bad_signature\"} 2"),
        "{page}"
    );
    assert!(
        page.contains("hrsync_webhooks_total{source=\"hris\",result=\"missing_signature\"} 1"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bamboohr_hook_is_accepted_fresh_and_refused_replayed() {
    let (sb, env, d) = hooked(", style = \"bamboohr\"", 100).await;
    let before = recorded_cycles(&env).await;
    env.set_hr(&format!("{HEADER}{ANA_PROMOTED}\n"));
    let body = br#"{"employees": [{"id": "E1", "action": "Updated"}]}"#;
    // Correctly signed, but sent six minutes ago (a replay) or from the future.
    for at in [admin::unix_now() - 360, admin::unix_now() + 360] {
        let (status, answer) = d.hook("hris", &admin::bamboo_signed(body, at), body).await;
        assert_eq!(status, 401, "timestamp {at}: {answer}");
    }
    // hrsync's own header does not stand in for BambooHR's.
    assert_eq!(d.hook("hris", &admin::signed(body), body).await.0, 401);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(recorded_cycles(&env).await, before);
    assert_eq!(title_of(&sb, "E1").await, "Engineer");

    let fresh = admin::bamboo_signed(body, admin::unix_now());
    let (status, answer) = d.hook("hris", &fresh, body).await;
    assert_eq!(status, 202, "{answer}");
    d.wait_cycle(answer["cycle"].as_u64().expect("id")).await;
    assert_eq!(title_of(&sb, "E1").await, "Staff Engineer");
    let page = d.metrics().await;
    assert!(
        page.contains("hrsync_webhooks_total{source=\"hris\",result=\"stale_timestamp\"} 2"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sources_are_404_and_oversize_bodies_413() {
    let (_sb, env, d) = hooked("", 100).await;
    let before = recorded_cycles(&env).await;
    let body = br#"{"keys": ["E1"]}"#;
    let (status, _) = d.hook("payroll", &admin::signed(body), body).await;
    assert_eq!(status, 404);
    let big = vec![b' '; 1024 * 1024 + 1];
    let (status, _) = d.hook("hris", &admin::signed(&big), &big).await;
    assert_eq!(status, 413);
    // Exactly 1 MiB is still read (and, signed, accepted).
    let mut edge = br#"{"keys": ["E1"]}"#.to_vec();
    edge.resize(1024 * 1024, b' ');
    let (status, answer) = d.hook("hris", &admin::signed(&edge), &edge).await;
    assert_eq!(status, 202, "{answer}");
    d.wait_cycle(answer["cycle"].as_u64().expect("id")).await;
    assert_eq!(recorded_cycles(&env).await, before + 1);
    let page = d.metrics().await;
    assert!(page.contains("result=\"too_large\"} 1"), "{page}");
    assert!(
        page.contains("hrsync_webhooks_total{source=\"unknown\",result=\"unknown_source\"} 1"),
        "{page}"
    );
    assert!(
        !page.contains("payroll"),
        "caller-chosen names stay out: {page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_hooks_within_the_debounce_makes_one_cycle() {
    let (sb, env, d) = hooked("", 1500).await;
    let before = recorded_cycles(&env).await;
    env.set_hr(&format!("{HEADER}{ANA_PROMOTED}\n"));
    let mut ids = Vec::new();
    for i in 0..5 {
        let body = format!(r#"{{"keys": ["E{i}"]}}"#);
        let (status, answer) = d
            .hook("hris", &admin::signed(body.as_bytes()), body.as_bytes())
            .await;
        assert_eq!(status, 202, "{answer}");
        ids.push(answer["cycle"].as_u64().expect("id"));
    }
    let mut served_by = Vec::new();
    for id in &ids {
        let entry: Value = d.wait_cycle(*id).await;
        served_by.push(entry["state_cycle"].clone());
    }
    assert!(
        served_by.iter().all(|c| *c == served_by[0] && !c.is_null()),
        "every hook reports the same cycle: {served_by:?}"
    );
    assert_eq!(
        recorded_cycles(&env).await,
        before + 1,
        "one cycle for five hooks"
    );
    assert_eq!(title_of(&sb, "E1").await, "Staff Engineer");
}
