//! SCIM Bulk through `hrsync apply` against an app that advertises it: creates, updates and
//! deactivations go out in a few Bulk requests with one audit row per person; a batch the
//! app refuses as too large is split; a failed batch and failed operations fall back to
//! single requests — and nobody ends up with two accounts.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::Method;
use serde_json::{json, Value};

use crate::util::push::*;
use crate::util::*;

const PERSONS: usize = 60;

fn is_bulk(method: &Method, path: &str) -> bool {
    method == Method::POST && path.starts_with("/scim/v2/Bulk")
}

/// Audit rows of the app by person: (op, result) in recording order.
async fn audit(env: &Env) -> BTreeMap<String, Vec<(String, String)>> {
    let out = run(env, &["audit", "--app", "app", "--format", "json"]).await;
    let rows: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let mut by_person: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in rows.as_array().into_iter().flatten() {
        by_person
            .entry(r["person_key"].as_str().unwrap_or_default().to_string())
            .or_default()
            .push((
                r["op"].as_str().unwrap_or_default().to_string(),
                r["result"].as_str().unwrap_or_default().to_string(),
            ));
    }
    by_person
}

/// Every person has exactly one successful row of `op` among `rows` (or of `adopt`, when
/// `or_adopt`: an account found carrying the person's key is linked, not created again).
fn one_ok_each_of(
    rows: &BTreeMap<String, Vec<(String, String)>>,
    persons: &[Person],
    op: &str,
    or_adopt: bool,
) {
    for p in persons {
        let ok = rows
            .get(&p.key)
            .map(|r| {
                r.iter()
                    .filter(|(o, res)| (o == op || (or_adopt && o == "adopt")) && res == "ok")
                    .count()
            })
            .unwrap_or(0);
        assert_eq!(ok, 1, "{}: {:?}", p.key, rows.get(&p.key));
    }
}

fn one_ok_each(rows: &BTreeMap<String, Vec<(String, String)>>, persons: &[Person], op: &str) {
    one_ok_each_of(rows, persons, op, false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_carries_creates_updates_and_deactivations_with_a_row_per_person() {
    let sb = sandbox().await;
    let mut persons = people(PERSONS);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let stats = sb.stats();
    assert_eq!(
        stats.writes, 1,
        "{PERSONS} creates in one Bulk request: {stats:?}"
    );
    one_ok_each(&audit(&env).await, &persons, "create");

    for p in &mut persons {
        p.title = "Account Executive".into();
    }
    env.set_hr(&csv(&persons));
    sb.reset_stats();
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let stats = sb.stats();
    assert_eq!(
        stats.writes, 1,
        "{PERSONS} updates in one Bulk request: {stats:?}"
    );
    assert_eq!(
        stats.reads, 0,
        "no reads: the capabilities learned by the first run are kept in the state: {stats:?}"
    );
    one_ok_each(&audit(&env).await, &persons, "update");

    for p in persons.iter_mut().take(5) {
        p.status = "terminated".into();
    }
    env.set_hr(&csv(&persons));
    sb.reset_stats();
    let out = run(&env, &["apply", "--yes", "--allow-mass-deprovision"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    assert_eq!(sb.stats().writes, 1, "{:?}", sb.stats());
    one_ok_each(&audit(&env).await, &persons[..5], "deactivate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_refused_as_too_large_is_split_until_the_app_takes_it() {
    let sb = sandbox().await;
    // The app advertises 1000 operations per request but takes no more than 20.
    let px = proxy(sb.addr(), |method, path, body| {
        let ops = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v["Operations"].as_array().map(Vec::len))
            .unwrap_or(0);
        if is_bulk(method, path) && ops > 20 {
            Action::Reply(413, scim_error(413, None, "too many operations"))
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(PERSONS);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), ""));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let bulks = px
        .seen()
        .iter()
        .filter(|s| is_bulk(&s.method, &s.path))
        .count();
    // 60 → 2 × 30 → 4 × 15: three refused, four taken.
    assert_eq!(
        bulks,
        7,
        "{:#?}",
        px.seen().iter().map(|s| &s.path).collect::<Vec<_>>()
    );
    assert_eq!(
        sb.stats().by_method.get("POST").copied(),
        Some(4),
        "{:?}",
        sb.stats()
    );
    one_ok_each(&audit(&env).await, &persons, "create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_bulk_request_falls_back_to_single_requests() {
    let sb = sandbox().await;
    let px = proxy(sb.addr(), |method, path, _| {
        if is_bulk(method, path) {
            Action::Reply(500, scim_error(500, None, "bulk endpoint broken"))
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(12);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), ""));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    assert_eq!(sb.stats().users_created, 12);
    one_ok_each(&audit(&env).await, &persons, "create");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_operations_inside_a_bulk_fall_back_without_duplicates() {
    let sb = sandbox().await;
    // E0007's create is withheld from the app and reported as 503; E0008's is applied but
    // reported as 500 (an outcome the client cannot trust). Both go the one-by-one way.
    let withhold: Edit = Arc::new(|v: &mut Value| {
        if let Some(ops) = v["Operations"].as_array_mut() {
            ops.retain(|op| op["bulkId"] != "E0007");
        }
    });
    let misreport: Edit = Arc::new(|v: &mut Value| {
        if let Some(ops) = v["Operations"].as_array_mut() {
            for op in ops.iter_mut() {
                if op["bulkId"] == "E0008" {
                    op["status"] = json!("500");
                    op["response"] = scim_error(500, None, "lost the answer");
                }
            }
            ops.push(json!({
                "method": "POST",
                "bulkId": "E0007",
                "status": "503",
                "response": scim_error(503, None, "try later"),
            }));
        }
    });
    let px = proxy(sb.addr(), move |method, path, _| {
        if is_bulk(method, path) {
            Action::Rewrite {
                request: withhold.clone(),
                response: misreport.clone(),
            }
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(12);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &px.base_url(), ""));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let problems = differences(&sb.users().await, &persons);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(sb.stats().users_created, 12, "E0008 was not created twice");
    let singles: Vec<String> = px
        .seen()
        .iter()
        .filter(|s| s.method == Method::POST && s.path.starts_with("/scim/v2/Users"))
        .map(|s| s.body.clone())
        .collect();
    assert_eq!(
        singles.len(),
        1,
        "only E0007 needed a single POST: {singles:#?}"
    );
    assert!(singles[0].contains("E0007"));
    let rows = audit(&env).await;
    one_ok_each_of(&rows, &persons, "create", true);
    assert!(
        rows["E0008"]
            .iter()
            .any(|(op, res)| op == "adopt" && res == "ok"),
        "E0008's own account was found and linked: {:?}",
        rows["E0008"]
    );
}
