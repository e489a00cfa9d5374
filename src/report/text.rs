//! The text plan report, read like `terraform plan`: a summary per app, then one line per
//! operation with key, userName and, for updates, each changed attribute `old → new`.

use std::fmt::Write;

use super::{short_path, show_value, Renderer};
use crate::reconcile::{AppPlan, MatchDecision, OpKind, Operation, Plan};

/// Text renderer.
pub struct TextRenderer;

impl Renderer for TextRenderer {
    fn render(&self, plan: &Plan) -> String {
        render_text(plan)
    }
}

/// `1204` → `1,204`.
pub fn format_count(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Renders a plan as text, control characters escaped.
pub fn render_text(plan: &Plan) -> String {
    super::printable(&plan_text(plan)).into_owned()
}

fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    let sources: Vec<String> = plan
        .sources
        .iter()
        .map(|s| {
            let mut t = format!("{} {} records", s.name, format_count(s.records));
            if s.quarantined > 0 {
                t.push_str(&format!(" ({} quarantined: see below)", s.quarantined));
            }
            t
        })
        .collect();
    let _ = writeln!(out, "hrsync plan — sources: {}", sources.join(", "));
    for s in &plan.sources {
        for w in &s.warnings {
            let _ = writeln!(out, "! warning: source {}: {w}", s.name);
        }
        if let Some(why) = &s.absence_held {
            let _ = writeln!(out, "! absence held: source {}: {why}", s.name);
        }
    }
    for app in &plan.apps {
        out.push('\n');
        render_app(&mut out, app);
    }
    if !plan.quarantined.is_empty() {
        out.push('\n');
        let items: Vec<String> = plan
            .quarantined
            .iter()
            .map(|q| {
                let mut t = q.source.clone();
                if let Some(l) = q.line {
                    t.push_str(&format!(" line {l}"));
                } else if let Some(p) = &q.position {
                    t.push_str(&format!(" {p}"));
                }
                if let Some(k) = &q.key {
                    t.push_str(&format!(" {k}"));
                }
                if let Some(f) = &q.field {
                    t.push_str(&format!(" {f}:"));
                }
                t.push_str(&format!(" {}", q.reason));
                t
            })
            .collect();
        let _ = writeln!(out, "quarantined: {}", items.join(" · "));
    }
    out
}

fn summary_line(app: &AppPlan) -> String {
    if app.is_empty()
        && app.refused.is_empty()
        && app.conflicts.is_empty()
        && app.held.is_empty()
        && app.quarantined.is_empty()
        && app.orphans.is_empty()
        && app.vanished.is_empty()
    {
        return "no changes".into();
    }
    let s = &app.summary;
    let mut parts = vec![format!("{} to create", s.create)];
    if s.link > 0 {
        parts.push(format!("{} to link", s.link));
    }
    if s.skip > 0 {
        parts.push(format!("{} to skip", s.skip));
    }
    if s.fail > 0 {
        parts.push(format!("{} to fail", s.fail));
    }
    parts.push(format!("{} to update", s.update));
    parts.push(format!("{} to deactivate", s.deactivate));
    if s.reactivate > 0 {
        parts.push(format!("{} to reactivate", s.reactivate));
    }
    parts.push(format!("{} to delete", s.delete));
    if s.group_create > 0 {
        parts.push(format!(
            "{} group{} to create",
            s.group_create,
            if s.group_create == 1 { "" } else { "s" }
        ));
    }
    if s.membership > 0 {
        parts.push(format!("{} membership changes", s.membership));
    }
    parts.push(format!(
        "{} conflict{}",
        s.conflict,
        if s.conflict == 1 { "" } else { "s" }
    ));
    if s.held > 0 {
        parts.push(format!("{} held", s.held));
    }
    if !app.quarantined.is_empty() {
        parts.push(format!("{} quarantined", app.quarantined.len()));
    }
    if s.refused > 0 {
        parts.push(format!("{} refused", s.refused));
    }
    parts.join(", ")
}

