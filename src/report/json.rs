//! The JSON plan report: the [`Plan`] document itself, `format_version` 1, documented in the
//! README. Field names are the contract; additions are backwards compatible.

use super::Renderer;
use crate::reconcile::Plan;

/// JSON renderer (pretty-printed, stable key order).
pub struct JsonRenderer;

impl Renderer for JsonRenderer {
    fn render(&self, plan: &Plan) -> String {
        let mut s = serde_json::to_string_pretty(plan).unwrap_or_else(|e| {
            serde_json::json!({"format_version": 1, "error": e.to_string()}).to_string()
        });
        s.push('\n');
        s
    }

    fn write(&self, plan: &Plan, out: &mut dyn std::io::Write) -> std::io::Result<()> {
        // Written as it is serialised: the same text as `render`, never held whole.
        serde_json::to_writer_pretty(&mut *out, plan)?;
        out.write_all(b"\n")
    }
}
