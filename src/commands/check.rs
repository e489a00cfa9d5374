//! `hrsync check`: the config is valid (it loaded), every secret resolved, and every source
//! and app answers. Prints a table; exit 1 if anything fails.

use std::path::Path;

use hrsync_connectors::source::FetchContext;

use crate::config::{AppSettings, Settings, SourceSettings};
use crate::engine::app_api::AppApi;
use crate::error::CommandResult;
use crate::report::format_count;

struct Row {
    kind: &'static str,
    name: String,
    ok: bool,
    detail: String,
}

/// Runs `check`.
pub async fn run(settings: &Settings) -> CommandResult {
    println!("hrsync check — config {} is valid", settings.file.display());
    let mut rows = vec![check_state_path(&settings.state_path)];
    for cfg in &settings.sources {
        rows.push(check_source(cfg, settings.guards.min_source_records).await);
    }
    for app in &settings.apps {
        rows.push(check_app(app).await);
    }
    print_table(&rows);
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
    Row {
        kind: "source",
        name,
        ok,
        detail,
    }
}

/// Reaches the app and reads what it says it can do.
async fn check_app(app: &AppSettings) -> Row {
    let outcome = match AppApi::new(app) {
        Err(e) => Err(e.to_string()),
        Ok(api) => api
            .probe()
            .await
            .map(|caps| format!("profile {}, {caps}", app.profile))
            .map_err(|e| e.to_string()),
    };
    let (ok, detail) = match outcome {
        Ok(detail) => (true, detail),
        Err(detail) => (false, detail),
    };
    Row {
        kind: "app",
        name: app.name.clone(),
        ok,
        detail,
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
