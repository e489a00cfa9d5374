//! Golden tests of the plan reports: a fixed plan renders to exactly the committed text
//! and JSON (`UPDATE_GOLDEN=1 cargo test` rewrites them after an intended change).
#![allow(clippy::panic)]

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::reconcile::plan::{AppQuarantine, Orphan};
use crate::reconcile::*;

fn sample_plan() -> Plan {
    let mut slack = AppPlan::new("slack", "slack");
    let mut create = Operation::new(OpKind::Create, "E1402");
    create.user_name = Some("nia.okafor@corp.example".into());
    create.summary = Some("Engineering · Backend Engineer".into());
    create.active = Some(true);
    create.desired = std::sync::Arc::new(crate::mapping::AttrMap::from(BTreeMap::from([
        ("userName".to_string(), json!("nia.okafor@corp.example")),
        ("title".to_string(), json!("Backend Engineer")),
    ])));
    let mut update = Operation::new(OpKind::Update, "E1001");
    update.user_name = Some("sven.kim@corp.example".into());
    update.remote_id = Some("U1001".into());
    update.changes = vec![
        Change {
            path: "title".into(),
            old: Some(json!("Engineer")),
            new: Some(json!("Senior Engineer")),
        },
        Change {
            path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department".into(),
            old: Some(json!("Support")),
            new: Some(json!("Engineering")),
        },
    ];
    let mut deactivate = Operation::new(OpKind::Deactivate, "E0999");
    deactivate.user_name = Some("rosa.silva@corp.example".into());
    deactivate.remote_id = Some("U0999".into());
    deactivate.reason = Some("terminated 2026-11-20".into());
    let mut reactivate = Operation::new(OpKind::Reactivate, "E0777");
    reactivate.user_name = Some("omar.farouk@corp.example".into());
    reactivate.remote_id = Some("U0777".into());
    reactivate.reason = Some("rehire or return: same account reactivated".into());
    slack.operations = vec![create, update, deactivate, reactivate];
    slack.conflicts = vec![Conflict {
        key: "E0500".into(),
        user_name: Some("lena.haddad@corp.example".into()),
        path: "title".into(),
        app: Some(json!("Team Lead")),
        hr: Some(json!("Engineer")),
        rule: ConflictRule::Report,
    }];
    slack.quarantined = vec![AppQuarantine {
        key: "E2000".into(),
        reason: "userName \"a@corp.example\" is also mapped from E2001".into(),
    }];
    slack.orphans = vec![Orphan {
        id: "U9".into(),
        user_name: "old.contractor@corp.example".into(),
        external_id: None,
        active: true,
    }];
    slack.finish();
    let mut github = AppPlan::new("github", "github");
    github.finish();
    Plan {
        format_version: 1,
        generated_at: "2026-11-22T09:00:00Z".into(),
        sources: vec![SourceSummary {
            name: "hris".into(),
            records: 1204,
            quarantined: 2,
            ..SourceSummary::default()
        }],
        apps: vec![slack, github, zoom_plan()],
        quarantined: vec![
            QuarantinedRecord {
                source: "hris".into(),
                key: Some("E1002".into()),
                line: Some(17),
                position: None,
                field: Some("employee_id".into()),
                reason: "duplicate key (also at line 903)".into(),
            },
            QuarantinedRecord {
                source: "hris".into(),
                key: Some("E1003".into()),
                line: Some(88),
                position: None,
                field: Some("email".into()),
                reason: "bad email \"jo@\"".into(),
            },
        ],
        inputs_hash: "0123abcd".into(),
    }
}

