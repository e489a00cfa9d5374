//! BambooHR through the whole cycle with `incremental = true`: the first cycle reads in
//! full, the next ones read `/employees/changed?since=` from the watermark the engine
//! stored, apply the changes onto the snapshot, and the periodic full read comes when due.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use hrsync_connectors::source::bamboohr::Watermark;
use serde_json::{json, Value};

use crate::sources_e2e::{env_run, serve};
use crate::util::*;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

const BAMBOO: &str = "/api/gateway.php/acme/v1";

/// A BambooHR company: the employees a full report returns, what `/employees/changed`
/// announces, and every request seen.
#[derive(Clone, Default)]
struct Bamboo {
    employees: Arc<Mutex<Vec<Value>>>,
    changes: Arc<Mutex<Value>>,
    latest: Arc<Mutex<String>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Bamboo {
    fn push(&self, entry: String) {
        self.log.lock().expect("log").push(entry);
    }
    /// The requests seen since the last call.
    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().expect("log"))
    }
    fn set(&self, changes: Value, latest: &str) {
        *self.changes.lock().expect("changes") = changes;
        *self.latest.lock().expect("latest") = latest.to_string();
    }
    fn edit(&self, id: &str, f: impl FnOnce(&mut Value)) {
        let mut all = self.employees.lock().expect("employees");
        match all.iter_mut().find(|e| e["id"] == id) {
            Some(e) => f(e),
            None => panic!("no employee {id}"),
        }
    }
}

fn bamboo_employee(id: &str, first: &str, title: &str, dept: &str, supervisor: Value) -> Value {
    json!({"id": id, "employeeNumber": format!("E-00{id}"), "firstName": first,
        "lastName": "Test", "workEmail": format!("{}@corp.example", first.to_lowercase()),
        "department": dept, "jobTitle": title, "status": "Active", "hireDate": "2020-01-06",
        "terminationDate": "0000-00-00", "supervisorEId": supervisor})
}

fn bamboo_app(hr: Bamboo) -> Router {
    let (h1, h2, h3) = (hr.clone(), hr.clone(), hr);
    Router::new()
        .route(
            &format!("{BAMBOO}/reports/custom"),
            post(move |Json(body): Json<Value>| async move {
                // A full read asks for every field; naming a supervisor who is not among
                // the changes asks for employee numbers and keys only.
                h1.push(if body["fields"] == json!(["id", "employeeNumber"]) {
                    "numbers".into()
                } else {
                    "report".into()
                });
                let all = h1.employees.lock().expect("employees").clone();
                Json(json!({"title": "hrsync", "fields": [], "employees": all}))
            }),
        )
        .route(
            &format!("{BAMBOO}/employees/changed"),
            get(
                move |Query(q): Query<std::collections::BTreeMap<String, String>>| async move {
                    h2.push(format!(
                        "changed since={}",
                        q.get("since").cloned().unwrap_or_default()
                    ));
                    let changes = h2.changes.lock().expect("changes").clone();
                    let latest = h2.latest.lock().expect("latest").clone();
                    Json(json!({"latest": latest, "employees": changes}))
                },
            ),
        )
        .route(
            &format!("{BAMBOO}/employees/{{id}}"),
            get(move |Path(id): Path<String>| async move {
                h3.push(format!("employee {id}"));
                let all = h3.employees.lock().expect("employees").clone();
                match all.into_iter().find(|e| e["id"] == id.as_str()) {
                    Some(e) => Json(e).into_response(),
                    None => axum::http::StatusCode::NOT_FOUND.into_response(),
                }
            }),
        )
}

/// The watermark the engine stored for source `bamboo`.
async fn stored_watermark(env: &Env) -> Watermark {
    let store = hrsync_state::Store::open_read_only(&env.state)
        .await
        .expect("state");
    let raw = store
        .watermark("bamboo")
        .await
        .expect("read watermark")
        .map(|w| w.value);
    Watermark::parse(raw.as_deref()).unwrap_or_else(|| panic!("no watermark stored: {raw:?}"))
}

