//! Helpers of the admin-endpoint tests: a daemon with an admin endpoint (and optionally a
//! webhook on the HR source) over loopback, a client that speaks to it, and signing.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::push::send_signal;
use super::Env;

/// The admin token the tests configure.
pub const ADMIN_TOKEN: &str = "admin-token-9f8e7d6c5b4a";
/// The webhook secret the tests configure.
pub const HOOK_SECRET: &str = "hook-secret-0a1b2c3d";

/// A free loopback port (bound and released; the daemon binds it right after).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// How the daemon under test is set up.
pub struct DaemonSetup<'a> {
    /// `admin_listen` value (None: no endpoint).
    pub listen: Option<String>,
    /// `webhook = { ... }` of the HR source, e.g. `style = "bamboohr"` (None: no webhook).
    pub webhook_style: Option<&'a str>,
    /// More `[daemon]` keys.
    pub daemon_keys: &'a str,
}

/// A running `hrsync run` and where to reach it.
pub struct Daemon {
    pub child: Option<Child>,
    pub log: PathBuf,
    pub base: String,
    pub http: reqwest::Client,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Writes the admin keys (and the source's webhook) into the environment's config.
pub fn configure(env: &Env, setup: &DaemonSetup<'_>) {
    let token_file = env.dir.path().join("admin-token");
    std::fs::write(&token_file, ADMIN_TOKEN).expect("admin token file");
    let secret_file = env.dir.path().join("hook-secret");
    std::fs::write(&secret_file, HOOK_SECRET).expect("hook secret file");
    let mut keys = format!(
        "admin_token = {{ file = \"{}\" }}\n{}\n",
        token_file.display(),
        setup.daemon_keys
    );
    if let Some(l) = &setup.listen {
        keys.push_str(&format!("admin_listen = \"{l}\"\n"));
    }
    let mut cfg = std::fs::read_to_string(&env.config).expect("read config");
    cfg = cfg.replacen("[daemon]\n", &format!("[daemon]\n{keys}"), 1);
    if let Some(style) = setup.webhook_style {
        let hook = format!(
            "key = \"employee_id\"\nwebhook = {{ secret = {{ file = \"{}\" }}{style} }}\n",
            secret_file.display()
        );
        cfg = cfg.replacen("key = \"employee_id\"\n", &hook, 1);
    }
    std::fs::write(&env.config, cfg).expect("write config");
}

/// Starts `hrsync run` on the environment's config, logging to `run.log`.
pub fn spawn(env: &Env, base: String) -> Daemon {
    let log = env.dir.path().join("run.log");
    let child = super::spawn_run(env, Some(&log), "info", &[]);
    Daemon {
        child: Some(child),
        log,
        base,
        http: reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client"),
    }
}

/// Starts a daemon on a TCP admin endpoint and waits until it is ready.
pub async fn start_tcp(env: &Env, webhook_style: Option<&str>, daemon_keys: &str) -> Daemon {
    let port = free_port();
    configure(
        env,
        &DaemonSetup {
            listen: Some(format!("127.0.0.1:{port}")),
            webhook_style,
            daemon_keys,
        },
    );
    let d = spawn(env, format!("http://127.0.0.1:{port}"));
    d.wait_ready().await;
    d
}

impl Daemon {
    /// The daemon's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `/readyz` until 200 (or fails with the log).
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.http.get(self.url("/readyz")).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "daemon never ready: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The URL of `path` on the endpoint.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET `path`, optionally with a bearer token: (status, body text).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("GET");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// POST a JSON body to `path`, optionally with a bearer token: (status, body JSON).
    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("POST");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST a webhook with these headers: (status, body JSON).
    pub async fn hook(
        &self,
        source: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(self.url(&format!("/v1/hooks/{source}")))
            .header("content-type", "application/json")
            .body(body.to_vec());
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let r = req.send().await.expect("POST hook");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Waits until cycle `id` is done and returns its board entry.
    pub async fn wait_cycle(&self, id: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, body) = self
                .get(&format!("/v1/cycles/{id}"), Some(ADMIN_TOKEN))
                .await;
            assert_eq!(status, 200, "{body}");
            let doc: Value = serde_json::from_str(&body).expect("cycle JSON");
            if doc["state"] == "done" {
                return doc;
            }
            assert!(Instant::now() < deadline, "cycle {id} never done: {doc}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `GET /metrics` as text.
    pub async fn metrics(&self) -> String {
        let (status, body) = self.get("/metrics", None).await;
        assert_eq!(status, 200);
        body
    }

    /// Stops the daemon with SIGTERM and returns its exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        send_signal(&child, "TERM");
        child.wait().ok().and_then(|s| s.code())
    }
}

/// `sha256=<hex HMAC-SHA256(secret, parts...)>` without the prefix.
pub fn hmac_hex(secret: &str, parts: &[&[u8]]) -> String {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("key");
    for p in parts {
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

/// The headers of an hrsync-style hook for `body`.
pub fn signed(body: &[u8]) -> Vec<(&'static str, String)> {
    vec![(
        "X-Hrsync-Signature",
        format!("sha256={}", hmac_hex(HOOK_SECRET, &[body])),
    )]
}

/// The headers of a BambooHR-style hook for `body` sent at Unix time `at`.
pub fn bamboo_signed(body: &[u8], at: i64) -> Vec<(&'static str, String)> {
    let stamp = at.to_string();
    vec![
        (
            "X-BambooHR-Signature",
            hmac_hex(HOOK_SECRET, &[body, stamp.as_bytes()]),
        ),
        ("X-BambooHR-Timestamp", stamp),
    ]
}

/// Unix seconds now (the tests' own clock; hrsync reads its own).
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Polls `done` until it holds, failing with `what` after 30 s.
pub async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The socket file's permission bits.
pub fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("socket")
        .permissions()
        .mode()
        & 0o777
}
