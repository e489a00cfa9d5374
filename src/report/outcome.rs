//! The result of an executing cycle (apply, resync, daemon, demo) as text: per app, what
//! was done, what failed and why, what was held or skipped.

use std::fmt::Write;

use crate::engine::{AppOutcome, CycleReport};
use crate::reconcile::AppPlan;

/// Renders a cycle's outcome, control characters escaped.
pub fn render(report: &CycleReport) -> String {
    super::printable(&outcome_text(report)).into_owned()
}

fn outcome_text(report: &CycleReport) -> String {
    let mut out = String::new();
    let id = report
        .cycle_id
        .map(|i| format!(" (cycle {i})"))
        .unwrap_or_default();
    let _ = writeln!(out, "hrsync result{id}");
    let lacking = report.lacking_access();
    for app in &report.plan.apps {
        let o = report.outcomes.iter().find(|o| o.app == app.name);
        write_app_counts(&mut out, app, o);
        if let Some(o) = o {
            write_app_problems(&mut out, o);
        }
        write_app_findings(&mut out, app);
        if let Some(persons) = lacking.get(&app.name) {
            write_lacking(&mut out, persons);
        }
    }
    if !report.plan.quarantined.is_empty() {
        let _ = writeln!(
            out,
            "{} HR record(s) quarantined at the source (see `hrsync status`)",
            report.plan.quarantined.len()
        );
    }
    out
}

/// The app's line: what was done, by kind, how much failed and how much was held.
fn write_app_counts(out: &mut String, app: &AppPlan, o: Option<&AppOutcome>) {
    let done = |k: &str| o.and_then(|o| o.done.get(k)).copied().unwrap_or(0);
    let failed = o.map_or(0, |o| o.failed.len());
    let _ = writeln!(
        out,
        "app {:<22} created {}, linked {}, updated {}, deactivated {}, reactivated {}, deleted {}, groups {}, memberships {} · {} failed{}",
        app.name,
        done("create"),
        done("adopt") + done("relink"),
        done("update") + done("rebase"),
        done("deactivate"),
        done("reactivate"),
        done("delete"),
        done("group_create") + done("group_delete"),
        done("membership_add") + done("membership_remove"),
        failed,
        if app.held.is_empty() {
            String::new()
        } else {
            format!(", {} held", app.held.len())
        }
    );
}

/// An open circuit, the failed operations and the skipped ones (those skipped because the
/// circuit is open are said once, by the circuit).
fn write_app_problems(out: &mut String, o: &AppOutcome) {
    if let Some(c) = &o.circuit_open {
        let _ = writeln!(out, "  ! unhealthy: {c}");
    }
    for f in &o.failed {
        let _ = writeln!(out, "  ✗ {} {}: {}", f.op, f.key, f.error);
    }
    let skipped = o
        .skipped
        .iter()
        .filter(|s| !s.error.starts_with("circuit open"));
    for s in skipped {
        let _ = writeln!(out, "  … skipped {} {}: {}", s.op, s.key, s.error);
    }
}

/// How many persons still lack the access HR gives them, and why.
fn write_lacking(out: &mut String, persons: &std::collections::BTreeMap<String, &'static str>) {
    let mut why: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for w in persons.values() {
        *why.entry(w).or_default() += 1;
    }
    let parts: Vec<String> = why.iter().map(|(w, n)| format!("{n} {w}")).collect();
    let _ = writeln!(
        out,
        "  ! {} person(s) still without the access HR gives them: {}",
        persons.len(),
        parts.join(", ")
    );
}

/// What the plan held, set aside and found in conflict.
fn write_app_findings(out: &mut String, app: &AppPlan) {
    if let Some(h) = app.held.first() {
        let _ = writeln!(
            out,
            "  # held {} deprovision(s): {} (rerun with --allow-mass-deprovision after review)",
            app.held.len(),
            h.reason
        );
    }
    for q in &app.quarantined {
        let _ = writeln!(out, "  ✗ quarantined {}: {}", q.key, q.reason);
    }
    for r in &app.refused {
        let _ = writeln!(out, "  ✗ cannot {} {}: {}", r.op.as_str(), r.key, r.reason);
    }
    for c in &app.conflicts {
        let _ = writeln!(
            out,
            "  ! conflict {} {}: app {}, HR {} (rule: {})",
            c.key,
            super::short_path(&c.path),
            super::show_value(c.app.as_ref()),
            super::show_value(c.hr.as_ref()),
            c.rule.as_str()
        );
    }
}
