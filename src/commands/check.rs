//! `hrsync check`: the config is valid (it loaded), every secret resolved, and every source
//! and app answers. Prints a table; exit 1 if anything fails.

use std::collections::BTreeSet;
use std::path::Path;

use hrsync_connectors::scim::profiles::{PatchSupport, Profile};
use hrsync_connectors::scim::Capabilities;
use hrsync_connectors::source::{FetchContext, Person};
use serde_json::Value;

use crate::config::{AppSettings, Settings, SourceSettings};
use crate::engine::app_api::AppApi;
use crate::error::CommandResult;
use crate::report::format_count;

struct Row {
    kind: &'static str,
    name: String,
    ok: bool,
    detail: String,
    /// What the check learned, printed under the table (capabilities, field coverage).
    learned: Vec<String>,
}

/// Runs `check`.
pub async fn run(settings: &Settings) -> CommandResult {
    println!("hrsync check — config {} is valid", settings.file.display());
    let mut rows = vec![check_state_path(&settings.state_path)];
    for cfg in &settings.sources {
        rows.push(check_source(cfg, settings.guards.min_source_records).await);
    }
    let store = open_state(&settings.state_path).await;
    for app in &settings.apps {
        let refused = match &store {
            Some(s) => crate::engine::capabilities::refused_params(s, &app.name).await,
            None => Vec::new(),
        };
        rows.push(check_app(app, &refused).await);
    }
    print_table(&rows);
    print_learned(&rows);
    let failed = rows.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        println!("{failed} check(s) failed");
        Ok(1)
    } else {
        Ok(0)
    }
}

/// Whether `apply` could write the state where `daemon.state_path` says: its directory
/// exists and takes a new file, and an existing state file opens for writing.
fn check_state_path(path: &Path) -> Row {
    let row = |ok: bool, detail: String| Row {
        kind: "state",
        name: "daemon.state_path".into(),
        ok,
        detail,
        learned: Vec::new(),
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return row(
            false,
            format!(
                "directory {} of {} does not exist: apply would refuse to start",
                dir.display(),
                path.display()
            ),
        );
    }
    if let Err(e) = tempfile::Builder::new()
        .prefix(".hrsync-check")
        .tempfile_in(dir)
    {
        return row(
            false,
            format!(
                "directory {} is not writable ({e}): apply would refuse to start",
                dir.display()
            ),
        );
    }
    if path.exists() {
        if let Err(e) = std::fs::OpenOptions::new().append(true).open(path) {
            return row(
                false,
                format!("{} cannot be opened for writing ({e})", path.display()),
            );
        }
    }
    row(true, format!("{} writable", path.display()))
}

/// Reads the source (built when the config loaded) whole: how many records, and the
/// first ones set aside. Fails what `plan` would refuse (too few records) or what would
/// silently empty a field (a `fields` mapping no record has).
async fn check_source(cfg: &SourceSettings, min_records: usize) -> Row {
    let name = cfg.name().to_string();
    let read = match cfg.reader.fetch(&FetchContext::default()).await {
        Ok(read) => read,
        Err(e) => {
            return Row {
                kind: "source",
                name,
                ok: false,
                detail: e.to_string(),
                learned: Vec::new(),
            }
        }
    };
    let mut detail = format!(
        "{} {} records",
        cfg.config.kind.name(),
        format_count(read.persons.len())
    );
    if !read.rejected.is_empty() {
        let first: Vec<String> = read
            .rejected
            .iter()
            .take(3)
            .map(|r| r.to_string())
            .collect();
        detail.push_str(&format!(
            ", {} quarantined (first: {})",
            read.rejected.len(),
            first.join(" · ")
        ));
    }
    let mut ok = true;
    if read.persons.len() < min_records {
        ok = false;
        detail.push_str(&format!(
            ", fewer than min_source_records = {min_records}: plan and apply would stop"
        ));
    }
    for w in &read.warnings {
        ok = false;
        detail.push_str(&format!(", {w}"));
    }
    let learned = field_coverage(cfg, &read.persons);
    Row {
        kind: "source",
        name,
        ok,
        detail,
        learned,
    }
}

/// For each mapped field (the source's `fields`, every field its records carry, and the
/// lifecycle fields every cycle reads), in how many records it is non-empty: a column that
/// is mostly empty shows before a template renders it empty for most people.
fn field_coverage(cfg: &SourceSettings, persons: &[Person]) -> Vec<String> {
    let mut mapped: BTreeSet<&str> = LIFECYCLE_FIELDS.iter().copied().collect();
    mapped.extend(cfg.config.common.fields.keys().map(String::as_str));
    mapped.extend(persons.iter().flat_map(|p| p.fields.keys()));
    let total = format_count(persons.len());
    let width = mapped.iter().map(|f| f.len()).max().unwrap_or(0);
    mapped
        .into_iter()
        .map(|f| {
            let filled = persons
                .iter()
                .filter(|p| p.fields.get(f).is_some_and(|v| non_empty(&v.to_value())))
                .count();
            format!(
                "{f:<width$}  non-empty in {} of {total}",
                format_count(filled)
            )
        })
        .collect()
}

