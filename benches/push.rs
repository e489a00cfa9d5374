//! Push-engine benchmark (`cargo bench --bench push`; `-- --quick` for a short run): one
//! real apply cycle per figure, against the in-process sandbox on loopback, measuring
//! (a) achieved / configured rate against an app enforcing that rate (goal ≥ 0.97, zero
//! 429s), (b) creates per second against an unlimited app, and (c) HTTP requests per
//! applied change in the steady state (goal 1.00). Results go to stdout; BENCHMARKS.md
//! records them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hrsync::config::{self, LoadOptions};
use hrsync::engine::{run_cycle, CycleOptions, Mode};
use hrsync_sandbox::{self as sandbox, Faults, RequestStats, SandboxHandle, SandboxOptions};
use hrsync_state::CycleKind;

const TOKEN: &str = "bench-token-0123456789";

/// Sizes of one benchmark run.
struct Sizes {
    /// Rate the app enforces and hrsync is configured at, requests per second.
    rate: u32,
    /// Persons created against the rate-limited app (three requests each).
    limited_persons: usize,
    /// Persons created against the unlimited app.
    unlimited_persons: usize,
}

/// A scratch installation: HR file, config, state.
struct Install {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Install {
    fn new() -> anyhow::Result<Install> {
        let dir = tempfile::tempdir().context("temp dir")?;
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("token"), TOKEN).context("token file")?;
        Ok(Install { _dir: dir, root })
    }

    fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    /// Writes `n` persons with this job title.
    fn write_hr(&self, n: usize, title: &str) -> anyhow::Result<()> {
        let mut s = String::from(
            "employee_id,first_name,last_name,email,department,job_title,status,start_date\n",
        );
        for i in 1..=n {
            s.push_str(&format!(
                "E{i:06},P{i:06},Bench,p{i:06}@corp.example,Sales,{title},active,2020-01-01\n"
            ));
        }
        std::fs::write(self.root.join("hr.csv"), s).context("HR file")
    }

    /// Writes a config with one app at `base_url` and these extra app keys.
    fn write_config(&self, base_url: &str, extra: &str) -> anyhow::Result<()> {
        let root = self.root.display();
        let text = format!(
            r#"[daemon]
state_path = "{root}/state.db"

[[sources]]
name = "hris"
kind = "csv"
path = "{root}/hr.csv"
key = "employee_id"

[[apps]]
name = "bench"
base_url = "{base_url}"
auth = {{ kind = "bearer", token = {{ file = "{root}/token" }} }}
{extra}

[apps.attributes]
userName = "{{{{ email | lower }}}}"
displayName = "{{{{ first_name }}}} {{{{ last_name }}}}"
"name.givenName" = "{{{{ first_name }}}}"
"name.familyName" = "{{{{ last_name }}}}"
"emails[type eq \"work\"].value" = "{{{{ email | lower }}}}"
title = "{{{{ job_title }}}}"
"#
        );
        std::fs::write(self.config(), text).context("config file")
    }
}

/// One apply cycle; returns its wall time and the number of failed operations.
async fn apply(config: &Path) -> anyhow::Result<(Duration, usize)> {
    let settings = config::load(config, &LoadOptions::default())
        .map_err(|e| anyhow::anyhow!("config: {e}"))?;
    let start = Instant::now();
    let report = run_cycle(&settings, CycleOptions::new(Mode::Apply, CycleKind::Apply))
        .await
        .map_err(|e| anyhow::anyhow!("cycle: {e}"))?;
    Ok((start.elapsed(), report.failures()))
}

async fn sandbox_with(faults: Faults) -> anyhow::Result<SandboxHandle> {
    sandbox::start(SandboxOptions {
        token: Some(TOKEN.into()),
        faults,
        ..SandboxOptions::default()
    })
    .await
}

