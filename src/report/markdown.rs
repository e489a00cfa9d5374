//! The markdown plan report, for pasting into a change ticket.

use std::fmt::Write;

use super::rows::{app_rows, quarantine_rows, Detail};
use super::Renderer;
use crate::reconcile::{AppPlan, Plan};

/// Markdown renderer.
pub struct MarkdownRenderer;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Renderer for MarkdownRenderer {
    fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# hrsync plan\n\nGenerated {}.\n", plan.generated_at);
        write_sources(&mut out, plan);
        write_app_summaries(&mut out, plan);
        for a in &plan.apps {
            write_app_table(&mut out, a);
        }
        write_record_quarantine(&mut out, plan);
        super::printable(&out).into_owned()
    }
}

fn write_sources(out: &mut String, plan: &Plan) {
    let _ = writeln!(out, "| source | records | quarantined |\n|---|---:|---:|");
    for s in &plan.sources {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            cell(&s.name),
            s.records,
            s.quarantined
        );
    }
    for s in &plan.sources {
        for w in &s.warnings {
            let _ = writeln!(out, "\n**Warning** (source {}): {}", cell(&s.name), cell(w));
        }
        if let Some(why) = &s.absence_held {
            let _ = writeln!(
                out,
                "\n**Absence held** (source {}): {}",
                cell(&s.name),
                cell(why)
            );
        }
    }
}

/// One line of counts per app.
fn write_app_summaries(out: &mut String, plan: &Plan) {
    let _ = writeln!(
        out,
        "\n| app | create | update | deactivate | reactivate | delete | group_create | membership | conflicts | held |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for a in &plan.apps {
        let s = &a.summary;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            cell(&a.name),
            s.create,
            s.update,
            s.deactivate,
            s.reactivate,
            s.delete,
            s.group_create,
            s.membership,
            s.conflict,
            s.held
        );
    }
}

/// The app's section: one row per operation and finding; nothing when it has none.
fn write_app_table(out: &mut String, a: &AppPlan) {
    let rows = app_rows(a);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## {} (profile {})\n",
        cell(&a.name),
        cell(&a.profile)
    );
    let _ = writeln!(out, "| op | key | userName | details |\n|---|---|---|---|");
    for r in rows {
        let details: Vec<String> = r
            .details
            .iter()
            .map(|d| match d {
                Detail::Text(t) => cell(t),
                Detail::Path { path, rest } => format!("`{path}`: {}", cell(rest)),
            })
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            r.op,
            cell(&r.key),
            cell(&r.user_name),
            details.join("; ")
        );
    }
}

fn write_record_quarantine(out: &mut String, plan: &Plan) {
    let quarantined = quarantine_rows(plan);
    if quarantined.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n## Quarantined HR records\n\n| source | where | key | reason |\n|---|---|---|---|"
    );
    for [source, at, key, reason] in quarantined {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&source),
            cell(&at),
            cell(&key),
            cell(&reason)
        );
    }
}
