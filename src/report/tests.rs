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
    create.desired = BTreeMap::from([
        ("userName".to_string(), json!("nia.okafor@corp.example")),
        ("title".to_string(), json!("Backend Engineer")),
    ]);
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
        }],
        apps: vec![slack, github],
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
    let back: Plan = serde_json::from_str(&text).expect("parses back");
    assert_eq!(back, plan, "a saved plan reads back exactly");
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["apps"][0]["summary"]["create"], 1);
    assert_eq!(v["apps"][0]["summary"]["conflict"], 1);
    assert_eq!(v["quarantined"][0]["line"], 17);
}

#[test]
fn markdown_and_html_carry_the_same_facts() {
    let plan = sample_plan();
    let md = renderer(Format::Markdown).render(&plan);
    assert!(
        md.contains("| slack | 1 | 1 | 1 | 1 | 0 | 0 | 1 | 0 |"),
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
}

#[test]
fn counts_have_thousands_separators() {
    assert_eq!(format_count(0), "0");
    assert_eq!(format_count(999), "999");
    assert_eq!(format_count(1204), "1,204");
    assert_eq!(format_count(1_000_000), "1,000,000");
}