/// An app read during a resync: a vanished account recreated, an app_wins edit rebased,
/// deprovisions held by a guard, and group work.
fn zoom_plan() -> AppPlan {
    let mut zoom = AppPlan::new("zoom", "zoom");
    let mut recreate = Operation::new(OpKind::Create, "E0300");
    recreate.user_name = Some("kai.berg@corp.example".into());
    recreate.summary = Some("Sales · Account Executive".into());
    recreate.active = Some(true);
    let mut rebase = Operation::new(OpKind::Rebase, "E0301");
    rebase.user_name = Some("mo.said@corp.example".into());
    rebase.remote_id = Some("Z301".into());
    rebase.changes = vec![Change {
        path: "title".into(),
        old: Some(json!("Rep")),
        new: Some(json!("Team Lead (set in the app)")),
    }];
    let group = Operation::new(OpKind::GroupCreate, "dept-sales");
    let mut add = Operation::new(OpKind::MembershipAdd, "dept-sales");
    add.members = vec!["E0300".into(), "E0301".into()];
    let mut remove = Operation::new(OpKind::MembershipRemove, "dept-support");
    remove.remote_id = Some("G7".into());
    remove.members = vec!["E0302".into()];
    let mut gone = Operation::new(OpKind::GroupDelete, "dept-support");
    gone.remote_id = Some("G7".into());
    gone.reason = Some("no members left".into());
    zoom.operations = vec![gone, remove, add, group, rebase, recreate];
    zoom.held = ["E0310", "E0311"]
        .iter()
        .map(|k| {
            let mut op = Operation::new(OpKind::Deactivate, *k);
            op.user_name = Some(format!("{}@corp.example", k.to_lowercase()));
            op.remote_id = Some(format!("Z{k}"));
            op.reason = Some("terminated 2026-11-20".into());
            Held {
                operation: op,
                reason: "2 deprovisions exceed max_deprovision_count = 1".into(),
            }
        })
        .collect();
    zoom.vanished = vec!["E0300".into()];
    zoom.remote_read = true;
    zoom.finish();
    zoom
}

fn golden(name: &str, actual: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/report/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "{} differs from the golden file", name);
}

#[test]
fn text_plan_matches_golden() {
    golden("plan.txt", &render_text(&sample_plan()));
}

#[test]
fn json_plan_matches_golden_and_round_trips() {
    let plan = sample_plan();
    let text = renderer(Format::Json).render(&plan);
    golden("plan.json", &text);
    // Written as it is serialised, the report is the same text, byte for byte; so is
    // every other format's.
    for format in [Format::Json, Format::Text, Format::Markdown, Format::Html] {
        let mut written = Vec::new();
        renderer(format).write(&plan, &mut written).expect("writes");
        assert_eq!(
            written,
            renderer(format).render(&plan).into_bytes(),
            "{format:?}"
        );
    }
    let back: Plan = serde_json::from_str(&text).expect("parses back");
    assert_eq!(back, plan, "a saved plan reads back exactly");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["apps"][0]["summary"]["create"], 1);
    assert_eq!(v["apps"][0]["summary"]["conflict"], 1);
    assert_eq!(v["quarantined"][0]["line"], 17);
    let zoom = &v["apps"][2];
    assert_eq!(
        zoom["summary"],
        json!({"create": 1, "update": 1, "deactivate": 0, "reactivate": 0, "delete": 0,
               "group_create": 1, "membership": 3, "conflict": 0, "held": 2})
    );
    assert_eq!(zoom["vanished"], json!(["E0300"]));
    assert_eq!(zoom["held"][0]["operation"]["op"], "deactivate");
    assert_eq!(
        zoom["held"][0]["reason"],
        "2 deprovisions exceed max_deprovision_count = 1"
    );
    let kinds: Vec<&str> = zoom["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .filter_map(|o| o["op"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "rebase",
            "create",
            "group_create",
            "membership_add",
            "membership_remove",
            "group_delete"
        ],
        "execution order"
    );
}

#[test]
fn markdown_and_html_carry_the_same_facts() {
    let plan = sample_plan();
    let md = renderer(Format::Markdown).render(&plan);
    assert!(
        md.contains("| slack | 1 | 1 | 1 | 1 | 0 | 0 | 0 | 1 | 0 |"),
        "{md}"
    );
    assert!(
        md.contains("`title`: \"Engineer\" → \"Senior Engineer\""),
        "{md}"
    );
    let html = renderer(Format::Html).render(&plan);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"), "summary chart");
    assert!(!html.contains("<script"), "self-contained, no scripts");
    assert!(html.contains("nia.okafor@corp.example"));
    for (op, key) in [
        ("quarantined", "E2000"),
        ("orphan", "-"),
        ("vanished", "E0300"),
        ("rebase", "E0301"),
        ("group_create", "dept-sales"),
        ("membership_remove", "dept-support"),
        ("group_delete", "dept-support"),
    ] {
        assert!(
            md.contains(&format!("| {op} | {key} |")),
            "{op} {key}: {md}"
        );
        assert!(
            html.contains(&format!("<tr><td>{op}</td><td>{key}</td>")),
            "{op} {key}: {html}"
        );
    }
    assert!(
        md.contains("| zoom | 1 | 1 | 0 | 0 | 0 | 1 | 3 | 0 | 2 |"),
        "{md}"
    );
    assert!(
        md.contains("| vanished | E0300 |  | linked account no longer exists in the app |"),
        "{md}"
    );
    // Held operations and conflicts have tables of their own in the HTML report.
    assert!(md.contains("| held deactivate | E0310 |"), "{md}");
    let held = html
        .split("<h3>Held operations in zoom</h3>")
        .nth(1)
        .unwrap_or("");
    assert!(
        held.contains("<tr><td>deactivate</td><td>E0310</td>"),
        "{html}"
    );
    let conflicts = html
        .split("<h3>Conflicts in slack</h3>")
        .nth(1)
        .unwrap_or("");
    assert!(conflicts.contains("<th>HR value</th>"), "{html}");
}

