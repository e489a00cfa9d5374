//! The HTML plan report: one self-contained file (inline CSS and SVG, no scripts, no
//! external resources): the per-app summary as a labelled bar chart and a table of counts,
//! the sources read, then per app its operations, conflicts and held operations; readable
//! on screen and on paper.

use std::fmt::Write;

use super::rows::{action_rows, conflict_cells, held_cells, quarantine_rows, Detail};
use super::text::format_count;
use super::Renderer;
use crate::reconcile::{AppPlan, Plan};

/// HTML renderer.
pub struct HtmlRenderer;

fn esc(s: &str) -> String {
    super::printable(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Summary columns in JSON order, with their bar colours.
const BARS: &[(&str, &str)] = &[
    ("create", "#2e7d32"),
    ("update", "#1565c0"),
    ("deactivate", "#c62828"),
    ("reactivate", "#6a1b9a"),
    ("delete", "#4e342e"),
    ("group_create", "#558b2f"),
    ("membership", "#00838f"),
    ("conflict", "#ef6c00"),
    ("held", "#616161"),
];

/// Colours survive printing; tables break between rows, not inside them.
const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;\
padding:4px 8px;text-align:left;font-size:14px;vertical-align:top}th{background:#eee}\
td.n{text-align:right;font-variant-numeric:tabular-nums}code{background:#f4f4f4}\
.legend span{display:inline-block;margin-right:1em}\
@media print{body{margin:0;font-size:11pt}*{print-color-adjust:exact;-webkit-print-color-adjust:exact}\
h2,h3{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}\
td,th{font-size:10pt}}";

impl Renderer for HtmlRenderer {
    fn render(&self, plan: &Plan) -> String {
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hrsync plan</title>\n<style>{STYLE}</style></head><body>\n<h1>hrsync plan</h1><p>Generated {}</p>\n<h2>Summary</h2>\n",
            esc(&plan.generated_at)
        );
        out.push_str(&chart(plan));
        out.push_str(&summary_table(plan));
        out.push_str(&sources(plan));
        for a in &plan.apps {
            out.push_str(&app_section(a));
        }
        out.push_str("</body></html>\n");
        out
    }
}

/// A table with a header row; `numeric` marks the columns right-aligned as numbers.
fn table(head: &[&str], rows: &[Vec<String>], numeric: &[usize]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead>\n");
    for r in rows {
        out.push_str("<tr>");
        for (i, c) in r.iter().enumerate() {
            let class = if numeric.contains(&i) {
                " class=\"n\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{c}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn counts(a: &AppPlan) -> [usize; 9] {
    let s = &a.summary;
    [
        s.create,
        s.update,
        s.deactivate,
        s.reactivate,
        s.delete,
        s.group_create,
        s.membership,
        s.conflict,
        s.held,
    ]
}

/// Every summary count per app, as numbers anyone can read (and print).
fn summary_table(plan: &Plan) -> String {
    let mut head = vec!["app"];
    head.extend(BARS.iter().map(|(l, _)| *l));
    let rows: Vec<Vec<String>> = plan
        .apps
        .iter()
        .map(|a| {
            let mut r = vec![esc(&a.name)];
            r.extend(counts(a).iter().map(|n| format_count(*n)));
            r
        })
        .collect();
    table(&head, &rows, &(1..=BARS.len()).collect::<Vec<_>>())
}

/// Records read and set aside per source, then each quarantined record with its reason.
fn sources(plan: &Plan) -> String {
    let mut out = String::from("<h2>Sources</h2>\n");
    let rows: Vec<Vec<String>> = plan
        .sources
        .iter()
        .map(|s| {
            let mut notes: Vec<String> = s.warnings.iter().map(|w| esc(w)).collect();
            if let Some(why) = &s.absence_held {
                notes.push(format!("absence held: {}", esc(why)));
            }
            vec![
                esc(&s.name),
                format_count(s.records),
                format_count(s.quarantined),
                notes.join("<br>"),
            ]
        })
        .collect();
    out.push_str(&table(
        &["source", "records read", "quarantined", "notes"],
        &rows,
        &[1, 2],
    ));
    let quarantined: Vec<Vec<String>> = quarantine_rows(plan)
        .into_iter()
        .map(|r| r.iter().map(|c| esc(c)).collect())
        .collect();
    if !quarantined.is_empty() {
        out.push_str("<h3>Quarantined HR records</h3>\n");
        out.push_str(&table(
            &["source", "where", "key", "reason"],
            &quarantined,
            &[],
        ));
    }
    out
}

/// One app: operations and findings, then conflicts and held operations as tables.
fn app_section(a: &AppPlan) -> String {
    let mut out = format!(
        "<h2>{} <small>(profile {})</small></h2>\n",
        esc(&a.name),
        esc(&a.profile)
    );
    if let Some(e) = &a.error {
        let _ = writeln!(out, "<p><strong>Not read:</strong> {}</p>", esc(e));
    }
    let rows: Vec<Vec<String>> = action_rows(a)
        .into_iter()
        .map(|r| {
            let details: Vec<String> = r
                .details
                .iter()
                .map(|d| match d {
                    Detail::Text(t) => esc(t),
                    Detail::Path { path, rest } => {
                        format!("<code>{}</code>: {}", esc(path), esc(rest))
                    }
                })
                .collect();
            vec![
                esc(&r.op),
                esc(&r.key),
                esc(&r.user_name),
                details.join("<br>"),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("<p>No changes.</p>\n");
    } else {
        out.push_str(&table(&["op", "key", "userName", "details"], &rows, &[]));
    }
    let escaped = |cells: &[String]| cells.iter().map(|c| esc(c)).collect::<Vec<_>>();
    let conflicts: Vec<Vec<String>> = conflict_cells(a).iter().map(|r| escaped(r)).collect();
    if !conflicts.is_empty() {
        let _ = writeln!(out, "<h3>Conflicts in {}</h3>", esc(&a.name));
        let head = [
            "key",
            "userName",
            "attribute",
            "app value",
            "HR value",
            "rule",
        ];
        out.push_str(&table(&head, &conflicts, &[]));
    }
    let held: Vec<Vec<String>> = held_cells(a).iter().map(|r| escaped(r)).collect();
    if !held.is_empty() {
        let _ = writeln!(out, "<h3>Held operations in {}</h3>", esc(&a.name));
        out.push_str(&table(&["op", "key", "userName", "held by"], &held, &[]));
    }
    out
}

/// A horizontal stacked bar per app, as inline SVG, each segment labelled with its count
/// and each bar with its total: nothing needs hovering to be read.
fn chart(plan: &Plan) -> String {
    let max = plan
        .apps
        .iter()
        .map(|a| counts(a).iter().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let (row_h, width, left) = (28, 560.0, 150.0);
    let height = row_h * plan.apps.len().max(1) + 10;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"operations per app\" font-family=\"system-ui,sans-serif\">\n",
        width as usize + left as usize + 90
    );
    for (i, a) in plan.apps.iter().enumerate() {
        let y = i * row_h + 5;
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 15,
            esc(&a.name)
        );
        let mut x = left;
        for (n, (label, color)) in counts(a).iter().zip(BARS) {
            if *n == 0 {
                continue;
            }
            let w = width * (*n as f64) / (max as f64);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{color}\"><title>{label}: {n}</title></rect>"
            );
            // A count is written inside its segment when it fits; the table below has all.
            let digits = format_count(*n);
            if w >= 8.0 * digits.len() as f64 + 4.0 {
                let _ = writeln!(
                    svg,
                    "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\" fill=\"#fff\" text-anchor=\"middle\">{digits}</text>",
                    x + w / 2.0,
                    y + 14
                );
            }
            x += w;
        }
        let total: usize = counts(a).iter().sum();
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{} total</text>",
            x + 6.0,
            y + 14,
            format_count(total)
        );
    }
    svg.push_str("</svg>\n<p class=\"legend\">");
    for (label, color) in BARS {
        let _ = write!(svg, "<span style=\"color:{color}\">■ {label}</span>");
    }
    svg.push_str("</p>\n");
    svg
}
