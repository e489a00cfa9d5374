//! End-to-end scale benchmark (`cargo bench --bench scale`; `-- --quick` for 100 000
//! persons only): the real release `hrsync` binary on a generated CSV source and three apps
//! with the eight attribute templates of `config.example.toml`, at 100 000 and 1 000 000
//! persons. Per size: (c) the initial sync (`plan`, no state), the state seeded as the
//! initial sync's apply would leave it, (a0) the steady state (`plan`, everyone linked, HR
//! unchanged) before any apply, (d0) the first no-op `apply` (0 requests at the app; it
//! records who is settled), (a) the steady state again, (d) a no-op `apply`, (b) 1 % movers
//! (`plan`). Each run's wall time and peak RSS come from `/usr/bin/time`, and each run's
//! outcome is asserted (operation counts from the plan's JSON, requests seen by the
//! sandbox). The initial sync is timed as `--output /dev/null`, the issue's measure, and its
//! outcome read from the same plan made again into a file.
//!
//! Seeding (`--seed ROOT`, a child process): plans the initial sync in process through
//! `run_cycle`, one app at a time, and records what applying it records, through the state crate's public
//! API: the read as the snapshot (`Store::save_read`, as the engine's cycle does) and each
//! create's link and audit row (`Store::record_outcomes`, the links computed by
//! `reconcile::outcome::link_after` and the manager references filled in as the engine's
//! second pass does). No account is created at the app.
//!
//! `--size N` runs one size; `SCALE_TMP` is where the installations go (default: the
//! current directory), `SCALE_KEEP` keeps the last one for profiling by hand, and
//! `SCALE_HRSYNC` measures another build of the binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, ensure, Context as _};
use hrsync::config::{self, LoadOptions, Settings};
use hrsync::engine::read::fetch_all;
use hrsync::engine::record::{audit_op, detail};
use hrsync::engine::{run_cycle, CycleOptions, Mode};
use hrsync::reconcile::outcome::{link_after, resolve_pending, with_resolved};
use hrsync::reconcile::{AppPlan, LinkLifecycle, LinkState, OpKind};
use hrsync_sandbox::{self as sandbox, SandboxOptions};
use hrsync_state::{
    CycleKind, CycleStatus, GroupChange, Link, LinkChange, OpResult, Outcome, Ownership, Store,
};
use serde::Deserialize;

const SIZES: [usize; 2] = [100_000, 1_000_000];
const APPS: [&str; 3] = ["slack", "github", "zoom"];
const DEPARTMENTS: [&str; 8] = [
    "Sales",
    "Engineering",
    "Finance",
    "Support",
    "Marketing",
    "Operations",
    "Legal",
    "People",
];

/// The eight attribute templates of `config.example.toml`.
const ATTRIBUTES: &str = r#"userName = "{{ email | lower }}"
displayName = "{{ first_name }} {{ last_name }}"
"name.givenName" = "{{ first_name }}"
"name.familyName" = "{{ last_name }}"
"emails[type eq \"work\"].value" = "{{ email }}"
title = "{{ job_title }}"
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" = "{{ department }}"
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager" = "{{ manager_id | ref }}"
"#;

/// Writes the HR export of `n` persons; every hundredth is a mover when `movers` is set,
/// and every tenth person manages the next ten.
fn write_hr(root: &Path, n: usize, movers: bool) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file = std::fs::File::create(root.join("hr.csv")).context("HR file")?;
    let mut w = std::io::BufWriter::new(file);
    writeln!(w, "employee_id,first_name,last_name,email,department,job_title,status,hire_date,termination_date,manager_employee_id")?;
    for i in 1..=n {
        let title = if movers && i.is_multiple_of(100) {
            "Senior Rep"
        } else {
            "Rep"
        };
        let manager = if i > 1 {
            format!("E{:07}", ((i - 1) / 10).max(1))
        } else {
            String::new()
        };
        let dept = DEPARTMENTS[i % DEPARTMENTS.len()];
        writeln!(
            w,
            "E{i:07},P{i:07},Bench,P{i:07}@corp.example,{dept},{title},active,2020-01-01,,{manager}"
        )?;
    }
    w.flush().context("HR file")
}

