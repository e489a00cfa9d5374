//! Resync never offboards a person because hrsync lost track of their account, over HTTP
//! against the sandbox: an unstamped account with a person's userName is adopted, not
//! deactivated as an orphan; after the state file is lost, the accounts of leavers and of
//! persons not yet due are relinked too, with no create and no new deprovision.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use hrsync::config::{self, LoadOptions, Settings};
use hrsync::engine::{run_cycle, CycleOptions, CycleReport, Mode};
use hrsync_state::{CycleKind, LinkLifecycle, Store};
use serde_json::{json, Value};

use crate::util::push::{proxy, run, seed_account, Action};
use crate::util::*;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("date")
        + chrono::Duration::days(i64::from(day))
}

async fn cycle(settings: &Settings, mode: Mode, kind: CycleKind, day: u32) -> CycleReport {
    let mut o = CycleOptions::new(mode, kind);
    o.now = at(day);
    let r = run_cycle(settings, o).await.expect("cycle");
    assert_eq!(r.failures(), 0, "day {day}: {:?}", r.outcomes);
    r
}

async fn apply_at(settings: &Settings, day: u32) -> CycleReport {
    cycle(settings, Mode::Apply, CycleKind::Apply, day).await
}

fn line(key: &str, status: &str, start: &str, end: &str) -> String {
    format!(
        "{key},{key}n,Test,{}@corp.example,Sales,Rep,{status},{start},{end},\n",
        key.to_lowercase()
    )
}

/// True when a write request's body turns an account off (PATCH op or PUT body).
fn turns_off(body: &str) -> bool {
    let compact = serde_json::from_str::<Value>(body)
        .map(|v| v.to_string())
        .unwrap_or_default();
    compact.contains("\"active\":false")
        || (compact.contains("\"path\":\"active\"") && compact.contains("\"value\":false"))
}

async fn links(env: &Env) -> BTreeMap<String, hrsync_state::Link> {
    let store = Store::open_read_only(&env.state).await.expect("state");
    store
        .links(Some("app"))
        .await
        .expect("links")
        .into_iter()
        .map(|l| (l.person_key.clone(), l))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_adopts_a_hand_made_account_with_the_user_name_and_never_deactivates_it() {
    let sb = sandbox().await;
    let hand = seed_account(&sb, json!({"userName": "e1@corp.example", "active": true})).await;
    let stranger = seed_account(
        &sb,
        json!({"userName": "stranger@corp.example", "active": true}),
    )
    .await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let env = Env::new(&format!(
        "{HEADER}{}{}",
        line("E1", "active", "2020-01-01", ""),
        line("E2", "active", "2020-01-01", "")
    ));
    env.write_config(&env.app("app", &px.base_url(), "orphans = \"deactivate\""));
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Requests that turn an account off, by path and body (a Bulk request carries ids in
    // its body).
    let off: Vec<String> = px
        .seen()
        .iter()
        .filter(|s| s.method != "GET" && turns_off(&s.body))
        .map(|s| format!("{} {}", s.path, s.body))
        .collect();
    assert!(
        !off.iter().any(|r| r.contains(&hand)),
        "E1's account turned off: {off:?}"
    );
    assert!(
        off.iter().any(|r| r.contains(&stranger)),
        "the true orphan is turned off: {off:?}"
    );
    let users = sb.users().await;
    let e1 = by_user_name(&users, "e1@corp.example");
    assert_eq!(e1.len(), 1, "no duplicate");
    assert_eq!(
        e1[0]["id"],
        hand.as_str(),
        "the hand-made account is adopted"
    );
    assert_eq!(e1[0]["externalId"], "E1");
    assert_eq!(e1[0]["active"], true);
    assert_eq!(by_external_id(&users, "E2").len(), 1);
    assert_eq!(links(&env).await["E1"].remote_id, hand);
    let audit = run(&env, &["audit", "--user", "E1", "--format", "json"]).await;
    let rows: Value = serde_json::from_slice(&audit.stdout).expect("audit json");
    assert!(
        rows.as_array()
            .expect("rows")
            .iter()
            .all(|r| r["op"] != "deactivate"),
        "{rows:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_state_relinks_leavers_and_persons_not_yet_due_without_creating_or_deprovisioning() {
    let sb = sandbox().await;
    let env = Env::new(&format!(
        "{HEADER}{}{}{}{}",
        line("E1", "active", "2020-01-01", ""),
        line("E2", "active", "2020-01-01", ""),
        line("E3", "active", "2020-01-01", ""),
        line("E4", "active", "2026-03-06", "")
    ));
    env.write_config(&env.app(
        "app",
        &sb.base_url(),
        "pre_provision_days = 7\norphans = \"deactivate\"\n\
         deprovision = { action = \"deactivate\", delete_after_days = 30 }",
    ));
    let s = config::load(&env.config, &LoadOptions::default()).expect("config");
    apply_at(&s, 0).await;
    // E2 leaves; E3's start moves to next year (no decision yet); E4 is pre-provisioned.
    env.set_hr(&format!(
        "{HEADER}{}{}{}{}",
        line("E1", "active", "2020-01-01", ""),
        line("E2", "terminated", "2020-01-01", "2026-02-28"),
        line("E3", "active", "2027-01-04", ""),
        line("E4", "active", "2026-03-06", "")
    ));
    apply_at(&s, 1).await;
    let state_of = |users: &[Value]| -> BTreeMap<String, (Value, Value)> {
        users
            .iter()
            .map(|u| {
                let k = u["externalId"].as_str().unwrap_or_default().to_string();
                (k, (u["id"].clone(), u["active"].clone()))
            })
            .collect()
    };
    let before = state_of(&sb.users().await);
    let active = |k: &str| before[k].1.clone();
    assert_eq!(before.len(), 4);
    assert_eq!(
        [active("E1"), active("E2"), active("E3"), active("E4")],
        [json!(true), json!(false), json!(true), json!(false)]
    );

    std::fs::remove_file(&env.state).expect("delete state");
    sb.reset_stats();
    let r = cycle(&s, Mode::Resync { dry_run: false }, CycleKind::Resync, 2).await;
    assert!(r.plan.apps[0].orphans.is_empty(), "{:?}", r.plan.apps[0]);
    let done = &r.outcomes[0].done;
    assert!(
        !done.contains_key("deactivate") && !done.contains_key("delete"),
        "{done:?}"
    );
    assert_eq!(sb.stats().users_created, 0, "zero creates");
    assert_eq!(
        state_of(&sb.users().await),
        before,
        "same accounts, same states"
    );
    let links = links(&env).await;
    for (k, (id, _)) in &before {
        assert_eq!(
            Some(links[k].remote_id.as_str()),
            id.as_str(),
            "{k} relinked"
        );
    }
    assert_eq!(links["E2"].lifecycle, LinkLifecycle::Inactive);
    assert_eq!(links["E3"].lifecycle, LinkLifecycle::Active);
    assert_eq!(
        links["E2"].deactivated_at,
        Some(at(2)),
        "delete wait restarts"
    );

    let r = cycle(&s, Mode::Plan { detect_drift: true }, CycleKind::Plan, 3).await;
    assert!(
        r.plan.is_empty(),
        "every link restored: {:?}",
        r.plan.apps[0]
    );
    // The leaver's delete_after_days wait is kept: deleted 30 days after the relink.
    apply_at(&s, 31).await;
    assert_eq!(by_external_id(&sb.users().await, "E2").len(), 1);
    apply_at(&s, 32).await;
    let users = sb.users().await;
    assert!(by_external_id(&users, "E2").is_empty(), "deleted when due");
    assert_eq!(users.len(), 3);
}
