//! Push-engine benchmark (`cargo bench --bench push`; `-- --quick` for a short run): one
//! real apply cycle per figure, against the in-process sandbox on loopback, measuring
//! (a) achieved / configured rate against an app enforcing that rate (goal ≥ 0.97, zero
//! 429s), (b) creates per second against an unlimited app, and (c) HTTP requests per
//! applied change in the steady state (goal 1.00), and, with `-- --initial`, (d)–(g): the
//! first sync (requests per create, against latency, against a rate limit, adoption after
//! a lost state); `-- --initial --managers`: (d) and (f) with manager references. Results
//! go to stdout; BENCHMARKS.md records them.

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

    /// Writes `n` persons in a tree: person `i` (from the second) reports to person `i / 10`
    /// (the first for `i < 10`), so an initial sync creates managers and reports together.
    fn write_hr_managers(&self, n: usize) -> anyhow::Result<()> {
        let mut s = String::from(
            "employee_id,first_name,last_name,email,department,job_title,status,start_date,manager_id\n",
        );
        for i in 1..=n {
            let manager = if i == 1 {
                String::new()
            } else {
                format!("E{:06}", (i / 10).max(1))
            };
            s.push_str(&format!(
                "E{i:06},P{i:06},Bench,p{i:06}@corp.example,Sales,Rep,active,2020-01-01,{manager}\n"
            ));
        }
        std::fs::write(self.root.join("hr.csv"), s).context("HR file")
    }

    /// Writes a config with one app at `base_url`, these extra app keys and the manager
    /// reference mapped.
    fn write_config_managers(&self, base_url: &str, extra: &str) -> anyhow::Result<()> {
        self.write_config(base_url, extra)?;
        let mut text = std::fs::read_to_string(self.config()).context("config file")?;
        text.push_str(
            "\"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager\" = \"{{ manager_id | ref }}\"\n",
        );
        std::fs::write(self.config(), text).context("config file")
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

/// (d) Requests per create on an initial sync, one by one and with Bulk.
async fn initial_requests(n: usize) -> anyhow::Result<()> {
    for (label, extra) in [("one by one", "bulk = false"), ("SCIM Bulk", "bulk = true")] {
        let sb = sandbox_with(Faults::default()).await?;
        let inst = Install::new()?;
        inst.write_hr(n, "Rep")?;
        inst.write_config(
            &sb.base_url(),
            &format!("match_on = [\"externalId\", \"userName\"]\n{extra}"),
        )?;
        let (took, failed) = apply(&inst.config()).await?;
        let s = sb.stats();
        println!(
            "(d) initial sync of {n}, {label}: {} requests ({} reads, {} writes) = {:.3} per \
             create, {:.2} s, failed {failed}",
            s.total,
            s.reads,
            s.writes,
            s.total as f64 / n as f64,
            took.as_secs_f64()
        );
        sb.shutdown().await;
    }
    Ok(())
}

/// (e) Creates against an app answering each request after 25 ms: hrsync at its defaults
/// next to a client that sends one POST at a time.
async fn against_latency(n: usize) -> anyhow::Result<()> {
    let race = LatencyRace::run(n, "").await?;
    println!(
        "(e) {n} creates, 25 ms per request: hrsync defaults {:.1}/s ({:.2} s, failed \
         {}), sequential POSTs {:.1}/s → {:.2}× (goal ≥ 10)",
        race.hrsync_rate,
        race.took.as_secs_f64(),
        race.failed,
        race.naive_rate,
        race.hrsync_rate / race.naive_rate
    );
    Ok(())
}

/// (e′) As (e), one request per create (`bulk = false`) at default settings, where the
/// in-flight limit adapts: next to a client that sends one POST at a time.
async fn against_latency_one_by_one(n: usize) -> anyhow::Result<()> {
    let race = LatencyRace::run(n, "bulk = false").await?;
    println!(
        "(e') {n} creates one by one (bulk = false), 25 ms per request: hrsync defaults \
         {:.1}/s ({:.2} s, {} requests, failed {}), sequential POSTs {:.1}/s → {:.2}×",
        race.hrsync_rate,
        race.took.as_secs_f64(),
        race.requests,
        race.failed,
        race.naive_rate,
        race.hrsync_rate / race.naive_rate
    );
    Ok(())
}

/// hrsync's `apply` of `n` creates and a client sending one POST at a time, each against
/// a sandbox of its own answering every request after 25 ms.
struct LatencyRace {
    took: Duration,
    failed: usize,
    requests: u64,
    hrsync_rate: f64,
    naive_rate: f64,
}

impl LatencyRace {
    async fn run(n: usize, extra: &str) -> anyhow::Result<LatencyRace> {
        let slow = Faults {
            latency_ms: 25,
            ..Faults::default()
        };
        let sb = sandbox_with(slow.clone()).await?;
        let inst = Install::new()?;
        inst.write_hr(n, "Rep")?;
        inst.write_config(&sb.base_url(), extra)?;
        let (took, failed) = apply(&inst.config()).await?;
        let requests = sb.stats().total;
        sb.shutdown().await;
        let sb = sandbox_with(slow).await?;
        let naive = sequential_posts(&sb.base_url(), n).await?;
        sb.shutdown().await;
        Ok(LatencyRace {
            took,
            failed,
            requests,
            hrsync_rate: n as f64 / took.as_secs_f64(),
            naive_rate: n as f64 / naive.as_secs_f64(),
        })
    }
}

/// How long a client takes to POST `n` users one after another.
async fn sequential_posts(base_url: &str, n: usize) -> anyhow::Result<Duration> {
    let client = reqwest::Client::new();
    let start = Instant::now();
    for i in 1..=n {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("p{i:06}@corp.example"),
            "externalId": format!("E{i:06}"),
        });
        client
            .post(format!("{base_url}/Users"))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .context("sequential POST")?;
    }
    Ok(start.elapsed())
}

