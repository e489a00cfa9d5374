//! The markdown plan report, for pasting into a change ticket.

use std::fmt::Write;

use super::{short_path, show_value, Renderer};
use crate::reconcile::Plan;

/// Markdown renderer.
pub struct MarkdownRenderer;

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl Renderer for MarkdownRenderer {
    fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# hrsync plan\n\nGenerated {}.\n", plan.generated_at);
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
        let _ = writeln!(
            out,
            "\n| app | create | update | deactivate | reactivate | delete | membership | conflicts | held |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for a in &plan.apps {
            let s = &a.summary;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&a.name),
                s.create,
                s.update,
                s.deactivate,
                s.reactivate,
                s.delete,
                s.membership,
                s.conflict,
                s.held
            );
        }
        for a in &plan.apps {
            if a.operations.is_empty() && a.conflicts.is_empty() && a.held.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n## {} (profile {})\n",
                cell(&a.name),
                cell(&a.profile)
            );
            let _ = writeln!(out, "| op | key | userName | details |\n|---|---|---|---|");
            for op in &a.operations {
                let mut details: Vec<String> = op
                    .changes
                    .iter()
                    .map(|c| {
                        format!(
                            "`{}`: {} → {}",
                            short_path(&c.path),
                            show_value(c.old.as_ref()),
                            show_value(c.new.as_ref())
                        )
                    })
                    .collect();
                if !op.members.is_empty() {
                    details.push(op.members.join(", "));
                }
                if let Some(r) = op.reason.as_ref().or(op.summary.as_ref()) {
                    details.insert(0, r.clone());
                }
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    op.op.as_str(),
                    cell(&op.key),
                    cell(op.user_name.as_deref().unwrap_or("")),
                    cell(&details.join("; "))
                );
            }
            for c in &a.conflicts {
                let _ = writeln!(
                    out,
                    "| conflict | {} | {} | `{}`: app {}, HR {} (rule: {}) |",
                    cell(&c.key),
                    cell(c.user_name.as_deref().unwrap_or("")),
                    short_path(&c.path),
                    cell(&show_value(c.app.as_ref())),
                    cell(&show_value(c.hr.as_ref())),
                    c.rule.as_str()
                );
            }
            for h in &a.held {
                let _ = writeln!(
                    out,
                    "| held {} | {} | {} | {} |",
                    h.operation.op.as_str(),
                    cell(&h.operation.key),
                    cell(h.operation.user_name.as_deref().unwrap_or("")),
                    cell(&h.reason)
                );
            }
        }
        if !plan.quarantined.is_empty() {
            let _ = writeln!(out, "\n## Quarantined HR records\n\n| source | where | key | reason |\n|---|---|---|---|");
            for q in &plan.quarantined {
                let at = q
                    .line
                    .map(|l| format!("line {l}"))
                    .or_else(|| q.position.clone())
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    cell(&q.source),
                    cell(&at),
                    cell(q.key.as_deref().unwrap_or("")),
                    cell(&q.reason)
                );
            }
        }
        out
    }
}