/// The fields the lifecycle reads from every source.
const LIFECYCLE_FIELDS: [&str; 4] = ["status", "start_date", "end_date", "manager_id"];

fn non_empty(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

/// The state, read-only, when there is one: what earlier runs learned about the apps.
async fn open_state(path: &Path) -> Option<hrsync_state::Store> {
    if !path.exists() {
        return None;
    }
    hrsync_state::Store::open_read_only(path).await.ok()
}

/// Reaches the app and reads what it says it can do; `refused` are the list parameters
/// earlier runs learned it refuses, so the probe does not send them either.
async fn check_app(app: &AppSettings, refused: &[String]) -> Row {
    let outcome = match AppApi::new(app) {
        Err(e) => Err(e.to_string()),
        Ok(api) => {
            api.client().set_refused_params(refused);
            match api.probe().await {
                Ok(probe) => Ok((probe, api.client().refused_params(), api.can_list())),
                Err(e) => Err(e.to_string()),
            }
        }
    };
    let (ok, detail, learned) = match outcome {
        Ok((probe, refused, can_list)) => {
            let mut learned = capabilities(probe.capabilities(), &app.scim_profile);
            learned.extend(reading(&refused, can_list));
            (true, format!("profile {}, {probe}", app.profile), learned)
        }
        Err(detail) => (false, detail, Vec::new()),
    };
    Row {
        kind: "app",
        name: app.name.clone(),
        ok,
        detail,
        learned,
    }
}

/// What the app advertised next to what its profile assumes, one line per capability.
fn capabilities(c: &Capabilities, p: &Profile) -> Vec<String> {
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let limits = |ops: Option<usize>, bytes: Option<usize>| {
        let ops = ops.map_or("no operation limit".into(), |n| {
            format!("{} operations", format_count(n))
        });
        let bytes = bytes.map_or("no payload limit".into(), |n| {
            format!("{} bytes", format_count(n))
        });
        format!("{ops}, {bytes}")
    };
    let discovered_bulk = if c.bulk.supported {
        format!(
            "yes, {}",
            limits(c.bulk.max_operations, c.bulk.max_payload_size)
        )
    } else {
        "no".into()
    };
    let assumed_bulk = match (p.bulk, p.bulk_limits) {
        (false, _) => "no".into(),
        (true, Some(l)) => format!(
            "yes, {}",
            limits(Some(l.max_operations), Some(l.max_payload_size))
        ),
        (true, None) => "yes, limits as discovered".into(),
    };
    let assumed_patch = match p.patch {
        PatchSupport::Discover => "as discovered",
        PatchSupport::Yes => "yes",
        PatchSupport::No => "no (PUT the whole resource)",
    };
    let filter = if c.filter.supported { "yes" } else { "no" };
    let page = c
        .filter
        .max_results
        .map_or("not advertised".into(), format_count);
    let rows = [
        (
            "capability",
            "discovered".to_string(),
            format!("profile {} assumes", p.name),
        ),
        ("PATCH", yes_no(c.patch).into(), assumed_patch.into()),
        ("Bulk", discovered_bulk, assumed_bulk),
        (
            "filtering",
            filter.into(),
            format!("on {}", p.filterable.join(", ")),
        ),
        ("max page size", page, format_count(p.page_sizes.max_count)),
        ("ETag", yes_no(c.etag).into(), yes_no(p.etag).into()),
    ];
    let w = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(name, found, assumed)| format!("{name:<13}  {found:<w$}  {assumed}"))
        .collect()
}

/// How hrsync reads the app's accounts: the list parameters it leaves out because the app
/// refused them, and whether the app is read person by person (it lists only with a filter).
fn reading(refused: &[String], can_list: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !refused.is_empty() {
        out.push(format!(
            "list parameters the app refused, left out: {}",
            refused.join(", ")
        ));
    }
    if !can_list {
        out.push("accounts read person by person: the app lists only with a filter".to_string());
    }
    out
}

/// Each row's findings under a heading naming it.
fn print_learned(rows: &[Row]) {
    for r in rows.iter().filter(|r| !r.learned.is_empty()) {
        let heading = match r.kind {
            "app" => format!(
                "\napp {}: what it advertised, and what its profile assumes",
                r.name
            ),
            _ => format!("\n{} {}: mapped fields", r.kind, r.name),
        };
        println!("{}", crate::report::printable(&heading));
        for line in &r.learned {
            println!("  {}", crate::report::printable(line));
        }
    }
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!("{:<7} {:<width$}  {:<6} DETAIL", "KIND", "NAME", "STATUS");
    for r in rows {
        let line = format!(
            "{:<7} {:<width$}  {:<6} {}",
            r.kind,
            r.name,
            if r.ok { "ok" } else { "FAIL" },
            r.detail
        );
        // Details quote sources and apps: their control characters are shown escaped.
        println!("{}", crate::report::printable(&line));
    }
}
