//! Planner benchmark (`cargo bench --bench plan`; `-- --quick` for 10 000 persons only):
//! the pure planning path of one cycle for one app — merging the HR read with its
//! snapshot (`engine::read::merge`), mapping every person through the app's templates
//! (`engine::desired::desired_for_app`) and planning (`reconcile::plan_app`) — at 10 000,
//! 100 000 and 1 000 000 persons, for (a) the steady state (everyone linked, nothing
//! changed: the plan is empty), (b) 1 % movers (a title change each: exactly that many
//! updates), (c) the initial sync (no links: one create per person) and (d) the steady
//! state of three apps with the same templates (one merge, three mappings and plans,
//! every plan empty; persons/s counts persons, not persons × apps). No I/O: the HR
//! read and the links are built in memory, as the source and the state would hand them
//! over. Each size runs in a child process of its own and the peak RSS (VmHWM) is reset
//! before each case, so each figure is that case's own; results go to stdout and
//! BENCHMARKS.md records them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _};
use chrono::{DateTime, NaiveDate, Utc};
use hrsync::engine::desired::desired_for_app;
use hrsync::engine::read::{merge_owned, HrView, Snapshot, SourceResult};
use hrsync::mapping::{AppMapping, Mapper};
use hrsync::reconcile::outcome::{link_after, resolve_pending, with_resolved};
use hrsync::reconcile::{
    plan_app, AppInput, AppPlan, AppPolicy, ConflictRule, ConflictRules, LeavePolicy, LinkState,
    OpKind, OrphanPolicy,
};
use hrsync_connectors::source::{Lifecycle, Person, Position, SourceRead};
use serde_json::Value;

const APP: &str = "bench";
/// The apps of case (d): the same templates, as when one HR feeds several similar apps.
const APPS: [&str; 3] = ["bench", "bench-2", "bench-3"];
const SOURCE: &str = "hris";
const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
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

/// The app's attribute templates: those of the push bench plus the manager reference,
/// which makes the planner resolve one link per person.
fn attributes() -> BTreeMap<String, String> {
    [
        ("userName", "{{ email | lower }}"),
        ("displayName", "{{ first_name }} {{ last_name }}"),
        ("name.givenName", "{{ first_name }}"),
        ("name.familyName", "{{ last_name }}"),
        ("emails[type eq \"work\"].value", "{{ email | lower }}"),
        ("title", "{{ job_title }}"),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "{{ department }}",
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "{{ manager_id | ref }}",
        ),
    ]
    .into_iter()
    .map(|(p, t)| (p.to_string(), t.to_string()))
    .collect()
}

fn policy() -> AppPolicy {
    AppPolicy {
        name: APP.into(),
        profile: "generic".into(),
        leave: LeavePolicy::Keep,
        pre_provision_days: 0,
        delete_after_days: None,
        // As in config.example.toml: every person is checked against it.
        exempt: ["breakglass-admin@corp.example".to_string()].into(),
        conflicts: ConflictRules {
            default: ConflictRule::HrWins,
            per_path: BTreeMap::new(),
        },
        absence_grace_cycles: 3,
        orphans: OrphanPolicy::Report,
        delete_empty_groups: false,
    }
}

fn key(i: usize) -> String {
    format!("E{i:07}")
}

/// Person `i` (1-based) as the CSV source hands it over; every tenth person manages the
/// next ten, and every hundredth is a mover when `movers` is set.
fn person(i: usize, movers: bool, start: NaiveDate) -> Person {
    let title = if movers && i.is_multiple_of(100) {
        "Senior Rep"
    } else {
        "Rep"
    };
    let manager = (i > 1).then(|| key(((i - 1) / 10).max(1)));
    let mut fields: BTreeMap<String, Value> = [
        ("employee_id", key(i)),
        ("first_name", format!("P{i:07}")),
        ("last_name", "Bench".to_string()),
        ("email", format!("p{i:07}@corp.example")),
        ("department", DEPARTMENTS[i % DEPARTMENTS.len()].to_string()),
        ("job_title", title.to_string()),
        ("status", "active".to_string()),
        ("start_date", "2020-01-01".to_string()),
    ]
    .into_iter()
    .map(|(f, v)| (f.to_string(), Value::String(v)))
    .collect();
    if let Some(m) = &manager {
        fields.insert("manager_id".into(), Value::String(m.clone()));
    }
    Person {
        key: key(i),
        source: SOURCE.into(),
        status: Lifecycle::Active,
        start_date: Some(start),
        end_date: None,
        manager_id: manager,
        fields: fields.into(),
        position: Position::Line(i as u64 + 1),
    }
}

