//! Reports: renderers of a [`Plan`](crate::reconcile::Plan) (text like `terraform plan`,
//! versioned JSON, markdown for change tickets, self-contained HTML) and of cycle results.

mod html;
mod json;
pub mod log_writer;
mod markdown;
pub mod outcome;
mod rows;
pub mod terminal;
mod text;
pub mod write;

use crate::reconcile::Plan;

pub use terminal::printable;
pub use text::{format_count, render_text};

/// Output format of `plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable, like `terraform plan`.
    Text,
    /// Versioned JSON (`format_version` 1).
    Json,
    /// Markdown, for change tickets.
    Markdown,
    /// One self-contained HTML file with a summary chart.
    Html,
}

/// A plan report renderer.
pub trait Renderer {
    /// Renders the plan.
    fn render(&self, plan: &Plan) -> String;

    /// Writes the plan to `out`: what [`Renderer::render`] gives, unless the format can be
    /// written as it is produced (a plan of a million creates is gigabytes of text).
    fn write(&self, plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        out.write_all(self.render(plan).as_bytes())
    }
}

/// The renderer for a format.
pub fn renderer(format: Format) -> Box<dyn Renderer> {
    match format {
        Format::Text => Box::new(text::TextRenderer),
        Format::Json => Box::new(json::JsonRenderer),
        Format::Markdown => Box::new(markdown::MarkdownRenderer),
        Format::Html => Box::new(html::HtmlRenderer),
    }
}

/// Shortens the enterprise extension URN in paths for human-readable reports.
pub fn short_path(path: &str) -> String {
    path.replace(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
        "urn:…:enterprise:2.0:User:",
    )
}

/// The words a report puts after an operation: its reason, else the person's summary. A
/// rebase sends nothing, and says so, so a reviewer does not take it for a write.
pub fn note(op: &crate::reconcile::Operation) -> Option<String> {
    if op.op == crate::reconcile::OpKind::Rebase {
        return Some(
            op.reason
                .clone()
                .unwrap_or_else(|| "the app's value becomes the new base; nothing is sent".into()),
        );
    }
    op.reason
        .clone()
        .or_else(|| op.summary.as_deref().map(str::to_string))
}

/// A JSON value as a report shows it (strings quoted, null as "(none)").
pub fn show_value(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => "(none)".into(),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests;
