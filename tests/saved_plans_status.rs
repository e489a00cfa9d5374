//! Saved plans, `status` and `audit`, and source conflicts, over HTTP against the sandbox:
//! a saved plan is refused once the state moved on (another apply, or the same plan applied
//! twice); `status` lists recent cycles including a guard-aborted one; `audit` filters by
//! time, app and person; duplicate HR keys and two persons mapping to one userName are
//! quarantined, never pushed, and shown in the plan report and in `status`.

use serde_json::Value;

use crate::conflicts_drift::{one, out};
use crate::util::push::{apply, csv, people, run, status_json, Person};
use crate::util::*;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_is_refused_once_the_state_changed() {
    let sb = sandbox().await;
    let mut persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    persons.push(Person::numbered(4));
    env.set_hr(&csv(&persons));
    let file = env.dir.path().join("reviewed.json");
    let p = file.to_str().expect("path").to_string();
    let o = run(&env, &["plan", "--save", &p]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Someone else's apply ran in between: HR is the same, the state is not.
    assert_eq!(apply(&env).await.status.code(), Some(0));
    let audit_before = out(&run(&env, &["audit", "--format", "json"]).await);
    sb.reset_stats();
    let o = run(&env, &["apply", "--plan", &p]).await;
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        stderr(&o).contains("stale") && stderr(&o).contains("state changed"),
        "a clear message: {}",
        text(&o)
    );
    assert_eq!(sb.stats().writes, 0, "{:?}", sb.stats());
    assert_eq!(
        out(&run(&env, &["audit", "--format", "json"]).await),
        audit_before,
        "no identity change recorded"
    );
    one(&sb.users().await, "E0004");

    // A reviewed plan applies once; the same file a second time is refused.
    persons.push(Person::numbered(5));
    env.set_hr(&csv(&persons));
    assert_eq!(
        run(&env, &["plan", "--save", &p]).await.status.code(),
        Some(0)
    );
    let o = run(&env, &["apply", "--plan", &p]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    one(&sb.users().await, "E0005");
    sb.reset_stats();
    let o = run(&env, &["apply", "--plan", &p]).await;
    assert_eq!(o.status.code(), Some(2), "replayed: {}", text(&o));
    assert_eq!(sb.stats().writes, 0, "{:?}", sb.stats());
    one(&sb.users().await, "E0005");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_lists_the_last_cycles_including_a_guard_aborted_one() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(3)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    assert_eq!(run(&env, &["resync"]).await.status.code(), Some(0));
    env.set_hr(HEADER);
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));

    let t = out(&run(&env, &["status"]).await);
    let cycles: Vec<&str> = t.lines().filter(|l| l.starts_with("  #")).collect();
    assert_eq!(cycles.len(), 3, "{t}");
    assert!(
        cycles[0].contains("apply") && cycles[0].contains("guarded"),
        "newest first: {t}"
    );
    assert!(cycles[0].contains("min_source_records"), "why: {t}");
    assert!(
        cycles[1].contains("resync") && cycles[1].contains(" ok "),
        "{t}"
    );
    assert!(
        cycles[2].contains("apply") && cycles[2].contains(" ok "),
        "{t}"
    );
    assert!(t.contains("3 active, 0 inactive"), "{t}");

    let doc = status_json(&env).await;
    let c = &doc["cycles"];
    assert_eq!(c[0]["status"], "guarded", "{doc:#}");
    assert_eq!(c[0]["kind"], "apply");
    assert!(c[0]["error"]
        .as_str()
        .is_some_and(|e| e.contains("min_source_records")));
    assert_eq!(c[1]["kind"], "resync");
    assert_eq!(c[2]["status"], "ok");
}

