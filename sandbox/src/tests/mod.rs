//! Tests of the sandbox: pure tables (filters, PATCH) and behaviour over real HTTP.
#![allow(clippy::panic)] // a test fails by panicking

mod bulk_tests;
mod fault_tests;
mod filter_tests;
mod fuzz_tests;
mod group_tests;
mod http_tests;
mod patch_tests;
mod profile_tests;
mod store_tests;

use reqwest::{Client, Response};
use serde_json::{json, Value};

use super::{start, Faults, SandboxHandle, SandboxOptions};

/// Starts a sandbox with the given profile and faults.
async fn sandbox_with(profile: &str, faults: Faults) -> SandboxHandle {
    let opts = SandboxOptions {
        profile: profile.to_string(),
        faults,
        ..SandboxOptions::default()
    };
    match start(opts).await {
        Ok(h) => h,
        Err(e) => panic!("sandbox did not start: {e:#}"),
    }
}

/// A generic sandbox without faults.
async fn sandbox() -> SandboxHandle {
    sandbox_with("generic", Faults::default()).await
}

/// A client that identifies itself (GitHub requires it).
fn client() -> Client {
    Client::builder()
        .user_agent("hrsync-sandbox-tests")
        .build()
        .unwrap_or_else(|e| panic!("client: {e}"))
}

/// A minimal valid user.
fn user_body(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": "Given", "familyName": "Family"},
        "displayName": format!("Display {user_name}"),
        "emails": [{"value": format!("{user_name}@corp.example"), "type": "work", "primary": true}]
    })
}

/// Sends and returns (status, JSON body or Null).
async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let resp: Response = match req.send().await {
        Ok(r) => r,
        Err(e) => panic!("request failed: {e}"),
    };
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// POSTs a user and returns the created resource (asserting 201).
async fn create_user(c: &Client, base: &str, user_name: &str) -> Value {
    let (status, body) = send(c.post(format!("{base}/Users")).json(&user_body(user_name))).await;
    assert_eq!(status, 201, "create {user_name}: {body}");
    body
}

/// The `id` of a resource.
fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or_default().to_string()
}

/// A PatchOp body.
fn patch_body(ops: Value) -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops})
}
