//! `hrsync audit`: the audit trail of identity changes, filtered by app, person and time.

use std::collections::BTreeSet;
use std::fmt::Write;

use chrono::{DateTime, Utc};
use hrsync_state::{AuditQuery, AuditRow, Store};
use serde_json::Value;

use crate::cli::{AuditArgs, SimpleFormat};
use crate::config::Settings;
use crate::error::{CommandError, CommandResult};

/// Runs `audit`.
pub async fn run(settings: &Settings, args: AuditArgs) -> CommandResult {
    let since = parse_since(args.since.as_deref())?;
    if !settings.state_path.exists() {
        refuse_unknown(settings, &args, &Known::default())?;
        match args.format {
            SimpleFormat::Json => println!("[]"),
            SimpleFormat::Text => println!("no state yet at {}", settings.state_path.display()),
        }
        return Ok(0);
    }
    let store = Store::open_read_only(&settings.state_path)
        .await
        .map_err(|e| CommandError::Runtime(e.into()))?;
    let mut known = Known::read(&store).await?;
    // A group's own trail is queried by its name (its rows carry it as the key).
    if let Some(user) = args.user.as_ref().filter(|u| !known.persons.contains(*u)) {
        let group_rows = store
            .audit(AuditQuery {
                person_key: Some(user.clone()),
                limit: Some(1),
                ..AuditQuery::default()
            })
            .await
            .map_err(|e| CommandError::Runtime(e.into()))?;
        if !group_rows.is_empty() {
            known.persons.insert(user.clone());
        }
    }
    refuse_unknown(settings, &args, &known)?;
    let rows = store
        .audit(AuditQuery {
            app: args.app.clone(),
            person_key: args.user.clone(),
            since,
            cycle_id: None,
            limit: Some(args.limit),
        })
        .await
        .map_err(|e| CommandError::Runtime(e.into()))?;
    match args.format {
        SimpleFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| CommandError::Runtime(e.into()))?
        ),
        SimpleFormat::Text => print!("{}", crate::report::printable(&text(&rows))),
    }
    Ok(0)
}

/// The names the state knows, to tell a typo from an app or person with no entries yet.
#[derive(Default)]
struct Known {
    apps: BTreeSet<String>,
    persons: BTreeSet<String>,
}

impl Known {
    async fn read(store: &Store) -> Result<Known, CommandError> {
        let runtime = |e: hrsync_state::StateError| CommandError::Runtime(e.into());
        Ok(Known {
            apps: store.known_apps().await.map_err(runtime)?,
            persons: store.known_persons().await.map_err(runtime)?,
        })
    }
}

/// `--app` must be configured or in the state, `--user` in the state: anything else is a
/// typo that would otherwise print an empty trail (exit 2, naming what exists).
fn refuse_unknown(
    settings: &Settings,
    args: &AuditArgs,
    known: &Known,
) -> Result<(), CommandError> {
    if let Some(app) = &args.app {
        let mut apps: BTreeSet<&str> = known.apps.iter().map(String::as_str).collect();
        apps.extend(settings.apps.iter().map(|a| a.name.as_str()));
        if !apps.contains(app.as_str()) {
            return Err(CommandError::Usage(format!(
                "unknown app {app:?}; configured or in the state: {}",
                super::list_names(apps.iter().copied())
            )));
        }
    }
    if let Some(user) = &args.user {
        if !known.persons.contains(user) {
            return Err(CommandError::Usage(format!(
                "unknown person {user:?}: the state has no HR record, link or audit entry for \
                 it; known: {}",
                super::list_names(known.persons.iter().map(String::as_str))
            )));
        }
    }
    Ok(())
}

/// `--since`, an RFC 3339 time.
fn parse_since(since: Option<&str>) -> Result<Option<DateTime<Utc>>, CommandError> {
    let Some(s) = since else {
        return Ok(None);
    };
    let at = DateTime::parse_from_rfc3339(s)
        .map_err(|e| CommandError::Usage(format!("--since {s:?} is not RFC 3339: {e}")))?;
    Ok(Some(at.with_timezone(&Utc)))
}

/// One line per audit row, or a line saying none matched.
fn text(rows: &[AuditRow]) -> String {
    let mut out = String::new();
    for r in rows {
        let changes = changes_text(&r.detail);
        let _ = writeln!(
            out,
            "{}  cycle {:<4} {:<10} {:<18} {:<8} {:<6} {}{}{}",
            r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            r.cycle_id
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            r.app,
            r.op.as_str(),
            r.person_key,
            r.result.as_str(),
            r.remote_id.as_deref().unwrap_or(""),
            if changes.is_empty() {
                String::new()
            } else {
                format!("  {changes}")
            },
            r.error
                .as_deref()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
    if rows.is_empty() {
        out.push_str("no audit entries match\n");
    }
    out
}

/// `path: old → new` for each change an audit row records, joined by `; `.
fn changes_text(detail: &Value) -> String {
    detail["changes"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    format!(
                        "{}: {} → {}",
                        c["path"].as_str().unwrap_or("?"),
                        c["old"],
                        c["new"]
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}