fn rows(o: &std::process::Output) -> Vec<Value> {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("audit JSON ({e}): {}", text(o)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_filters_by_time_app_and_person() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut persons = people(2);
    let env = Env::new(&csv(&persons));
    env.write_config(&format!(
        "{}\n{}",
        env.app("a", &a.base_url(), ""),
        env.app("b", &b.base_url(), "")
    ));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    persons[1].title = "Lead".into();
    env.set_hr(&csv(&persons));
    assert_eq!(apply(&env).await.status.code(), Some(0));

    let all = rows(&run(&env, &["audit", "--format", "json"]).await);
    assert_eq!(all.len(), 6, "4 creates, 2 updates: {all:#?}");
    let first_update = all
        .iter()
        .find(|r| r["op"] == "update")
        .expect("an update row");
    let cut = first_update["at"].as_str().expect("at").to_string();

    let since = rows(&run(&env, &["audit", "--since", &cut, "--format", "json"]).await);
    assert_eq!(since.len(), 2, "older rows filtered out: {since:#?}");
    assert!(since
        .iter()
        .all(|r| r["op"] == "update" && r["person_key"] == "E0002"));
    let t = out(&run(&env, &["audit", "--since", &cut]).await);
    assert!(t.contains("update") && !t.contains("create"), "{t}");
    assert!(t.contains("title: \"Rep\" → \"Lead\""), "{t}");
    // The same instant written with another offset selects the same rows.
    let shifted = chrono::DateTime::parse_from_rfc3339(&cut)
        .expect("rfc3339")
        .with_timezone(&chrono::FixedOffset::east_opt(2 * 3600).expect("offset"))
        .to_rfc3339();
    assert_eq!(
        rows(&run(&env, &["audit", "--since", &shifted, "--format", "json"]).await),
        since
    );
    let t = out(&run(&env, &["audit", "--since", "2999-01-01T00:00:00Z"]).await);
    assert!(t.contains("no audit entries match"), "{t}");
    let bad = run(&env, &["audit", "--since", "yesterday"]).await;
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));

    let only_b = rows(&run(&env, &["audit", "--app", "b", "--format", "json"]).await);
    assert_eq!(only_b.len(), 3, "{only_b:#?}");
    assert!(only_b.iter().all(|r| r["app"] == "b"));
    let only_e1 = rows(&run(&env, &["audit", "--user", "E0001", "--format", "json"]).await);
    assert_eq!(only_e1.len(), 2, "{only_e1:#?}");
    assert!(only_e1
        .iter()
        .all(|r| r["person_key"] == "E0001" && r["op"] == "create"));
    let both = rows(
        &run(
            &env,
            &["audit", "--app", "a", "--user", "E0002", "--format", "json"],
        )
        .await,
    );
    let ops: Vec<&Value> = both.iter().map(|r| &r["op"]).collect();
    assert_eq!(ops, vec!["create", "update"], "oldest first: {both:#?}");
    assert!(both.iter().all(|r| r["app"] == "a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_hr_keys_are_quarantined_never_pushed_and_reported() {
    let sb = sandbox().await;
    let mut twin = Person::numbered(1);
    twin.email = "twin@corp.example".into();
    let env = Env::new(&csv(&[Person::numbered(1), twin, Person::numbered(2)]));
    env.write_config(&env.app("app", &sb.base_url(), ""));

    let plan = out(&run(&env, &["plan"]).await);
    assert!(
        plan.contains("hris 1 records (2 quarantined: see below)"),
        "{plan}"
    );
    assert!(plan.contains("hris line 2 E0001"), "{plan}");
    assert!(plan.contains("hris line 3 E0001"), "{plan}");
    assert!(plan.contains("duplicate key"), "{plan}");
    assert!(!plan.contains("create       E0001"), "{plan}");

    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    assert_eq!(users.len(), 1, "only E0002: {users:#?}");
    one(&users, "E0002");
    assert!(by_user_name(&users, "p0001@corp.example").is_empty());
    assert!(by_user_name(&users, "twin@corp.example").is_empty());

    let t = out(&run(&env, &["status"]).await);
    assert!(t.contains("quarantined HR records:"), "{t}");
    assert!(
        t.contains("hris line 2 E0001 field employee_id: duplicate key"),
        "{t}"
    );
    assert!(
        t.contains("hris line 3 E0001 field employee_id: duplicate key"),
        "{t}"
    );
    let doc = status_json(&env).await;
    let recs = doc["quarantined_records"].as_array().expect("records");
    assert_eq!(recs.len(), 2, "{doc:#}");
    assert!(recs.iter().all(|r| r["key"] == "E0001"), "{doc:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_persons_with_one_user_name_are_quarantined_in_that_app_only() {
    let (a, b) = (sandbox().await, sandbox().await);
    let mut persons = people(3);
    persons[0].email = "shared@corp.example".into();
    persons[1].email = "Shared@corp.example".into();
    let env = Env::new(&csv(&persons));
    // App b names accounts by first name, so nobody collides there.
    let b_block = env.app("b", &b.base_url(), "").replace(
        "userName = \"{{ email | lower }}\"",
        "userName = \"{{ first_name | lower }}@b.example\"",
    );
    env.write_config(&format!("{}\n{b_block}", env.app("a", &a.base_url(), "")));

    let plan = out(&run(&env, &["plan"]).await);
    assert!(
        plan.contains(
            "✗ quarantined  E0001  userName \"shared@corp.example\" is also mapped from E0002"
        ),
        "{plan}"
    );
    assert!(
        plan.contains(
            "✗ quarantined  E0002  userName \"shared@corp.example\" is also mapped from E0001"
        ),
        "{plan}"
    );
    let md = out(&run(&env, &["plan", "--format", "markdown"]).await);
    assert!(md.contains("| quarantined | E0001 |"), "{md}");

    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let in_a = a.users().await;
    assert_eq!(in_a.len(), 1, "neither is pushed to a: {in_a:#?}");
    one(&in_a, "E0003");
    assert_eq!(b.users().await.len(), 3, "b has no collision");

    let t = out(&run(&env, &["status"]).await);
    let a_part = t
        .split("\napp ")
        .find(|s| s.starts_with("a "))
        .unwrap_or_else(|| panic!("{t}"));
    for (k, other) in [("E0001", "E0002"), ("E0002", "E0001")] {
        assert!(
            a_part.contains(&format!(
                "quarantined {k} (not pushed): userName \"shared@corp.example\" is also mapped from {other}"
            )),
            "{t}"
        );
    }
    let doc = status_json(&env).await;
    let set_aside = |app: &str| {
        crate::util::push::app_status(&doc, app)["quarantined_persons"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(set_aside("a"), Some(2), "{doc:#}");
    assert_eq!(set_aside("b"), Some(0), "{doc:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_saved_plans_do_not_count_as_hr_reads() {
    let sb = sandbox().await;
    let mut persons = people(20);
    let env = Env::new(&csv(&persons));
    env.write_config(&format!(
        "[lifecycle]\nabsence_grace_cycles = 2\n\n{}",
        env.app("app", &sb.base_url(), "")
    ));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    sb.reset_stats();
    // E0020 goes missing from the export (not terminated): one read of two before offboarding.
    persons.pop();
    env.set_hr(&csv(&persons));
    let file = env.dir.path().join("reviewed.json");
    let p = file.to_str().expect("path").to_string();
    assert_eq!(
        run(&env, &["plan", "--save", &p]).await.status.code(),
        Some(0)
    );
    // HR moves on before the reviewed plan is applied: every attempt is refused.
    persons.push(Person::numbered(21));
    env.set_hr(&csv(&persons));
    for _ in 0..3 {
        let o = run(&env, &["apply", "--plan", &p]).await;
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    }
    let o = run(&env, &["plan", "--format", "json"]).await;
    let doc: Value = serde_json::from_str(&out(&o)).expect("json");
    let ops = doc["apps"][0]["operations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        !ops.iter()
            .any(|op| op["key"] == "E0020" && op["op"] == "deactivate"),
        "refused runs are not reads: E0020 is still within its grace: {doc:#}"
    );
    assert_eq!(sb.stats().writes, 0, "{:?}", sb.stats());
}
