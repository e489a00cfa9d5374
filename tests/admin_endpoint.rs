//! The admin endpoint of `hrsync run`: probes and metrics answer without a token and carry
//! no personal data; every `/v1/*` endpoint refuses a missing or wrong token (401, nothing
//! started) and works with it; sync and resync answer 202 with a cycle that
//! `/v1/cycles/{id}` follows to its result; metrics count what a cycle did; a unix socket
//! endpoint is mode 0660 and serves the same.

use serde_json::Value;

use crate::util::admin::{self, ADMIN_TOKEN};
use crate::util::*;

const ANA: &str = "E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,";
const BO: &str = "E2,Bo,Chen,bo.chen@corp.example,Sales,Rep,active,2021-01-01,,";

/// A daemon that has run its first cycle (E1 created) and now waits an hour.
async fn daemon_with_ana() -> (hrsync_sandbox::SandboxHandle, Env, admin::Daemon) {
    let sb = sandbox().await;
    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let d = admin::start_tcp(&env, None, "interval = \"1h\"").await;
    admin::eventually("the first cycle creates E1", async || {
        !by_external_id(&sb.users().await, "E1").is_empty()
    })
    .await;
    (sb, env, d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_and_metrics_need_no_token_and_carry_no_personal_data() {
    let (_sb, _env, d) = daemon_with_ana().await;
    let (status, body) = d.get("/healthz", None).await;
    assert_eq!(status, 200, "{body}");
    let health: Value = serde_json::from_str(&body).expect("healthz JSON");
    assert_eq!(health["status"], "alive");
    assert!(health["pid"].as_u64().is_some(), "{body}");
    let (status, body) = d.get("/readyz", None).await;
    assert_eq!(
        (status, body.contains("\"ready\":true")),
        (200, true),
        "{body}"
    );

    // The first cycle's work shows in the metrics once it is recorded.
    let mut page = String::new();
    admin::eventually("the first cycle in the metrics", async || {
        page = d.metrics().await;
        page.contains("hrsync_cycles_total{")
    })
    .await;
    for line in [
        "hrsync_operations_total{app=\"app\",op=\"create\",result=\"ok\"} 1",
        "hrsync_http_requests_total{app=\"app\",status=\"201\"}",
        "hrsync_http_request_duration_seconds_count{app=\"app\"}",
        "hrsync_source_records{source=\"hris\"} 1",
        "hrsync_last_success_timestamp_seconds ",
        "hrsync_held_operations{app=\"app\"} 0",
        "hrsync_circuit_open{app=\"app\"} 0",
        "hrsync_quarantined_records{source=\"hris\"} 0",
    ] {
        assert!(page.contains(line), "metrics lack {line:?}:\n{page}");
    }
    for personal in ["E1", "Ana", "ana.lima", "corp.example"] {
        assert!(
            !page.contains(personal),
            "metrics carry {personal:?}:\n{page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_v1_endpoint_refuses_without_the_token_and_starts_nothing() {
    let (sb, env, d) = daemon_with_ana().await;
    env.set_hr(&format!("{HEADER}{ANA}\n{BO}\n"));
    for token in [None, Some("wrong-token"), Some("")] {
        let (status, body) = d.get("/v1/status", token).await;
        assert_eq!(status, 401, "status with {token:?}: {body}");
        assert!(!body.contains("ana.lima"), "{body}");
        let (status, _) = d.post("/v1/sync", token, "{}").await;
        assert_eq!(status, 401, "sync with {token:?}");
        let (status, _) = d
            .post("/v1/resync", token, r#"{"app": "app", "dry_run": false}"#)
            .await;
        assert_eq!(status, 401, "resync with {token:?}");
        let (status, _) = d.get("/v1/cycles/1", token).await;
        assert_eq!(status, 401, "cycles with {token:?}");
    }
    // Nothing was queued: past any debounce, no further cycle was recorded and the
    // joiner was not pushed.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let doc = crate::util::push::status_json(&env).await;
    assert_eq!(doc["cycles"].as_array().map(Vec::len), Some(1), "{doc}");
    assert!(by_external_id(&sb.users().await, "E2").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_sync_and_resync_work_with_the_token() {
    let (sb, env, d) = daemon_with_ana().await;

    // The first cycle is recorded in the state just after the app answered.
    let mut doc = Value::Null;
    admin::eventually("the first cycle in /v1/status", async || {
        let (status, body) = d.get("/v1/status", Some(ADMIN_TOKEN)).await;
        assert_eq!(status, 200, "{body}");
        doc = serde_json::from_str(&body).expect("status JSON");
        doc["cycles"][0]["status"] == "ok"
    })
    .await;
    let cli = env.hrsync(&["status", "--format", "json"]);
    let cli_doc: Value = serde_json::from_slice(&cli.stdout).expect("CLI status JSON");
    assert_eq!(
        doc["apps"], cli_doc["apps"],
        "the same document as the CLI's"
    );
    assert_eq!(doc["apps"][0]["accounts"]["active"], 1);

    // A sync for an app the config lacks is refused before anything is queued.
    let (status, body) = d
        .post("/v1/sync", Some(ADMIN_TOKEN), r#"{"apps": ["nope"]}"#)
        .await;
    assert_eq!(status, 400, "{body}");

    // A sync pushes the joiner; its cycle reports done with an ok result.
    env.set_hr(&format!("{HEADER}{ANA}\n{BO}\n"));
    let (status, body) = d
        .post("/v1/sync", Some(ADMIN_TOKEN), r#"{"apps": ["app"]}"#)
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["cycle"].as_u64().expect("cycle id");
    let entry = d.wait_cycle(id).await;
    assert_eq!(entry["result"]["exit_code"], 0, "{entry}");
    assert_eq!(by_external_id(&sb.users().await, "E2").len(), 1);

    // E1's account vanishes from the app; a resync of E1 recreates it.
    let gone = by_external_id(&sb.users().await, "E1")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    crate::util::push::delete_account(&sb, &gone).await;
    let (status, body) = d
        .post(
            "/v1/resync",
            Some(ADMIN_TOKEN),
            r#"{"app": "app", "user": "E1", "dry_run": false}"#,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let entry = d.wait_cycle(body["cycle"].as_u64().expect("id")).await;
    assert_eq!(entry["kind"], "resync", "{entry}");
    assert_eq!(entry["result"]["exit_code"], 0, "{entry}");
    let users = sb.users().await;
    assert_eq!(by_external_id(&users, "E1").len(), 1, "{users:#?}");

    let (status, _) = d.get("/v1/cycles/999999", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unix_socket_endpoint_is_mode_0660_and_serves_the_same() {
    let sb = sandbox().await;
    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let sock = env.dir.path().join("admin.sock");
    admin::configure(
        &env,
        &admin::DaemonSetup {
            listen: Some(format!("unix:{}", sock.display())),
            webhook_style: None,
            daemon_keys: "interval = \"1h\"",
        },
    );
    let mut d = admin::spawn(&env, "http://hrsync".into());
    d.http = reqwest::Client::builder()
        .unix_socket(sock.as_path())
        .build()
        .expect("unix client");
    d.wait_ready().await;
    assert_eq!(admin::mode_of(&sock), 0o660);
    let (status, _) = d.get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_eq!(d.get("/v1/status", None).await.0, 401);
    admin::eventually("the first cycle creates E1", async || {
        !by_external_id(&sb.users().await, "E1").is_empty()
    })
    .await;
    let (status, body) = d.get("/v1/status", Some(ADMIN_TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(d.stop(), Some(0), "{}", d.log_text());
}
