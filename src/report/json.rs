//! The JSON plan report: the [`Plan`] document itself, `format_version` 1, documented in the
//! README. Field names are the contract; additions are backwards compatible.

use super::Renderer;
use crate::reconcile::{Operation, Plan};

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
        // The same text as `render`, never held whole. The operations, most of a large
        // plan, are serialised on every core and put where the outline (the plan without
        // them) has each app's empty list.
        let outline = serde_json::to_string_pretty(&plan.outline())?;
        let Some(places) = operation_places(&outline, plan.apps.len()) else {
            serde_json::to_writer_pretty(&mut *out, plan)?;
            return out.write_all(b"\n");
        };
        let mut from = 0;
        for (app, (at, indent)) in plan.apps.iter().zip(places) {
            out.write_all(&outline.as_bytes()[from..at + OPEN.len()])?;
            if !app.operations.is_empty() {
                write_operations(&app.operations, indent + 2, out)?;
                out.write_all(format!("\n{:indent$}", "").as_bytes())?;
            }
            out.write_all(b"]")?;
            from = at + EMPTY.len();
        }
        out.write_all(&outline.as_bytes()[from..])?;
        out.write_all(b"\n")
    }
}

/// An app's operations key and its empty list in the outline, as `serde_json` prints them.
const EMPTY: &str = "\"operations\": []";
/// What of [`EMPTY`] stays when the list is filled.
const OPEN: &str = "\"operations\": [";

/// Where each app's empty operations list is in the outline, with the indent of its line;
/// `None` unless there is exactly one per app. Keys inside strings are escaped, so the
/// unescaped text occurs only where the outline has the key.
fn operation_places(outline: &str, apps: usize) -> Option<Vec<(usize, usize)>> {
    let places: Vec<(usize, usize)> = outline
        .match_indices(EMPTY)
        .map(|(at, _)| {
            let line = outline[..at].rfind('\n').map_or(0, |n| n + 1);
            (at, at - line)
        })
        .collect();
    (places.len() == apps).then_some(places)
}

/// Operations rendered per batch on every core, then written in order.
const BATCH: usize = 16_384;

/// Writes `ops` as the elements of a pretty-printed list at `indent` (the list's `[` and
/// `]` are the caller's): each element as `serde_json` prints it standalone, every line
/// after its first moved right by `indent`, which is how it prints nested.
fn write_operations(
    ops: &[Operation],
    indent: usize,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use rayon::prelude::*;
    let pad = " ".repeat(indent);
    for (b, batch) in ops.chunks(BATCH).enumerate() {
        let parts: Vec<Vec<u8>> = batch
            .par_chunks(256)
            .enumerate()
            .map(|(c, chunk)| {
                let mut buf = Vec::new();
                for (i, op) in chunk.iter().enumerate() {
                    let first = b == 0 && c == 0 && i == 0;
                    buf.extend_from_slice(if first { b"\n" } else { b",\n" });
                    buf.extend_from_slice(pad.as_bytes());
                    let text = serde_json::to_vec_pretty(op)?;
                    for (n, line) in text.split(|&x| x == b'\n').enumerate() {
                        if n > 0 {
                            buf.push(b'\n');
                            buf.extend_from_slice(pad.as_bytes());
                        }
                        buf.extend_from_slice(line);
                    }
                }
                Ok(buf)
            })
            .collect::<Result<_, serde_json::Error>>()?;
        for part in parts {
            out.write_all(&part)?;
        }
    }
    Ok(())
}
