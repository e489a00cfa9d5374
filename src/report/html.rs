//! The HTML plan report: one self-contained file (inline CSS and SVG, no scripts, no
//! external resources) with the per-app summary as a bar chart and every operation.

use std::fmt::Write;

use super::rows::{app_rows, quarantine_rows, Detail};
use super::Renderer;
use crate::reconcile::Plan;

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

const BARS: &[(&str, &str)] = &[
    ("create", "#2e7d32"),
    ("update", "#1565c0"),
    ("deactivate", "#c62828"),
    ("reactivate", "#6a1b9a"),
    ("delete", "#4e342e"),
    ("membership", "#00838f"),
    ("conflict", "#ef6c00"),
    ("held", "#616161"),
];

impl Renderer for HtmlRenderer {
    fn render(&self, plan: &Plan) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>hrsync plan</title>\n<style>body{{font-family:system-ui,sans-serif;margin:2em;color:#222}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:14px}}code{{background:#f4f4f4}}.legend span{{display:inline-block;margin-right:1em}}</style></head><body>\n<h1>hrsync plan</h1><p>Generated {}</p>\n",
            esc(&plan.generated_at)
        );
        out.push_str(&chart(plan));
        for a in &plan.apps {
            let _ = write!(
                out,
                "<h2>{} <small>(profile {})</small></h2>\n<table><tr><th>op</th><th>key</th><th>userName</th><th>details</th></tr>\n",
                esc(&a.name),
                esc(&a.profile)
            );
            for r in app_rows(a) {
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
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&r.op),
                    esc(&r.key),
                    esc(&r.user_name),
                    details.join("<br>")
                );
            }
            out.push_str("</table>\n");
        }
        let quarantined = quarantine_rows(plan);
        if !quarantined.is_empty() {
            out.push_str("<h2>Quarantined HR records</h2><table><tr><th>source</th><th>where</th><th>key</th><th>reason</th></tr>\n");
            for [source, at, key, reason] in quarantined {
                let _ = writeln!(
                    out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&source),
                    esc(&at),
                    esc(&key),
                    esc(&reason)
                );
            }
            out.push_str("</table>\n");
        }
        out.push_str("</body></html>\n");
        out
    }
}

fn counts(a: &crate::reconcile::AppPlan) -> [usize; 8] {
    let s = &a.summary;
    [
        s.create,
        s.update,
        s.deactivate,
        s.reactivate,
        s.delete,
        s.membership,
        s.conflict,
        s.held,
    ]
}

/// A horizontal stacked bar per app, as inline SVG.
fn chart(plan: &Plan) -> String {
    let max = plan
        .apps
        .iter()
        .map(|a| counts(a).iter().sum::<usize>())
        .max()
        .unwrap_or(0)
        .max(1);
    let row_h = 26;
    let width = 600.0;
    let height = row_h * plan.apps.len().max(1) + 10;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"operations per app\">\n",
        width as usize + 160
    );
    for (i, a) in plan.apps.iter().enumerate() {
        let y = i * row_h + 5;
        let _ = writeln!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>",
            y + 16,
            esc(&a.name)
        );
        let mut x = 150.0;
        for (n, (label, color)) in counts(a).iter().zip(BARS) {
            if *n == 0 {
                continue;
            }
            let w = width * (*n as f64) / (max as f64);
            let _ = writeln!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{color}\"><title>{label}: {n}</title></rect>"
            );
            x += w;
        }
    }
    svg.push_str("</svg>\n<p class=\"legend\">");
    for (label, color) in BARS {
        let _ = write!(svg, "<span style=\"color:{color}\">■ {label}</span>");
    }
    svg.push_str("</p>\n");
    svg
}