/// A complete read of `n` persons.
fn hr_read(n: usize, movers: bool) -> anyhow::Result<SourceResult> {
    let start = NaiveDate::from_ymd_opt(2020, 1, 1).context("start date")?;
    Ok(SourceResult {
        name: SOURCE.into(),
        priority: 0,
        read: SourceRead {
            persons: (1..=n).map(|i| person(i, movers, start)).collect(),
            rejected: Vec::new(),
            complete: true,
            deleted_keys: Vec::new(),
            watermark: None,
            warnings: Vec::new(),
        },
    })
}

/// The snapshot the state holds after a cycle that read this view.
fn snapshot_of(view: &HrView) -> BTreeMap<String, Snapshot> {
    let snap: Snapshot = view
        .present
        .iter()
        .map(|(k, p)| (k.clone(), (p.clone(), 0)))
        .collect();
    [(SOURCE.to_string(), snap)].into()
}

/// The links the engine records once the initial sync's creates succeeded, including the
/// second pass that fills in the manager references.
fn links_after(plan: &AppPlan, now: DateTime<Utc>) -> BTreeMap<String, LinkState> {
    let mut links = BTreeMap::new();
    for (i, op) in plan.operations.iter().enumerate() {
        let id = format!("{i:08x}-0000-4000-8000-{i:012x}");
        if let Some(l) = link_after(op, None, &id, now) {
            links.insert(op.key.clone(), l);
        }
    }
    for op in plan
        .operations
        .iter()
        .filter(|o| !o.pending_refs.is_empty())
    {
        let resolved = resolve_pending(op, &|k| links.get(k).cloned());
        if let Some(l) = links.get(&op.key).cloned() {
            links.insert(op.key.clone(), with_resolved(l, &resolved));
        }
    }
    links
}

/// A `/proc/self/status` figure in MiB: `VmHWM` (peak resident set size) or `VmRSS`.
fn status_mib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0), so the next reading is one
/// case's peak, the inputs it holds included. False when the kernel refused.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Times of one case's stages.
struct Timed {
    merge: Duration,
    map: Duration,
    plan: Duration,
}

/// One planning pass over a read: merge, map, plan; returns the plan and its times.
fn plan_once(
    read: &SourceResult,
    snapshots: &BTreeMap<String, Snapshot>,
    links: &BTreeMap<String, LinkState>,
    mapper: &Mapper,
    policy: &AppPolicy,
    now: DateTime<Utc>,
) -> (AppPlan, HrView, Timed) {
    let t0 = Instant::now();
    let view = merge_owned(vec![read.clone()], snapshots);
    let t1 = Instant::now();
    let persons = desired_for_app(mapper, APP, &view);
    let t2 = Instant::now();
    let groups = BTreeMap::new();
    let plan = plan_app(&AppInput {
        policy,
        persons: &persons,
        links,
        remote: None,
        groups: &groups,
        manages_groups: false,
        now,
        forms: None,
        settled: None,
    });
    let t3 = Instant::now();
    drop(persons);
    (
        plan,
        view,
        Timed {
            merge: t1 - t0,
            map: t2 - t1,
            plan: t3 - t2,
        },
    )
}

/// One planning pass over a read for several apps with the same templates, as a cycle
/// does it: one merge, then per app its mapping and its plan (the apps share the
/// mapping); returns the plans and the summed times.
fn plan_apps(
    read: &SourceResult,
    snapshots: &BTreeMap<String, Snapshot>,
    links: &BTreeMap<String, LinkState>,
    mapper: &Mapper,
    policy: &AppPolicy,
    now: DateTime<Utc>,
) -> (Vec<AppPlan>, Timed) {
    let t0 = Instant::now();
    let view = merge_owned(vec![read.clone()], snapshots);
    let mut t = Timed {
        merge: t0.elapsed(),
        map: Duration::ZERO,
        plan: Duration::ZERO,
    };
    let groups = BTreeMap::new();
    let mut plans = Vec::new();
    for app in APPS {
        let t1 = Instant::now();
        let persons = desired_for_app(mapper, app, &view);
        let t2 = Instant::now();
        plans.push(plan_app(&AppInput {
            policy,
            persons: &persons,
            links,
            remote: None,
            groups: &groups,
            manages_groups: false,
            forms: None,
            settled: None,
            now,
        }));
        t.map += t2 - t1;
        t.plan += t2.elapsed();
    }
    (plans, t)
}

/// Memory around one case: resident at its start (the inputs it holds) and at its peak.
struct Memory {
    start: Option<f64>,
    peak: Option<f64>,
    /// False when the peak could not be reset, so it is the process's peak so far.
    exact: bool,
}

/// Runs one case, measuring its memory.
fn measured<T>(case: impl FnOnce() -> T) -> (T, Memory) {
    let exact = reset_peak_rss();
    let start = status_mib("VmRSS");
    let out = case();
    let peak = status_mib("VmHWM");
    (out, Memory { start, peak, exact })
}

