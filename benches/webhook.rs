//! Webhook latency benchmark (`cargo bench --bench webhook`; `-- --quick` for 20 hooks,
//! `-- --hooks N` for N): the real `hrsync run` binary with an admin endpoint and a webhook
//! on its CSV source, against the in-process sandbox on loopback. Each round changes one
//! person's job title in the HR file, sends a signed hook naming that person, and times
//! from the hook's send to the moment the app holds the new title: the HR change → write
//! at the app latency, debounce included (default `webhook_debounce_ms`, 500 ms). Goal:
//! p95 under 2 s. Results go to stdout; BENCHMARKS.md records them.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use hmac::{Hmac, Mac};
use hrsync_sandbox::{self as sandbox, SandboxHandle, SandboxOptions};
use sha2::Sha256;

const TOKEN: &str = "bench-token-0123456789";
const ADMIN_TOKEN: &str = "bench-admin-token";
const SECRET: &str = "bench-hook-secret";
/// Persons in the HR file (each round changes one of them).
const PERSONS: usize = 200;
const HEADER: &str =
    "employee_id,first_name,last_name,email,department,job_title,status,start_date\n";

/// The daemon under test; killed when dropped so a failed run leaves nothing behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The HR file with person `i` carrying `titles[i]`.
fn hr_text(titles: &[String]) -> String {
    let mut s = String::from(HEADER);
    for (i, t) in titles.iter().enumerate() {
        s.push_str(&format!(
            "E{i:04},P{i:04},Bench,p{i:04}@corp.example,Sales,{t},active,2020-01-01\n"
        ));
    }
    s
}

fn write_config(root: &Path, base_url: &str, port: u16) -> anyhow::Result<PathBuf> {
    let r = root.display();
    let text = format!(
        r#"[daemon]
state_path = "{r}/state.db"
interval = "1h"
admin_listen = "127.0.0.1:{port}"
admin_token = {{ file = "{r}/admin-token" }}

[[sources]]
name = "hris"
kind = "csv"
path = "{r}/hr.csv"
key = "employee_id"
webhook = {{ secret = {{ file = "{r}/hook-secret" }} }}

[[apps]]
name = "bench"
base_url = "{base_url}"
auth = {{ kind = "bearer", token = {{ file = "{r}/token" }} }}

[apps.attributes]
userName = "{{{{ email | lower }}}}"
"name.givenName" = "{{{{ first_name }}}}"
"name.familyName" = "{{{{ last_name }}}}"
title = "{{{{ job_title }}}}"
"#
    );
    let path = root.join("config.toml");
    std::fs::write(&path, text).context("config")?;
    std::fs::write(root.join("token"), TOKEN).context("token")?;
    std::fs::write(root.join("admin-token"), ADMIN_TOKEN).context("admin token")?;
    std::fs::write(root.join("hook-secret"), SECRET).context("hook secret")?;
    Ok(path)
}

fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("bind")?;
    Ok(l.local_addr().context("addr")?.port())
}

fn sign(body: &[u8]) -> anyhow::Result<String> {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).context("key")?;
    m.update(body);
    Ok(format!("sha256={}", hex::encode(m.finalize().into_bytes())))
}

/// The title the app holds for person `key`, if it has the account.
async fn title_at_app(sb: &SandboxHandle, key: &str) -> Option<String> {
    sb.users()
        .await
        .into_iter()
        .find(|u| u["externalId"] == key)
        .and_then(|u| u["title"].as_str().map(str::to_string))
}

/// Waits until `done` holds, polling every 5 ms, at most `limit`.
async fn until(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + limit;
    while !done().await {
        if Instant::now() > deadline {
            bail!("timed out after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

fn start_daemon(config: &Path, log: &Path) -> anyhow::Result<Running> {
    let log = std::fs::File::create(log).context("log")?;
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .arg("--config")
        .arg(config)
        .arg("run")
        .env_remove("HRSYNC_CONFIG")
        .env("HRSYNC_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .context("spawn hrsync run")?;
    Ok(Running(child))
}

/// One round: change person `i`'s title, send the hook, time until the app has it.
async fn round(
    sb: &SandboxHandle,
    http: &reqwest::Client,
    hook_url: &str,
    root: &Path,
    titles: &mut [String],
    i: usize,
) -> anyhow::Result<Duration> {
    let who = i % PERSONS;
    let key = format!("E{who:04}");
    let title = format!("Title{i}");
    titles[who] = title.clone();
    std::fs::write(root.join("hr.csv"), hr_text(titles)).context("HR file")?;
    let body = format!(r#"{{"keys": ["{key}"]}}"#);
    let started = Instant::now();
    let resp = http
        .post(hook_url)
        .header("X-Hrsync-Signature", sign(body.as_bytes())?)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .context("hook")?;
    if resp.status() != 202 {
        bail!("hook answered {}", resp.status());
    }
    until(Duration::from_secs(30), async || {
        title_at_app(sb, &key).await.as_deref() == Some(title.as_str())
    })
    .await
    .with_context(|| format!("{key} never got {title}"))?;
    Ok(started.elapsed())
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut hooks = if args.iter().any(|a| a == "--quick") {
        20
    } else {
        120
    };
    if let Some(i) = args.iter().position(|a| a == "--hooks") {
        hooks = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(hooks);
    }
    let sb = sandbox::start(SandboxOptions {
        token: Some(TOKEN.into()),
        ..SandboxOptions::default()
    })
    .await?;
    let dir = tempfile::tempdir().context("temp dir")?;
    let root = dir.path();
    let mut titles: Vec<String> = (0..PERSONS).map(|_| "Rep".to_string()).collect();
    std::fs::write(root.join("hr.csv"), hr_text(&titles)).context("HR file")?;
    let port = free_port()?;
    let config = write_config(root, &sb.base_url(), port)?;
    let log = root.join("run.log");
    let _daemon = start_daemon(&config, &log)?;
    let first = Instant::now();
    until(Duration::from_secs(60), async || {
        sb.users().await.len() == PERSONS
    })
    .await
    .with_context(|| std::fs::read_to_string(&log).unwrap_or_default())?;
    println!(
        "first cycle: {PERSONS} persons created in {:.2} s (daemon start included)",
        first.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::builder().no_proxy().build()?;
    let hook_url = format!("http://127.0.0.1:{port}/v1/hooks/hris");
    let mut took = Vec::with_capacity(hooks);
    for n in 0..hooks {
        let t = round(&sb, &http, &hook_url, root, &mut titles, n).await?;
        took.push(t);
    }
    took.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = took.iter().map(|d| ms(*d)).sum::<f64>() / took.len() as f64;
    println!(
        "webhook → write at the app over {hooks} hooks (debounce 500 ms included): \
         p50 {:.0} ms, p95 {:.0} ms (goal < 2000 ms), max {:.0} ms, min {:.0} ms, mean {mean:.0} ms",
        ms(percentile(&took, 50.0)),
        ms(percentile(&took, 95.0)),
        ms(took[took.len() - 1]),
        ms(took[0]),
    );
    sb.shutdown().await;
    Ok(())
}
