//! Helpers: local servers (axum and raw TCP) and clients with test-sized retry bounds.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hrsync_connectors::http::{
    Auth, HttpClient, HttpSettings, Replay, Request, RetryPolicy, Throttle,
};
use reqwest::Method;
use tokio::net::TcpListener;
use url::Url;

/// Serves `router` on 127.0.0.1:0 and returns its address.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("serve");
    });
    addr
}

/// A port on which nothing listens.
pub async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

/// Transport settings for tests: short backoff, `attempts` in total.
pub fn settings(attempts: u32) -> HttpSettings {
    HttpSettings {
        retry: RetryPolicy {
            max_attempts: attempts,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
        },
        ..HttpSettings::default()
    }
}

/// A client with the given auth and attempts, optionally behind a throttle.
pub fn client(auth: Auth, attempts: u32, throttle: Option<&Throttle>) -> HttpClient {
    let c = HttpClient::new(settings(attempts), auth).expect("client");
    match throttle {
        Some(t) => c.with_gate(Arc::new(t.clone())),
        None => c,
    }
}

/// `http://addr/path` as a URL.
pub fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).expect("url")
}

/// A GET, safe to repeat.
pub fn get(addr: SocketAddr, path: &str) -> Request {
    Request::new(Method::GET, url(addr, path), Replay::Safe)
}

/// A POST create, repeated only when certainly unprocessed.
pub fn post(addr: SocketAddr, path: &str) -> Request {
    Request::new(Method::POST, url(addr, path), Replay::OnlyIfUnprocessed).json(
        &serde_json::json!({"userName": "a@corp.example"}),
        "application/scim+json",
    )
}
