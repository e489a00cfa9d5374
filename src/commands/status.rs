//! `hrsync status`: the state at a glance — last cycles, per-app health and counts, held
//! operations, quarantined records and persons, open conflicts. Reads only.

use std::collections::BTreeMap;
use std::fmt::Write;

use hrsync_state::{CycleKind, CycleRow, Store};
use serde_json::{json, Value};

use crate::cli::{SimpleFormat, StatusArgs};
use crate::config::Settings;
use crate::error::{CommandError, CommandResult};

/// Runs `status`.
pub async fn run(settings: &Settings, args: StatusArgs) -> CommandResult {
    let doc = document(settings)
        .await
        .map_err(|e| CommandError::Runtime(e.into()))?;
    match args.format {
        SimpleFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Runtime(e.into()))?
        ),
        SimpleFormat::Text => match doc["message"].as_str() {
            Some(msg) if doc["state"].is_null() => println!("{}", crate::report::printable(msg)),
            _ => print!("{}", crate::report::printable(&text(&doc))),
        },
    }
    Ok(0)
}

/// The document of `status --format json`, also served at the admin endpoint's
/// `GET /v1/status`: read-only, without the writer lock, so a running cycle never blocks it.
pub async fn document(settings: &Settings) -> Result<Value, hrsync_state::StateError> {
    if !settings.state_path.exists() {
        let msg = format!(
            "no state yet at {} (no cycle has run)",
            settings.state_path.display()
        );
        return Ok(json!({"state": null, "message": msg}));
    }
    let store = Store::open_read_only(&settings.state_path).await?;
    collect(settings, &store).await
}

/// Gathers the status document (the JSON form; the text form is rendered from it).
pub async fn collect(
    settings: &Settings,
    store: &Store,
) -> Result<Value, hrsync_state::StateError> {
    let cycles = store.recent_cycles(10).await?;
    let known = Known {
        counts: store.link_counts().await?,
        health: store.app_health().await?,
        held: store.held(None).await?,
        opq: store.op_quarantine(None).await?,
        // Conflicts are only known when the app was read (resync); persons set aside for
        // an app are decided by every cycle. Each comes from the newest cycle that covered
        // the app, so a later cycle of another kind or of other apps does not hide them.
        resyncs: store
            .recent_summaries(Some(CycleKind::Resync), SUMMARY_LOOKBACK)
            .await?,
        any: store.recent_summaries(None, SUMMARY_LOOKBACK).await?,
    };
    let records = store.record_quarantine().await?;
    let mut apps = Vec::new();
    for a in &settings.apps {
        let params = crate::engine::capabilities::refused_params(store, &a.name).await;
        apps.push(app_status(&known, a, params));
    }
    // What the newest cycle that read the sources said about them (warnings, absence held).
    let sources = known
        .any
        .iter()
        .find_map(|c| c.summary.get("sources").filter(|v| v.is_array()))
        .cloned()
        .unwrap_or(json!([]));
    Ok(json!({
        "state": settings.state_path,
        "sources": sources,
        "cycles": cycles,
        "apps": apps,
        "quarantined_records": records,
    }))
}

/// What the state holds that the status of every app draws on.
struct Known {
    counts: BTreeMap<String, hrsync_state::LinkCounts>,
    health: Vec<hrsync_state::AppHealth>,
    held: Vec<hrsync_state::HeldOp>,
    opq: Vec<hrsync_state::OpQuarantine>,
    resyncs: Vec<CycleRow>,
    any: Vec<CycleRow>,
}

/// One app's part of the status document.
fn app_status(k: &Known, a: &crate::config::AppSettings, refused_params: Vec<String>) -> Value {
    let c = k.counts.get(&a.name).copied().unwrap_or_default();
    let h = k.health.iter().find(|h| h.app == a.name);
    let (conflicts, found_by) = match latest_for_app(&k.resyncs, &a.name) {
        Some((cycle, app)) => (
            app["conflicts"].clone(),
            json!({"cycle": cycle.id, "at": cycle.finished_at}),
        ),
        None => (json!([]), Value::Null),
    };
    let latest = latest_for_app(&k.any, &a.name).map(|(_, app)| app);
    json!({
        "name": a.name,
        "profile": a.profile,
        "accounts": {"active": c.active, "inactive": c.inactive, "deleted": c.deleted},
        "health": h.map(|h| json!({
            "circuit": h.circuit.as_str(),
            "last_error": h.last_error,
            "last_success_at": h.last_success_at,
            "opened_at": h.opened_at,
        })),
        "held": k.held.iter().filter(|x| x.app == a.name).collect::<Vec<_>>(),
        "quarantined": k.opq.iter().filter(|x| x.app == a.name).collect::<Vec<_>>(),
        "quarantined_persons": list_of(latest, "quarantined"),
        // Creates and updates the plan refused (the app's known rules), never sent.
        "refused": list_of(latest, "refused"),
        "conflicts_found_by": found_by,
        "conflicts": conflicts,
        "refused_list_params": refused_params,
    })
}

/// A list from an app's part of a cycle summary; empty when there is none.
fn list_of(app: Option<&Value>, field: &str) -> Value {
    app.map(|a| a[field].clone())
        .filter(Value::is_array)
        .unwrap_or(json!([]))
}

/// How many recent cycles `status` looks through for the latest one covering each app.
const SUMMARY_LOOKBACK: usize = 200;

