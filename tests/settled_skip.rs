//! Skipping the unchanged, end to end with the cycle's time passed in: once a cycle found
//! persons settled, later cycles leave them out of mapping and planning, and still apply
//! every change that concerns them: their own HR change, a date that comes, a config change,
//! a new manager account, a userName another person now maps to.

use chrono::{DateTime, TimeZone, Utc};
use hrsync::config::{self, LoadOptions, Settings};
use hrsync::engine::{run_cycle, CycleOptions, CycleReport, Mode};
use hrsync_state::{CycleKind, Store};
use serde_json::Value;

use crate::util::*;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("date")
        + chrono::Duration::days(i64::from(day))
}

async fn apply_at(settings: &Settings, day: u32) -> CycleReport {
    let mut o = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    o.now = at(day);
    run_cycle(settings, o).await.expect("cycle")
}

/// One HR row: key, title, email, end date, manager.
fn row(key: &str, title: &str, email: &str, end: &str, manager: &str) -> String {
    format!("{key},{key}n,Test,{email},Sales,{title},active,2020-01-01,{end},{manager}\n")
}

fn hr(rows: &[String]) -> String {
    format!("{HEADER}{}", rows.concat())
}

fn email(key: &str) -> String {
    format!("{}@corp.example", key.to_lowercase())
}

/// Five persons: E3's last day is day 3; E2, E4 and E5 report to E1.
fn rows() -> Vec<String> {
    vec![
        row("E1", "Lead", &email("E1"), "", ""),
        row("E2", "Rep", &email("E2"), "", "E1"),
        row("E3", "Rep", &email("E3"), "2026-03-04", "E1"),
        row("E4", "Rep", &email("E4"), "", "E1"),
        row("E5", "Rep", &email("E5"), "", "E1"),
    ]
}

async fn settled(env: &Env, day: u32) -> Vec<String> {
    let store = Store::open_read_only(&env.state).await.expect("state");
    let keys = |k: &mut Vec<String>, s: hrsync_state::Stamp| k.push(s.person_key);
    store
        .stamps("app", at(day).date_naive(), Vec::new(), keys)
        .await
        .expect("stamps")
}

fn ops(report: &CycleReport) -> Vec<(String, String)> {
    report.plan.apps[0]
        .operations
        .iter()
        .map(|o| (o.key.clone(), format!("{:?}", o.op)))
        .collect()
}

fn account<'a>(users: &'a [Value], key: &str) -> &'a Value {
    let found = by_external_id(users, key);
    assert_eq!(found.len(), 1, "{key} has one account");
    found[0]
}

fn manager_of(user: &Value) -> &Value {
    &user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_persons_are_left_out_yet_every_change_that_concerns_them_is_applied() {
    let sb = sandbox().await;
    let env = Env::new(&hr(&rows()));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let s = config::load(&env.config, &LoadOptions::default()).expect("config");
    apply_at(&s, 0).await;
    assert!(ops(&apply_at(&s, 1).await).is_empty(), "day 1: in step");
    let mut all = settled(&env, 1).await;
    all.sort();
    assert_eq!(
        all,
        ["E1", "E2", "E3", "E4", "E5"],
        "day 1 found all settled"
    );
    // E3's last day comes: on day 3 E3 is no longer left out.
    assert_eq!(settled(&env, 3).await, ["E1", "E2", "E4", "E5"]);

    // Day 2: E2's title changes; everyone else stays left out.
    let mut r = rows();
    r[1] = row("E2", "Senior Rep", &email("E2"), "", "E1");
    env.set_hr(&hr(&r));
    let day2 = apply_at(&s, 2).await;
    assert_eq!(ops(&day2), [("E2".to_string(), "Update".to_string())]);
    assert_eq!(account(&sb.users().await, "E2")["title"], "Senior Rep");

    // Day 5: E3's last day (day 3) has passed: deactivated, though their record did not
    // change since they were settled.
    let day5 = apply_at(&s, 5).await;
    assert_eq!(ops(&day5), [("E3".to_string(), "Deactivate".to_string())]);
    assert_eq!(account(&sb.users().await, "E3")["active"], false);

    // A config change reaches every settled person.
    let cfg = std::fs::read_to_string(&env.config).expect("config");
    std::fs::write(
        &env.config,
        cfg.replace(
            r#"title = "{{ job_title }}""#,
            r#"title = "{{ job_title | upper }}""#,
        ),
    )
    .expect("config");
    let s = config::load(&env.config, &LoadOptions::default()).expect("config");
    apply_at(&s, 6).await;
    let users = sb.users().await;
    for (key, title) in [
        ("E1", "LEAD"),
        ("E2", "SENIOR REP"),
        ("E4", "REP"),
        ("E5", "REP"),
    ] {
        assert_eq!(account(&users, key)["title"], title, "{key}");
    }
    assert!(ops(&apply_at(&s, 7).await).is_empty(), "day 7: in step");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settled_person_whose_manager_gets_a_new_account_or_whose_user_name_is_taken_is_planned()
{
    let sb = sandbox().await;
    let env = Env::new(&hr(&rows()));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let s = config::load(&env.config, &LoadOptions::default()).expect("config");
    apply_at(&s, 0).await;
    apply_at(&s, 1).await;
    assert_eq!(settled(&env, 1).await.len(), 5);

    // E1's account and link are lost, and E1 gets a new account: the settled reports now
    // point to it.
    let users = sb.users().await;
    let old = account(&users, "E1")["id"]
        .as_str()
        .expect("id")
        .to_string();
    crate::util::push::delete_account(&sb, &old).await;
    let db = hrsync_state::rusqlite::Connection::open(&env.state).expect("state");
    db.execute("DELETE FROM links WHERE person_key = 'E1'", [])
        .expect("forget E1's link");
    drop(db);
    apply_at(&s, 2).await;
    let users = sb.users().await;
    let new = account(&users, "E1")["id"].clone();
    assert_ne!(new, Value::String(old));
    for key in ["E2", "E3", "E4", "E5"] {
        assert_eq!(manager_of(account(&users, key)), &new, "{key}'s manager");
    }

    // Day 3: a new person maps to E4's userName: both are set aside, E4 though settled.
    apply_at(&s, 3).await;
    let mut r = rows();
    r.push(row("E6", "Rep", &email("E4"), "", ""));
    env.set_hr(&hr(&r));
    let day4 = apply_at(&s, 4).await;
    let mut set_aside: Vec<&str> = day4.plan.apps[0]
        .quarantined
        .iter()
        .map(|q| q.key.as_str())
        .collect();
    set_aside.sort();
    assert_eq!(set_aside, ["E4", "E6"]);
    assert!(by_external_id(&sb.users().await, "E6").is_empty());
}