#[test]
fn markdown_has_every_summary_column_the_json_has() {
    let plan = sample_plan();
    let md = renderer(Format::Markdown).render(&plan);
    let json: serde_json::Value = serde_json::to_value(&plan.apps[0].summary).expect("json");
    let header = md
        .lines()
        .find(|l| l.starts_with("| app |"))
        .unwrap_or_default()
        .replace("conflicts", "conflict");
    for column in json.as_object().expect("object").keys() {
        assert!(
            header.contains(&format!(" {column} |")),
            "{column} missing: {header}"
        );
    }
}

#[test]
fn html_shows_every_count_without_hovering() {
    let plan = sample_plan();
    let html = renderer(Format::Html).render(&plan);
    // Counts as text outside <title> (hover-only): labelled bars and the summary table.
    let visible = html.replace('\n', " ");
    let without_titles: String = visible
        .split("<title>")
        .map(|part| part.split_once("</title>").map_or(part, |(_, rest)| rest))
        .collect();
    let zoom_total: usize = {
        let s = &plan.apps[1].summary;
        s.create
            + s.update
            + s.deactivate
            + s.reactivate
            + s.delete
            + s.group_create
            + s.membership
            + s.conflict
            + s.held
    };
    assert!(
        without_titles.contains(&format!(">{zoom_total} total</text>")),
        "{html}"
    );
    assert!(
        without_titles.contains("<td>zoom</td><td class=\"n\">1</td><td class=\"n\">1</td>"),
        "{html}"
    );
    assert!(without_titles.contains("<h2>Sources</h2>"), "{html}");
    assert!(without_titles.contains("records read"), "{html}");
    assert!(html.contains("@media print"), "print styles");
    assert!(!html.contains("<script") && !html.contains("<link") && !html.contains("src="));
}

#[test]
fn counts_have_thousands_separators() {
    assert_eq!(format_count(0), "0");
    assert_eq!(format_count(999), "999");
    assert_eq!(format_count(1204), "1,204");
    assert_eq!(format_count(1_000_000), "1,000,000");
}

/// A large plan is written on every core: byte for byte what `serde_json` prints, across
/// batches and chunks, with an app without operations between two with many, and texts
/// that look like the list the operations fill.
#[test]
fn a_large_json_plan_is_written_exactly_as_serialised() {
    let mut plan = sample_plan();
    let many = |name: &str, n: usize| {
        let mut app = AppPlan::new(name, "generic");
        app.operations = (0..n)
            .map(|i| {
                let mut op = Operation::new(OpKind::Create, format!("E{i}"));
                op.user_name = Some(format!("p{i}@corp.example"));
                op.summary = Some("\"operations\": []\nline two".into());
                op.desired = std::sync::Arc::new(crate::mapping::AttrMap::from(BTreeMap::from([
                    (
                        "title".to_string(),
                        json!({"operations": [], "nested": [1, {"a": []}]}),
                    ),
                    ("userName".to_string(), json!(format!("p{i}@corp.example"))),
                ])));
                op
            })
            .collect();
        app
    };
    plan.apps.push(many("github", 16_384 + 300));
    plan.apps.push(AppPlan::new("zoom", "generic"));
    plan.apps.push(many("okta", 3));
    plan.apps[1].conflicts.clear();
    let mut written = Vec::new();
    renderer(Format::Json)
        .write(&plan, &mut written)
        .expect("writes");
    let mut expected = serde_json::to_vec_pretty(&plan).expect("json");
    expected.push(b'\n');
    assert!(
        written == expected,
        "the written plan differs from the serialised one"
    );
}
