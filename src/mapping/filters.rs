//! Filters hrsync adds to templates: `slug` for group names and `ref` for references to
//! other persons (the manager), resolved per app by the planner.

use minijinja::Environment;

/// Prefix that marks a rendered reference to another person's HR key.
pub const REF_MARKER: &str = "\u{1}ref:";

/// Registers hrsync's filters.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter("slug", |v: String| slug(&v));
    env.add_filter("ref", |v: minijinja::Value| {
        if v.is_undefined() || v.is_none() {
            return String::new();
        }
        let s = v.to_string();
        let s = s.trim();
        if s.is_empty() {
            String::new()
        } else {
            format!("{REF_MARKER}{s}")
        }
    });
}

/// Lowercase ASCII letters and digits joined by single dashes: "R&D Team" → "r-d-team".
pub fn slug(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut dash = false;
    for c in input.chars() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                out.push(l);
            }
            dash = false;
        } else if !out.is_empty() && !dash {
            out.push('-');
            dash = true;
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}
