//! `hrsync sandbox` as a user starts it: the binary on a chosen loopback port with a token
//! and the Slack profile serves SCIM over HTTP until SIGTERM, then exits 0.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::util::push::send_signal;
use crate::util::*;

const SANDBOX_TOKEN: &str = "T-sandbox-cli-0123";

/// A port that was free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Starts `hrsync sandbox`, returns the child and the first line it printed.
async fn start_sandbox(port: u16) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .args(["sandbox", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--token", SANDBOX_TOKEN, "--profile", "slack"])
        .env("HRSYNC_LOG", "warn")
        .env_remove("HRSYNC_SANDBOX_TOKEN")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn hrsync sandbox");
    let stdout = child.stdout.take().expect("stdout");
    // The first line is printed once the port is bound: it is the readiness signal.
    let line = tokio::time::timeout(
        Duration::from_secs(30),
        blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        }),
    )
    .await
    .expect("the sandbox printed nothing within 30 s")
    .expect("read stdout");
    (child, line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_command_serves_scim_with_the_slack_profile_and_stops_on_sigterm() {
    let port = free_port();
    let (mut child, line) = start_sandbox(port).await;
    let base = format!("http://127.0.0.1:{port}/scim/v2");
    assert_eq!(line.trim(), format!("hrsync sandbox listening on {base}"));
    let http = reqwest::Client::new();

    let anonymous = http.get(format!("{base}/Users")).send().await.expect("GET");
    assert_eq!(anonymous.status().as_u16(), 401, "the token is required");

    // Slack requires an email, and says so with a numeric `status`.
    let refused = http
        .post(format!("{base}/Users"))
        .bearer_auth(SANDBOX_TOKEN)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "no.email"
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(refused.status().as_u16(), 400);
    let body: Value = refused.json().await.expect("error body");
    assert_eq!(body["status"], json!(400), "Slack-style error: {body}");

    let created = http
        .post(format!("{base}/Users"))
        .bearer_auth(SANDBOX_TOKEN)
        .header("content-type", "application/scim+json")
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Ana.Lima",
            "externalId": "E1",
            "emails": [{"value": "ana.lima@corp.example", "type": "work", "primary": true}],
            "active": true
        }))
        .send()
        .await
        .expect("POST");
    assert_eq!(created.status().as_u16(), 201);
    let user: Value = created.json().await.expect("user");
    let id = user["id"].as_str().expect("id").to_string();
    assert_eq!(user["userName"], "ana.lima", "Slack lowercases userNames");

    let got: Value = http
        .get(format!("{base}/Users/{id}"))
        .bearer_auth(SANDBOX_TOKEN)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(got["externalId"], "E1");
    assert_eq!(got["emails"][0]["value"], "ana.lima@corp.example");

    let found: Value = http
        .get(format!("{base}/Users"))
        .query(&[("filter", "userName eq \"ana.lima\"")])
        .bearer_auth(SANDBOX_TOKEN)
        .send()
        .await
        .expect("GET filter")
        .json()
        .await
        .expect("json");
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());

    let deleted = http
        .delete(format!("{base}/Users/{id}"))
        .bearer_auth(SANDBOX_TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert_eq!(deleted.status().as_u16(), 204);
    let after: Value = http
        .get(format!("{base}/Users/{id}"))
        .bearer_auth(SANDBOX_TOKEN)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    assert_eq!(
        after["active"], false,
        "Slack's DELETE deactivates: {after}"
    );

    send_signal(&child, "TERM");
    let started = Instant::now();
    let status = blocking(move || child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(0), "exit code after SIGTERM");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port is released"
    );
}