fn row(case: &str, n: usize, t: &Timed, m: &Memory) {
    let total = t.merge + t.map + t.plan;
    let mib = |v: Option<f64>| v.map_or("?".into(), |v| format!("{v:.0}"));
    println!(
        "| {case} | {n} | {:.2} | {:.2} | {:.2} | **{:.2}** | {:.0} | {:.0} | {} | {}{} |",
        t.merge.as_secs_f64(),
        t.map.as_secs_f64(),
        t.plan.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        n as f64 / t.plan.as_secs_f64(),
        mib(m.start),
        mib(m.peak),
        if m.exact { "" } else { " (process)" },
    );
}

/// Runs the three cases at one size (in this process) and prints their rows.
fn run_size(n: usize) -> anyhow::Result<()> {
    let attrs = attributes();
    let mapper = Mapper::new(&[AppMapping {
        app: APP,
        index: 0,
        attributes: &attrs,
        scope: None,
        groups: Vec::new(),
    }])
    .map_err(|e| anyhow::anyhow!("mapper: {e}"))?;
    let policy = policy();
    let now = NaiveDate::from_ymd_opt(2026, 11, 30)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .context("now")?
        .and_utc();
    let read = hr_read(n, false)?;
    let no_links = BTreeMap::new();

    // (c) first: its plan is what the state records, which the other two start from.
    let ((initial, view, t_initial), m_initial) =
        measured(|| plan_once(&read, &BTreeMap::new(), &no_links, &mapper, &policy, now));
    ensure!(
        initial.operations.len() == n
            && initial.summary.create == n
            && initial.operations.iter().all(|o| o.op == OpKind::Create)
            && initial.quarantined.is_empty(),
        "initial sync of {n}: expected {n} creates, got {:?}",
        initial.summary
    );
    let links = links_after(&initial, now);
    drop(initial);
    ensure!(links.len() == n, "{} links for {n} creates", links.len());
    let snapshots = snapshot_of(&view);
    drop(view);

    let ((steady, view, t), m) =
        measured(|| plan_once(&read, &snapshots, &links, &mapper, &policy, now));
    ensure!(
        steady.is_empty() && steady.conflicts.is_empty() && steady.quarantined.is_empty(),
        "steady state of {n}: expected an empty plan, got {:?}",
        steady.summary
    );
    drop((steady, view));
    row("(a) steady state", n, &t, &m);

    let moved = hr_read(n, true)?;
    drop(read);
    let ((movers, view, t), m) =
        measured(|| plan_once(&moved, &snapshots, &links, &mapper, &policy, now));
    let expected = n / 100;
    ensure!(
        movers.operations.len() == expected
            && movers.summary.update == expected
            && movers.operations.iter().all(|o| o.op == OpKind::Update
                && o.changes.len() == 1
                && o.changes[0].path == "title"
                && o.changes[0].new == Some(Value::String("Senior Rep".into()))),
        "1 % movers of {n}: expected {expected} title updates, got {:?}",
        movers.summary
    );
    drop((movers, view));
    row("(b) 1 % movers", n, &t, &m);
    row("(c) initial sync", n, &t_initial, &m_initial);
    drop(moved);

    let read = hr_read(n, false)?;
    let mapper3 = Mapper::new(&APPS.map(|app| AppMapping {
        app,
        index: 0,
        attributes: &attrs,
        scope: None,
        groups: Vec::new(),
    }))
    .map_err(|e| anyhow::anyhow!("mapper: {e}"))?;
    let ((plans, t), m) = measured(|| plan_apps(&read, &snapshots, &links, &mapper3, &policy, now));
    ensure!(
        plans.len() == APPS.len() && plans.iter().all(|p| p.is_empty()),
        "steady state of {n} for three apps: expected empty plans"
    );
    row("(d) steady state, 3 apps", n, &t, &m);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--size") {
        let n = args
            .get(i + 1)
            .and_then(|s| s.parse().ok())
            .context("--size takes a number of persons")?;
        return run_size(n);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let sizes: &[usize] = if quick { &SIZES[..1] } else { &SIZES };
    println!(
        "hrsync planner benchmark ({}), {} CPU(s); one app, no drift read; times in seconds",
        if quick { "quick" } else { "full" },
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "| case | persons | merge | map | plan | total | persons/s | planned/s | RSS at start MiB | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let exe = std::env::current_exe().context("own path")?;
    for &n in sizes {
        // A child per size: memory a smaller size freed never shows in a larger one's
        // figures, and each size starts from a fresh heap.
        let status = std::process::Command::new(&exe)
            .args(["--size", &n.to_string()])
            .status()
            .with_context(|| format!("running size {n}"))?;
        ensure!(status.success(), "size {n} failed: {status}");
    }
    Ok(())
}