fn write_config(root: &Path, base_url: &str) -> anyhow::Result<()> {
    let r = root.display();
    let mut text = format!(
        r#"[daemon]
state_path = "{r}/state.db"

[guards]
max_source_drop_percent = 10.0

[[sources]]
name = "hris"
kind = "csv"
path = "{r}/hr.csv"
key = "employee_id"
required = ["email", "first_name", "last_name"]
[sources.fields]
start_date = "hire_date"
end_date = "termination_date"
manager_id = "manager_employee_id"
"#
    );
    for app in APPS {
        text.push_str(&format!(
            "\n[[apps]]\nname = \"{app}\"\nbase_url = \"{base_url}\"\nauth = {{ kind = \"none\" }}\n\
             allow_insecure_http = true\nexempt = [\"breakglass-admin@corp.example\"]\n\
             deprovision = {{ action = \"deactivate\", delete_after_days = 30 }}\n\
             [apps.attributes]\n{ATTRIBUTES}"
        ));
    }
    std::fs::write(root.join("config.toml"), text).context("config file")
}

/// The binary measured: this build's, or `SCALE_HRSYNC` (to measure another build; the
/// seeding then still runs this build's code, so the two must share the state schema).
fn binary() -> PathBuf {
    std::env::var_os("SCALE_HRSYNC")
        .map_or_else(|| env!("CARGO_BIN_EXE_hrsync").into(), PathBuf::from)
}

/// What one run of the binary cost.
struct Run {
    wall: f64,
    /// User plus system CPU time: steadier than wall time on a shared machine.
    cpu: f64,
    peak_mib: f64,
}