/// The newest cycle among `cycles` (newest first) that covered `app` whole, with the app's
/// part of its summary. A surgical `--user` cycle saw only some persons, and a cycle that
/// could not reach or read the app learned nothing about it: both are passed over.
fn latest_for_app<'a>(cycles: &'a [CycleRow], app: &str) -> Option<(&'a CycleRow, &'a Value)> {
    let whole = |c: &&CycleRow| {
        c.summary["only_users"]
            .as_array()
            .is_none_or(|u| u.is_empty())
    };
    cycles.iter().filter(whole).find_map(|c| {
        c.summary
            .get("apps")
            .and_then(Value::as_array)
            .and_then(|apps| apps.iter().find(|x| x["name"] == app))
            .filter(|x| x["circuit_open"].is_null())
            .map(|x| (c, x))
    })
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// The text form: the last cycles, each app, then the HR records set aside.
fn text(doc: &Value) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "hrsync status — state {}", s(&doc["state"]));
    write_cycles(&mut out, doc);
    write_source_notes(&mut out, doc);
    for a in doc["apps"].as_array().into_iter().flatten() {
        write_app_health(&mut out, a);
        write_app_holds(&mut out, a);
        write_app_conflicts(&mut out, a);
    }
    write_record_quarantine(&mut out, doc);
    out
}

fn write_cycles(out: &mut String, doc: &Value) {
    let _ = writeln!(out, "\nlast cycles:");
    for c in doc["cycles"].as_array().into_iter().flatten().take(5) {
        let _ = writeln!(
            out,
            "  #{:<5} {:<7} {:<12} started {}  finished {}{}",
            s(&c["id"]),
            s(&c["kind"]),
            s(&c["status"]),
            s(&c["started_at"]),
            s(&c["finished_at"]),
            c["error"]
                .as_str()
                .map(|e| format!("  error: {e}"))
                .unwrap_or_default()
        );
    }
}

/// Source warnings and why absence is held, from the newest cycle that read the sources.
fn write_source_notes(out: &mut String, doc: &Value) {
    for src in doc["sources"].as_array().into_iter().flatten() {
        for w in src["warnings"].as_array().into_iter().flatten() {
            let _ = writeln!(out, "! warning: source {}: {}", s(&src["name"]), s(w));
        }
        if let Some(why) = src["absence_held"].as_str() {
            let _ = writeln!(out, "! absence held: source {}: {why}", s(&src["name"]));
        }
    }
}

/// The app's line (accounts, circuit) and its last error.
fn write_app_health(out: &mut String, a: &Value) {
    let acc = &a["accounts"];
    let circuit = a["health"]["circuit"].as_str().unwrap_or("unknown");
    let _ = writeln!(
        out,
        "\napp {} (profile {}): {} active, {} inactive, {} deleted · circuit {}",
        s(&a["name"]),
        s(&a["profile"]),
        s(&acc["active"]),
        s(&acc["inactive"]),
        s(&acc["deleted"]),
        circuit
    );
    if let Some(e) = a["health"]["last_error"].as_str() {
        let _ = writeln!(out, "  last error: {e}");
    }
    let refused: Vec<&str> = a["refused_list_params"]
        .as_array()
        .map(|p| p.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !refused.is_empty() {
        let _ = writeln!(
            out,
            "  list parameters the app refused, left out: {}",
            refused.join(", ")
        );
    }
}

/// Operations held by a guard, operations quarantined after failures, persons not pushed
/// at all, and creates or updates the app is known to refuse.
fn write_app_holds(out: &mut String, a: &Value) {
    for h in a["held"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  # held {} {}: {}",
            s(&h["op"]),
            s(&h["person_key"]),
            s(&h["reason"])
        );
    }
    for q in a["quarantined"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  ✗ quarantined {} ({} failures, next attempt {}): {}",
            s(&q["person_key"]),
            s(&q["failures"]),
            s(&q["next_attempt_at"]),
            s(&q["last_error"])
        );
    }
    for q in a["quarantined_persons"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  ✗ quarantined {} (not pushed): {}",
            s(&q["key"]),
            s(&q["reason"])
        );
    }
    for r in a["refused"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  ✗ cannot {} {}{} (refused by the app, not sent): {}",
            s(&r["op"]),
            s(&r["key"]),
            r["userName"]
                .as_str()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default(),
            s(&r["reason"])
        );
    }
}

/// Open conflicts, with the resync cycle that found them.
fn write_app_conflicts(out: &mut String, a: &Value) {
    let found_by = a["conflicts_found_by"]["cycle"]
        .as_i64()
        .map(|id| format!("  (seen by resync cycle #{id})"))
        .unwrap_or_default();
    for c in a["conflicts"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "  ! conflict {} {}: app {}, HR {} (rule: {}){found_by}",
            s(&c["key"]),
            s(&c["path"]),
            c["app"],
            c["hr"],
            s(&c["rule"])
        );
    }
}

fn write_record_quarantine(out: &mut String, doc: &Value) {
    let recs = doc["quarantined_records"].as_array();
    let Some(recs) = recs.filter(|r| !r.is_empty()) else {
        return;
    };
    let _ = writeln!(out, "\nquarantined HR records:");
    for r in recs {
        // The stored record names the person `key` (absent when it could not be read).
        let key = r["key"]
            .as_str()
            .map(|k| format!(" {k}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} {}{key}{}: {}",
            s(&r["source"]),
            s(&r["position"]),
            r["field"]
                .as_str()
                .map(|f| format!(" field {f}"))
                .unwrap_or_default(),
            s(&r["reason"])
        );
    }
}