fn bamboo_config(env: &Env, base: &str, app: &str) -> String {
    let key = env.dir.path().join("bamboo-key");
    std::fs::write(&key, "KEY123").expect("write key");
    format!(
        r#"[daemon]
state_path = "{state}"

[[sources]]
name = "bamboo"
kind = "bamboohr"
company_domain = "acme"
api_key = {{ file = "{key}" }}
base_url = "{base}{BAMBOO}"
incremental = true
full_read_every_hours = 24

{app}"#,
        state = env.state.display(),
        key = key.display(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bamboohr_reads_changes_from_the_stored_watermark_with_a_periodic_full_read() {
    let sb = sandbox().await;
    let hr = Bamboo::default();
    *hr.employees.lock().expect("employees") = vec![
        bamboo_employee("1", "Ana", "CTO", "Engineering", Value::Null),
        bamboo_employee("2", "Bo", "Engineer", "Engineering", json!("E-001")),
        bamboo_employee("3", "Cy", "AE", "Sales", json!("E-001")),
    ];
    let base = serve(bamboo_app(hr.clone())).await;
    let env = Env::new("");
    std::fs::write(
        &env.config,
        bamboo_config(&env, &base, &env.app("app", &sb.base_url(), "")),
    )
    .expect("write config");

    // Cycle 1: no watermark yet, so a full read; the watermark is stored.
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(hr.take_log(), ["report"]);
    let users = sb.users().await;
    assert_eq!(users.len(), 3, "{users:#?}");
    let ana_id = by_external_id(&users, "1")[0]["id"].clone();
    assert_eq!(
        by_external_id(&users, "2")[0][ENT]["manager"]["value"],
        ana_id,
        "supervisorEId E-001 is Ana's employee number"
    );
    let w1 = stored_watermark(&env).await;

    // Cycle 2: only the changes since the stored watermark are read and applied.
    hr.edit("2", |e| e["department"] = json!("Platform"));
    hr.employees
        .lock()
        .expect("employees")
        .push(bamboo_employee(
            "5",
            "Eve",
            "Engineer",
            "Platform",
            json!("E-002"),
        ));
    hr.set(
        json!({"2": {"id": "2", "action": "Updated", "lastChanged": "2026-11-22T07:00:00Z"},
               "5": {"id": "5", "action": "Inserted", "lastChanged": "2026-11-22T07:30:00Z"}}),
        "2026-11-22T08:00:00Z",
    );
    sb.reset_stats();
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        hr.take_log(),
        [
            format!("changed since={}", w1.since),
            "employee 2".to_string(),
            "employee 5".to_string(),
            "numbers".to_string(),
        ],
        "the since value is the watermark stored by the previous cycle"
    );
    let users = sb.users().await;
    assert_eq!(users.len(), 4, "{users:#?}");
    assert_eq!(
        by_external_id(&users, "2")[0][ENT]["department"],
        "Platform"
    );
    let bo_id = by_external_id(&users, "2")[0]["id"].clone();
    assert_eq!(
        by_external_id(&users, "5")[0][ENT]["manager"]["value"],
        bo_id
    );
    assert!(
        users.iter().all(|u| u["active"] == true),
        "people not in the changes are still present: {users:#?}"
    );
    let w2 = stored_watermark(&env).await;
    assert_eq!(w2.since, "2026-11-22T08:00:00Z", "BambooHR's `latest`");
    assert_eq!(w2.full_at, w1.full_at, "no full read yet");

    // Cycle 3: nothing changed; the next since is the `latest` stored by cycle 2.
    hr.set(json!({}), "2026-11-22T09:00:00Z");
    sb.reset_stats();
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(hr.take_log(), ["changed since=2026-11-22T08:00:00Z"]);
    assert_eq!(sb.stats().writes, 0);

    // A day later (the stored full read made old), the full read is due: it also picks
    // up a change `/employees/changed` never announced.
    let store = hrsync_state::Store::open(&env.state).await.expect("state");
    let stale = Watermark {
        since: "2026-11-22T09:00:00Z".into(),
        full_at: "2026-11-21T00:00:00Z".into(),
    };
    store
        .set_watermark("bamboo", &stale.encode())
        .await
        .expect("age the watermark");
    drop(store);
    hr.edit("1", |e| e["jobTitle"] = json!("CEO"));
    let out = env_run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(hr.take_log(), ["report"], "a full read, no changes query");
    let users = sb.users().await;
    assert_eq!(by_external_id(&users, "1")[0]["title"], "CEO");
    assert_eq!(users.len(), 4);
    let w4 = stored_watermark(&env).await;
    assert_ne!(w4.full_at, stale.full_at, "the full read is remembered");
}