/// Runs the release binary under `/usr/bin/time` and returns its wall time and peak RSS.
fn run_binary(root: &Path, args: &[&str]) -> anyhow::Result<Run> {
    let timing = root.join("time.txt");
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%e %U %S %M")
        .arg("-o")
        .arg(&timing)
        .arg(binary())
        .arg("--config")
        .arg(root.join("config.toml"))
        .args(args)
        .output()
        .context("running hrsync")?;
    ensure!(
        out.status.success(),
        "hrsync {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&timing).context("timing file")?;
    let mut parts = text.split_whitespace();
    let mut next = |what: &str| -> anyhow::Result<f64> {
        Ok(parts.next().with_context(|| what.to_string())?.parse()?)
    };
    let wall = next("wall time")?;
    let cpu = next("user time")? + next("system time")?;
    let kib = next("peak RSS")?;
    Ok(Run {
        wall,
        cpu,
        peak_mib: kib / 1024.0,
    })
}

#[derive(Deserialize)]
struct PlanOut {
    apps: Vec<AppOut>,
}

#[derive(Deserialize)]
struct AppOut {
    name: String,
    operations: Vec<OpOut>,
    #[serde(default)]
    conflicts: Vec<serde::de::IgnoredAny>,
    #[serde(default)]
    quarantined: Vec<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct OpOut {
    op: OpKind,
}

/// Runs `plan --format json` and returns the plan's operations per app, read from a file.
fn plan(root: &Path) -> anyhow::Result<(Run, PlanOut)> {
    let file = root.join("plan.json");
    let path = file.to_string_lossy().to_string();
    let run = run_binary(root, &["plan", "--format", "json", "--output", &path])?;
    let reader = std::io::BufReader::new(std::fs::File::open(&file).context("plan file")?);
    let out: PlanOut = serde_json::from_reader(reader).context("plan JSON")?;
    std::fs::remove_file(&file).ok();
    Ok((run, out))
}

/// The initial sync as the issue measures it, `plan --format json --output /dev/null`
/// (the plan made and printed, not a disk's speed at writing 2.8 GB of it), and its
/// outcome from the same plan made again into a file.
fn initial_plan(root: &Path) -> anyhow::Result<(Run, PlanOut)> {
    let run = run_binary(root, &["plan", "--format", "json", "--output", "/dev/null"])?;
    let (_, out) = plan(root)?;
    Ok((run, out))
}

/// Asserts that every app's plan holds `count` operations of kind `kind` and nothing else.
fn expect_ops(out: &PlanOut, kind: OpKind, count: usize, case: &str) -> anyhow::Result<()> {
    ensure!(
        out.apps.len() == APPS.len(),
        "{case}: {} apps",
        out.apps.len()
    );
    for a in &out.apps {
        let ok = a.operations.iter().filter(|o| o.op == kind).count();
        ensure!(
            ok == count
                && a.operations.len() == count
                && a.conflicts.is_empty()
                && a.quarantined.is_empty(),
            "{case}: app {} expected {count} × {kind:?}, got {} operations ({ok} of that kind), \
             {} conflicts, {} quarantined",
            a.name,
            a.operations.len(),
            a.conflicts.len(),
            a.quarantined.len()
        );
    }
    Ok(())
}

fn row(case: &str, n: usize, run: &Run) {
    println!(
        "| {case} | {n} × 3 | **{:.2}** | {:.2} | **{:.0}** |",
        run.wall, run.cpu, run.peak_mib
    );
}

/// One size: every case in order, against the sandbox at `base_url`.
fn run_size(n: usize, base_url: &str, stats: &dyn Fn() -> u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in(std::env::var_os("SCALE_TMP").unwrap_or_else(|| ".".into()))
        .context("temp dir")?;
    let root = dir.path();
    write_hr(root, n, false)?;
    write_config(root, base_url)?;

    let (run, out) = initial_plan(root)?;
    expect_ops(&out, OpKind::Create, n, "initial sync")?;
    drop(out);
    row("(c) `plan`, initial sync (no links)", n, &run);

    let t = Instant::now();
    let status = Command::new(std::env::current_exe()?)
        .arg("--seed")
        .arg(root)
        .status()
        .context("seeding")?;
    ensure!(status.success(), "seeding failed: {status}");
    let size = std::fs::metadata(root.join("state.db"))?.len() as f64 / (1 << 20) as f64;
    eprintln!("seeded in {:.1} s", t.elapsed().as_secs_f64());
    println!("| state file after the initial sync | {n} × 3 | — | — | {size:.0} MiB on disk |");

    // Nothing is settled yet: every person is mapped and planned.
    let (run, out) = plan(root)?;
    expect_ops(&out, OpKind::Create, 0, "steady state, nothing settled")?;
    row("(a0) `plan`, steady state, before any apply", n, &run);
    let apply = |case: &str| -> anyhow::Result<()> {
        let before = stats();
        let run = run_binary(root, &["apply"])?;
        let requests = stats() - before;
        ensure!(requests == 0, "{case}: apply sent {requests} requests");
        row(case, n, &run);
        Ok(())
    };
    // The first apply plans everyone and records them settled; later cycles leave them out.
    apply("(d0) first `apply`, HR unchanged (0 requests; records who is settled)")?;

    let (run, out) = plan(root)?;
    expect_ops(&out, OpKind::Create, 0, "steady state")?;
    row("(a) `plan`, steady state", n, &run);

    apply("(d) `apply`, HR unchanged (0 requests)")?;

    write_hr(root, n, true)?;
    let (run, out) = plan(root)?;
    expect_ops(&out, OpKind::Update, n / 100, "1 % movers")?;
    row("(b) `plan`, 1 % movers", n, &run);
    if std::env::var_os("SCALE_KEEP").is_some() {
        // For profiling by hand: the installation stays, with the movers' HR file.
        eprintln!("kept {}", dir.keep().display());
    }
    Ok(())
}

/// The link a create leaves, as the engine records it (the state's own form).
fn state_link(app: &str, key: &str, l: &LinkState) -> Link {
    let mut link = Link::new(app, key, &l.remote_id, &l.user_name, Ownership::Created);
    link.last_pushed = l.last_pushed.clone();
    link.hash = l.hash.clone();
    link.lifecycle = match l.lifecycle {
        LinkLifecycle::Active => hrsync_state::LinkLifecycle::Active,
        LinkLifecycle::Inactive => hrsync_state::LinkLifecycle::Inactive,
        LinkLifecycle::Deleted => hrsync_state::LinkLifecycle::Deleted,
    };
    link
}

/// Records one app's initial-sync creates as applied: links and audit rows.
async fn record_creates(store: &Store, cycle: i64, plan: &AppPlan) -> anyhow::Result<()> {
    let now = hrsync::clock::now();
    let mut links: BTreeMap<&str, LinkState> = BTreeMap::new();
    for (i, op) in plan.operations.iter().enumerate() {
        let id = format!("{i:08x}-0000-4000-8000-{:012x}", plan.name.len());
        if let Some(l) = link_after(op, None, &id, now) {
            links.insert(op.key.as_str(), l);
        }
    }
    let mut batch = Vec::new();
    for op in &plan.operations {
        let resolved = resolve_pending(op, &|k| links.get(k).cloned());
        let Some(l) = links.get(op.key.as_str()) else {
            bail!("no link for {}", op.key);
        };
        let l = with_resolved(l.clone(), &resolved);
        batch.push(Outcome {
            cycle_id: Some(cycle),
            app: plan.name.clone(),
            person_key: op.key.clone(),
            op: audit_op(op.op),
            link_change: LinkChange::Upsert(state_link(&plan.name, &op.key, &l)),
            group_change: GroupChange::None,
            remote_id: Some(l.remote_id.clone()),
            detail: detail(op),
            result: OpResult::Ok,
            error: None,
        });
        if batch.len() == 50_000 {
            store.record_outcomes(std::mem::take(&mut batch)).await?;
        }
    }
    store.record_outcomes(batch).await?;
    Ok(())
}

/// `--seed ROOT`: the state an applied initial sync leaves (see the file's doc).
async fn seed(settings: &Settings) -> anyhow::Result<()> {
    let store = Store::open(&settings.state_path).await?;
    let cycle = store.begin_cycle(CycleKind::Apply).await?;
    for (name, read) in fetch_all(settings, &BTreeMap::new(), false).await {
        let r = read.map_err(|e| anyhow::anyhow!("read {name}: {e}"))?;
        let records = r
            .read
            .persons
            .iter()
            .map(|p| Ok((p.key.clone(), serde_json::to_value(p)?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        store
            .save_read(&r.name, cycle, records, Vec::new(), r.read.complete)
            .await?;
    }
    // One app at a time, so that only one app's initial plan is held at once (the apps
    // are independent: each plan is the app's part of the plan of all of them).
    for app in &settings.apps {
        let mut opts = CycleOptions::new(
            Mode::Plan {
                detect_drift: false,
            },
            CycleKind::Plan,
        );
        opts.apps = vec![app.name.clone()];
        let report = run_cycle(settings, opts)
            .await
            .map_err(|e| anyhow::anyhow!("initial plan of {}: {e}", app.name))?;
        for plan in &report.plan.apps {
            record_creates(&store, cycle, plan).await?;
        }
    }
    store
        .finish_cycle(cycle, CycleStatus::Ok, serde_json::json!({}), None)
        .await?;
    Ok(())
}

fn seed_main(root: PathBuf) -> anyhow::Result<()> {
    let settings = config::load(&root.join("config.toml"), &LoadOptions::default())
        .map_err(|e| anyhow::anyhow!("config: {e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(seed(&settings))
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--seed") {
        let root = args.get(i + 1).context("--seed takes a directory")?;
        return seed_main(PathBuf::from(root));
    }
    let quick = args.iter().any(|a| a == "--quick");
    let one: Vec<usize> = match args.iter().position(|a| a == "--size") {
        Some(i) => vec![args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .context("--size takes a number of persons")?],
        None => Vec::new(),
    };
    let sizes: &[usize] = if !one.is_empty() {
        &one
    } else if quick {
        &SIZES[..1]
    } else {
        &SIZES
    };
    // The sandbox serves on the runtime's worker thread while this thread runs the binary.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let sb = rt.block_on(sandbox::start(SandboxOptions::default()))?;
    let stats = || sb.stats().total;
    println!(
        "hrsync scale benchmark ({}), {} CPU(s); the release binary, three apps",
        if quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| case | persons × apps | wall s | CPU s | peak RSS MiB |");
    println!("|---|---|---|---|---|");
    for &n in sizes {
        run_size(n, &sb.base_url(), &stats)?;
    }
    rt.block_on(sb.shutdown());
    Ok(())
}