fn render_app(out: &mut String, app: &AppPlan) {
    let head = format!("app {} (profile {})", app.name, app.profile);
    let _ = writeln!(out, "{head:<28}{}", summary_line(app));
    if let Some(why) = &app.accounts_unread {
        let _ = writeln!(
            out,
            "  # accounts not read ({why}): each create looks its account up at apply"
        );
    }
    for op in &app.operations {
        op_line(out, op, "");
    }
    for c in &app.conflicts {
        let _ = writeln!(
            out,
            "  ! {:<12} {:<6} {:<32} {}: app {}, HR {} (rule: {})",
            "conflict",
            c.key,
            c.user_name.as_deref().unwrap_or("-"),
            short_path(&c.path),
            show_value(c.app.as_ref()),
            show_value(c.hr.as_ref()),
            c.rule.as_str()
        );
    }
    for h in &app.held {
        op_line(out, &h.operation, "held: ");
    }
    if let Some(h) = app.held.first() {
        let _ = writeln!(
            out,
            "  # {} operation(s) held: {} (run with --allow-mass-deprovision to release)",
            app.held.len(),
            h.reason
        );
    }
    for r in &app.refused {
        let _ = writeln!(
            out,
            "  ✗ cannot {:<5} {:<6} {:<32} {}",
            r.op.as_str(),
            r.key,
            r.user_name.as_deref().unwrap_or("-"),
            r.reason
        );
    }
    for q in &app.quarantined {
        let _ = writeln!(out, "  ✗ {:<12} {:<6} {}", "quarantined", q.key, q.reason);
    }
    for o in &app.orphans {
        let _ = writeln!(
            out,
            "  ? orphan       {:<6} {:<32} not managed by hrsync{}",
            o.external_id.as_deref().unwrap_or("-"),
            o.user_name,
            if o.active { "" } else { " (inactive)" }
        );
    }
    for k in &app.vanished {
        let _ = writeln!(
            out,
            "  ? vanished     {k:<6} linked account no longer exists in the app"
        );
    }
}

fn symbol(op: OpKind) -> &'static str {
    match op {
        OpKind::Create | OpKind::GroupCreate | OpKind::MembershipAdd => "+",
        OpKind::Update | OpKind::Rebase => "~",
        OpKind::Reactivate => "↺",
        OpKind::Deactivate | OpKind::MembershipRemove => "-",
        OpKind::Delete | OpKind::GroupDelete => "x",
    }
}

fn op_line(out: &mut String, op: &Operation, prefix: &str) {
    let (mark, word) = match (op.op, op.adopt.as_ref().map(|a| a.decision)) {
        // A create that meets an existing account: what apply does with it instead.
        (OpKind::Create, Some(MatchDecision::Link)) => ("=", "link"),
        (OpKind::Create, Some(MatchDecision::Skip)) => ("?", "skip"),
        (OpKind::Create, Some(MatchDecision::Fail)) => ("!", "fail"),
        (kind, _) => (symbol(kind), op_word(kind)),
    };
    op_line_rest(out, op, prefix, mark, word);
}

/// The word for an operation kind, within the 12-character column.
fn op_word(kind: OpKind) -> &'static str {
    match kind {
        OpKind::GroupCreate => "create group",
        // Within the 12-character column, so keys and names stay aligned.
        OpKind::MembershipRemove => "remove from",
        OpKind::MembershipAdd => "add to",
        OpKind::GroupDelete => "delete group",
        other => other.as_str(),
    }
}

fn op_line_rest(out: &mut String, op: &Operation, prefix: &str, mark: &str, word: &str) {
    let what = match op.op {
        OpKind::MembershipAdd | OpKind::MembershipRemove => op.members.join(", "),
        _ => op.user_name.clone().unwrap_or_default(),
    };
    let note = super::note(op).unwrap_or_default();
    let line = format!(
        "  {} {prefix}{:<12} {:<6} {:<32} {}",
        mark, word, op.key, what, note
    );
    let _ = writeln!(out, "{}", line.trim_end());
    for c in &op.changes {
        let _ = writeln!(
            out,
            "                  {}: {} → {}",
            short_path(&c.path),
            show_value(c.old.as_ref()),
            show_value(c.new.as_ref())
        );
    }
}
