//! `hrsync check`: the config is valid (it loaded), every secret resolved, and every source
//! and app answers. Prints a table; exit 1 if anything fails.

use hrsync_connectors::source::FetchContext;

use crate::config::Settings;
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
    let mut rows = Vec::new();
    for cfg in &settings.sources {
        let name = cfg.name().to_string();
        // The source was built when the config loaded; this is its first read.
        let row = match cfg.reader.fetch(&FetchContext::default()).await {
            Ok(read) => {
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
                Row {
                    kind: "source",
                    name,
                    ok: true,
                    detail,
                }
            }
            Err(e) => Row {
                kind: "source",
                name,
                ok: false,
                detail: e.to_string(),
            },
        };
        rows.push(row);
    }
    for app in &settings.apps {
        let row = match AppApi::new(app) {
            Err(e) => Row {
                kind: "app",
                name: app.name.clone(),
                ok: false,
                detail: e.to_string(),
            },
            Ok(api) => match api.probe().await {
                Ok(caps) => Row {
                    kind: "app",
                    name: app.name.clone(),
                    ok: true,
                    detail: format!("profile {}, {caps}", app.profile),
                },
                Err(e) => Row {
                    kind: "app",
                    name: app.name.clone(),
                    ok: false,
                    detail: e.to_string(),
                },
            },
        };
        rows.push(row);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    println!("{:<7} {:<width$}  {:<6} DETAIL", "KIND", "NAME", "STATUS");
    for r in &rows {
        println!(
            "{:<7} {:<width$}  {:<6} {}",
            r.kind,
            r.name,
            if r.ok { "ok" } else { "FAIL" },
            r.detail
        );
    }
    let failed = rows.iter().filter(|r| !r.ok).count();
    if failed > 0 {
        println!("{failed} check(s) failed");
        Ok(1)
    } else {
        Ok(0)
    }
}