/// (f) The whole initial sync against an app limited to 50 requests/s.
async fn against_rate_limit(n: usize) -> anyhow::Result<()> {
    for (label, extra, goal) in [
        ("SCIM Bulk", "bulk = true", 2),
        ("one by one", "bulk = false", 11),
    ] {
        let sb = sandbox_with(Faults {
            rate_limit_per_sec: Some(50.0),
            ..Faults::default()
        })
        .await?;
        let inst = Install::new()?;
        inst.write_hr(n, "Rep")?;
        inst.write_config(
            &sb.base_url(),
            &format!("rate_limit = {{ per_second = 50 }}\n{extra}"),
        )?;
        let (took, failed) = apply(&inst.config()).await?;
        let s = sb.stats();
        println!(
            "(f) initial sync of {n} at 50 requests/s, {label}: {:.2} s (goal < {goal} s), {} \
             requests, 429s {}, failed {failed}",
            took.as_secs_f64(),
            s.total,
            s.throttled
        );
        sb.shutdown().await;
    }
    Ok(())
}

/// (g) Adopting existing accounts after the state was lost.
async fn adoption(n: usize) -> anyhow::Result<()> {
    let sb = sandbox_with(Faults::default()).await?;
    let inst = Install::new()?;
    inst.write_hr(n, "Rep")?;
    inst.write_config(&sb.base_url(), "bulk = false")?;
    let _ = apply(&inst.config()).await?;
    for f in ["state.db", "state.db-wal", "state.db-shm"] {
        let _ = std::fs::remove_file(inst.root.join(f));
    }
    sb.reset_stats();
    let (took, failed) = apply(&inst.config()).await?;
    let s = sb.stats();
    println!(
        "(g) {n} existing accounts, state lost: {} requests ({} reads, {} writes) = {:.3} per \
         person, {:.2} s, failed {failed}",
        s.total,
        s.reads,
        s.writes,
        s.total as f64 / n as f64,
        took.as_secs_f64()
    );
    sb.shutdown().await;
    Ok(())
}

/// (d) and (f) with manager references: every person but the first reports to another
/// person created in the same sync.
async fn with_managers(n: usize, rate_limited: usize) -> anyhow::Result<()> {
    let cases = [
        ("one by one", "bulk = false", n, false),
        ("SCIM Bulk", "bulk = true", n, false),
        ("one by one", "bulk = false", rate_limited, true),
        ("SCIM Bulk", "bulk = true", rate_limited, true),
    ];
    for (label, extra, n, limited) in cases {
        let faults = Faults {
            rate_limit_per_sec: limited.then_some(50.0),
            ..Faults::default()
        };
        let sb = sandbox_with(faults).await?;
        let inst = Install::new()?;
        inst.write_hr_managers(n)?;
        let rate = if limited {
            "rate_limit = { per_second = 50 }\n"
        } else {
            ""
        };
        inst.write_config_managers(
            &sb.base_url(),
            &format!("match_on = [\"externalId\", \"userName\"]\n{rate}{extra}"),
        )?;
        let (took, failed) = apply(&inst.config()).await?;
        let s = sb.stats();
        let at = if limited { " at 50 requests/s" } else { "" };
        println!(
            "({}) initial sync of {n} with managers{at}, {label}: {} requests ({} reads, {} \
             writes) = {:.3} per create, {:.2} s, 429s {}, failed {failed}",
            if limited { "f" } else { "d" },
            s.total,
            s.reads,
            s.writes,
            s.total as f64 / n as f64,
            took.as_secs_f64(),
            s.throttled
        );
        sb.shutdown().await;
    }
    Ok(())
}

/// The first-sync figures (d)–(g); with `managers`, only (d) and (f) with manager
/// references.
async fn initial(quick: bool, managers: bool) -> anyhow::Result<()> {
    let scale = if quick { 10 } else { 1 };
    if managers {
        return with_managers(5000 / scale, 500).await;
    }
    initial_requests(5000 / scale).await?;
    against_latency(1000 / scale).await?;
    against_latency_one_by_one(1000 / scale).await?;
    against_rate_limit(500).await?;
    adoption(1000 / scale).await?;
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
    let first_sync = std::env::args().any(|a| a == "--initial");
    let managers = std::env::args().any(|a| a == "--managers");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("tokio runtime")?;
    if first_sync {
        return rt.block_on(initial(quick, managers));
    }
    rt.block_on(bench(quick))
}
