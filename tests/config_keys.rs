//! Accepted config keys shown doing what they say, over HTTP against the sandbox:
//! `on_unlinked_match` (adopt / skip / fail) for an account that already holds the
//! person's userName but is linked to nobody; `[apps.headers]` with a secret value.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::Router;
use hrsync_state::Store;
use serde_json::{json, Value};

use crate::util::*;

const ANA: &str = "E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,";
const BO: &str = "E2,Bo,Chen,bo.chen@corp.example,Sales,Account Executive,active,2021-03-01,,";

/// A sandbox holding a hand-made account with Ana's userName (no externalId), and an
/// hrsync setup for Ana and Bo whose app has `on_unlinked_match = <mode>`.
async fn setup(mode: &str) -> (Env, hrsync_sandbox::SandboxHandle, Value) {
    let sb = sandbox().await;
    let resp = reqwest::Client::new()
        .post(format!("{}/Users", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "ana.lima@corp.example",
            "title": "Made by hand",
            "active": true
        }))
        .send()
        .await
        .expect("seed");
    assert_eq!(resp.status().as_u16(), 201);
    let hand: Value = resp.json().await.expect("seed json");
    let env = Env::new(&format!("{HEADER}{ANA}\n{BO}\n"));
    env.write_config(&env.app(
        "app",
        &sb.base_url(),
        &format!("on_unlinked_match = \"{mode}\""),
    ));
    sb.reset_stats();
    (env, sb, hand)
}

async fn apply(env: &Env) -> std::process::Output {
    let config = env.config.clone();
    blocking(move || hrsync_cmd(&config, &["apply", "--yes"])).await
}

/// The app's links by person key.
async fn links(env: &Env) -> BTreeMap<String, String> {
    let store = Store::open_read_only(&env.state).await.expect("state");
    store
        .links(Some("app"))
        .await
        .expect("links")
        .into_iter()
        .map(|l| (l.person_key.clone(), l.remote_id.clone()))
        .collect()
}

/// The hand-made account as the sandbox holds it now.
async fn account(sb: &hrsync_sandbox::SandboxHandle, id: &str) -> Value {
    sb.users()
        .await
        .into_iter()
        .find(|u| u["id"] == id)
        .expect("the hand-made account still exists")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_unlinked_match_adopt_links_the_existing_account() {
    // The control case: the same setup with the default policy does link and write, so the
    // skip and fail tests below would notice if their policy were ignored.
    let (env, sb, hand) = setup("adopt").await;
    let id = hand["id"].as_str().expect("id");
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(links(&env).await.get("E1").map(String::as_str), Some(id));
    let now = account(&sb, id).await;
    assert_eq!(now["externalId"], "E1");
    assert_eq!(now["title"], "Engineer");
    assert_eq!(sb.users().await.len(), 2, "Ana adopted, Bo created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_unlinked_match_skip_leaves_account_and_person_alone_and_says_so() {
    let (env, sb, hand) = setup("skip").await;
    let id = hand["id"].as_str().expect("id");
    for round in 1..=2 {
        let out = apply(&env).await;
        let all = text(&out);
        // A skip is the configured policy, not a failure.
        assert_eq!(out.status.code(), Some(0), "round {round}: {all}");
        let now = account(&sb, id).await;
        assert_eq!(now, hand, "round {round}: the account is untouched");
        assert_eq!(
            by_user_name(&sb.users().await, "ana.lima@corp.example").len(),
            1,
            "round {round}: no second account for Ana"
        );
        let linked = links(&env).await;
        assert!(
            !linked.contains_key("E1"),
            "round {round}: not linked: {linked:?}"
        );
        assert!(
            linked.contains_key("E2"),
            "round {round}: Bo goes on: {linked:?}"
        );
        assert!(
            all.contains("E1") && all.contains("on_unlinked_match = \"skip\""),
            "round {round}: the skip is reported with its reason: {all}"
        );
        if round == 1 {
            let stats = sb.stats();
            assert_eq!(stats.writes, 1, "the only write is Bo's create: {stats:?}");
            sb.reset_stats();
        }
    }
    let stats = sb.stats();
    assert_eq!(stats.writes, 0, "round 2 writes nothing: {stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_unlinked_match_fail_fails_the_operation_clearly_and_writes_nothing_for_it() {
    let (env, sb, hand) = setup("fail").await;
    let id = hand["id"].as_str().expect("id");
    let out = apply(&env).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "a failed operation: {all}");
    assert!(
        all.contains("E1") && all.contains(id) && all.contains("on_unlinked_match = \"fail\""),
        "the error names the person, the account and the policy: {all}"
    );
    assert_eq!(account(&sb, id).await, hand, "the account is untouched");
    assert_eq!(
        by_user_name(&sb.users().await, "ana.lima@corp.example").len(),
        1,
        "no second account for Ana"
    );
    let linked = links(&env).await;
    assert!(!linked.contains_key("E1"), "not linked: {linked:?}");
    assert!(linked.contains_key("E2"), "Bo goes on: {linked:?}");
    let stats = sb.stats();
    assert_eq!(stats.writes, 1, "the only write is Bo's create: {stats:?}");
}

/// Headers of every request seen, and where to pass the request on.
struct Recorder {
    upstream: String,
    seen: Mutex<Vec<HeaderMap>>,
}

async fn record_and_forward(State(st): State<Arc<Recorder>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    st.seen.lock().expect("seen").push(headers.clone());
    let body = to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let mut out = reqwest::Client::new()
        .request(method, format!("{}{path}", st.upstream))
        .body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let resp = out.send().await.expect("upstream");
    let mut r = Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" {
            r = r.header(k, v);
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    r.body(Body::from(bytes)).expect("response")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_header_reaches_the_app_on_every_request_and_never_shows_in_output() {
    const KEY: &str = "gw-key-5be1a7c0d2";
    let sb = sandbox().await;
    let rec = Arc::new(Recorder {
        upstream: format!("http://{}", sb.addr()),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .fallback(record_and_forward)
        .with_state(rec.clone());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(tcp, app).await;
    });

    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    let block = env
        .app("app", &format!("http://{addr}/scim/v2"), "")
        .replace(
            "\n[apps.attributes]",
            "\n[apps.headers]\n\"X-Api-Key\" = { env = \"HRSYNC_TEST_GATEWAY_KEY\" }\n\
         \"X-Request-Source\" = \"hrsync-tests\"\n\n[apps.attributes]",
        );
    env.write_config(&block);
    let config = env.config.clone();
    let run = |args: &'static [&'static str]| {
        let config = config.clone();
        blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
                .arg("--config")
                .arg(&config)
                .args(args)
                .env_remove("HRSYNC_CONFIG")
                // The most talkative logs: the key must not be in them either.
                .env("HRSYNC_LOG", "trace")
                .env("HRSYNC_TEST_GATEWAY_KEY", KEY)
                .output()
                .expect("run hrsync")
        })
    };
    for args in [&["check"][..], &["apply", "--yes"][..]] {
        let out = run(args).await;
        let all = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {all}");
        assert!(!all.contains(KEY), "{args:?} printed the key: {all}");
    }
    assert_eq!(by_external_id(&sb.users().await, "E1").len(), 1);

    let seen = rec.seen.lock().expect("seen").clone();
    assert!(
        seen.len() >= 3,
        "discovery, access check, apply: {}",
        seen.len()
    );
    for h in &seen {
        assert_eq!(h.get("x-api-key").and_then(|v| v.to_str().ok()), Some(KEY));
        assert_eq!(
            h.get("x-request-source").and_then(|v| v.to_str().ok()),
            Some("hrsync-tests")
        );
    }
}