/// (a) Achieved over configured rate against an app enforcing exactly that rate.
async fn rate_adherence(sizes: &Sizes) -> anyhow::Result<()> {
    let sb = sandbox_with(Faults {
        rate_limit_per_sec: Some(f64::from(sizes.rate)),
        ..Faults::default()
    })
    .await?;
    let inst = Install::new()?;
    inst.write_hr(sizes.limited_persons, "Rep")?;
    inst.write_config(
        &sb.base_url(),
        &format!(
            "rate_limit = {{ per_second = {} }}\nbulk = false",
            sizes.rate
        ),
    )?;
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let watcher = tokio::spawn(watch_requests(
        format!("http://{}/_sandbox/stats", sb.addr()),
        stopped,
    ));
    let (took, failed) = apply(&inst.config()).await?;
    let _ = stop.send(());
    let window = watcher.await.context("watcher")?;
    let s = sb.stats();
    let rate = f64::from(sizes.rate);
    let whole = s.total as f64 / took.as_secs_f64();
    println!(
        "(a) rate adherence against an app enforcing {}/s, hrsync configured at {}/s: \
         {} requests, 429s {} (goal 0), failed operations {failed}",
        sizes.rate, sizes.rate, s.total, s.throttled
    );
    if let Some((n, span)) = window {
        let pushing = n as f64 / span.as_secs_f64();
        println!(
            "    while pushing (first to last request): {pushing:.2}/s → ratio {:.3} (goal ≥ 0.97)",
            pushing / rate
        );
    }
    println!(
        "    whole cycle including start-up ({:.2} s): {whole:.2}/s → ratio {:.3}",
        took.as_secs_f64(),
        whole / rate
    );
    sb.shutdown().await;
    Ok(())
}

/// Polls the sandbox's request counter until told to stop; returns the requests after the
/// first one and the time from the first to the last (the pushing window), if any.
async fn watch_requests(
    url: String,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> Option<(u64, Duration)> {
    let client = reqwest::Client::new();
    let mut first: Option<(Instant, u64)> = None;
    let mut last: Option<(Instant, u64)> = None;
    loop {
        let total = match client.get(&url).send().await {
            Ok(r) => r.json::<RequestStats>().await.map(|s| s.total).unwrap_or(0),
            Err(_) => 0,
        };
        let now = Instant::now();
        if total > 0 {
            if first.is_none() {
                first = Some((now, total));
            }
            if last.is_none_or(|(_, n)| n != total) {
                last = Some((now, total));
            }
        }
        if stop.try_recv().is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let ((t0, n0), (t1, n1)) = (first?, last?);
    (t1 > t0).then(|| (n1 - n0, t1 - t0))
}

/// (b) Creates per second against an unlimited app, then (c) requests per change when
/// every person's title changes once.
async fn throughput(sizes: &Sizes, label: &str, extra: &str) -> anyhow::Result<()> {
    let sb = sandbox_with(Faults::default()).await?;
    let inst = Install::new()?;
    let n = sizes.unlimited_persons;
    inst.write_hr(n, "Rep")?;
    inst.write_config(&sb.base_url(), extra)?;
    let (took, failed) = apply(&inst.config()).await?;
    let s = sb.stats();
    println!(
        "(b) {label}: {n} creates in {:.2} s = {:.0} creates/s ({} requests, {:.0} requests/s, \
         {} writes), failed {failed}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        s.total,
        s.total as f64 / took.as_secs_f64(),
        s.writes
    );

    inst.write_hr(n, "Senior Rep")?;
    sb.reset_stats();
    let (took, failed) = apply(&inst.config()).await?;
    let s: RequestStats = sb.stats();
    println!(
        "(c) {label}: {n} title changes: {} requests ({} writes, {} reads) = {:.3} requests per \
         change (goal 1.00), {:.2} s, failed {failed}",
        s.total,
        s.writes,
        s.reads,
        s.total as f64 / n as f64,
        took.as_secs_f64()
    );
    sb.reset_stats();
    let _ = apply(&inst.config()).await?;
    println!(
        "    {label}: unchanged HR afterwards: {} requests (goal 0)",
        sb.stats().total
    );
    sb.shutdown().await;
    Ok(())
}

async fn bench(quick: bool) -> anyhow::Result<()> {
    let sizes = if quick {
        Sizes {
            rate: 50,
            limited_persons: 50,
            unlimited_persons: 500,
        }
    } else {
        Sizes {
            rate: 50,
            limited_persons: 200,
            unlimited_persons: 3000,
        }
    };
    println!(
        "hrsync push benchmark ({}), {} CPU(s)",
        if quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    rate_adherence(&sizes).await?;
    throughput(&sizes, "one by one, concurrency 4", "bulk = false").await?;
    throughput(
        &sizes,
        "one by one, concurrency 16",
        "bulk = false\nconcurrency = 16",
    )
    .await?;
    throughput(&sizes, "SCIM Bulk", "bulk = true").await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    rt.block_on(bench(quick))
}
