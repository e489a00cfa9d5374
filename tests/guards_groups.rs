//! Deprovision guards, groups, the order of requests within an app and date-aware
//! lifecycle, over HTTP against the sandbox: `max_deprovision_count` holds (visible in
//! `plan` and `status`) until `--allow-mass-deprovision`; `delete_empty_groups` on and off;
//! a same-name group hrsync did not create is never touched; deprovisions, then
//! reactivations and updates, then creates, then memberships; a future `end_date` keeps the
//! account until it passes; `leave` keeps the account by default.

use chrono::{DateTime, TimeZone, Utc};
use hrsync::config::{self, LoadOptions};
use hrsync::engine::{run_cycle, CycleOptions, Mode};
use hrsync_state::CycleKind;
use reqwest::Method;
use serde_json::{json, Value};

use crate::conflicts_drift::{id_of, one, out, scim, stranger};
use crate::util::push::{apply, csv, people, proxy, run, status_json, Action, Person};
use crate::util::*;

const GROUPS: &str = "\n[[apps.groups]]\nname = \"dept-{{ department | slug }}\"\n";

fn with_guards(env: &Env, guards: &str) {
    let text = std::fs::read_to_string(&env.config).expect("read config");
    std::fs::write(
        &env.config,
        text.replace("max_deprovision_count = 50", guards),
    )
    .expect("write config");
}

fn terminated(mut p: Person) -> Person {
    p.status = "terminated".into();
    p
}

async fn groups(base_url: &str) -> Vec<Value> {
    scim(base_url, Method::GET, "/Groups", None).await["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn named<'a>(groups: &'a [Value], name: &str) -> Vec<&'a Value> {
    groups.iter().filter(|g| g["displayName"] == name).collect()
}

fn member_ids(g: &Value) -> Vec<String> {
    let mut m: Vec<String> = g["members"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    m.sort();
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn count_guard_holds_deprovisions_visibly_until_released() {
    let sb = sandbox().await;
    let mut persons = people(10);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    // The percentage guard is off (100 %), so only the count guard can hold.
    with_guards(
        &env,
        "max_deprovision_count = 2\nmax_deprovision_percent = 100.0",
    );
    assert_eq!(apply(&env).await.status.code(), Some(0));
    for p in persons.iter_mut().take(2) {
        *p = terminated(p.clone());
    }
    env.set_hr(&csv(&persons));
    let o = apply(&env).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "two is the limit, not over: {}",
        text(&o)
    );
    let users = sb.users().await;
    assert_eq!(one(&users, "E0001")["active"], false);
    assert_eq!(one(&users, "E0002")["active"], false);

    for p in persons.iter_mut().take(5).skip(2) {
        *p = terminated(p.clone());
    }
    persons.push(Person::numbered(11));
    env.set_hr(&csv(&persons));
    let plan = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(
        plan.status.code(),
        Some(2),
        "held work is pending: {}",
        text(&plan)
    );
    let t = out(&plan);
    for k in ["E0003", "E0004", "E0005"] {
        assert!(t.contains(&format!("- held: deactivate   {k}")), "{t}");
    }
    assert!(
        t.contains("3 operation(s) held: 3 deprovisions exceed max_deprovision_count = 2"),
        "{t}"
    );
    assert!(t.contains("+ create       E0011"), "{t}");
    let doc: Value = serde_json::from_slice(&run(&env, &["plan", "--format", "json"]).await.stdout)
        .expect("json");
    assert_eq!(doc["apps"][0]["summary"]["held"], 3, "{doc:#}");
    assert_eq!(doc["apps"][0]["held"][0]["operation"]["key"], "E0003");
    let md = out(&run(&env, &["plan", "--format", "markdown"]).await);
    assert!(md.contains("| held deactivate | E0003 |"), "{md}");

    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let users = sb.users().await;
    assert_eq!(one(&users, "E0011")["active"], true, "the joiner went out");
    for k in ["E0003", "E0004", "E0005"] {
        assert_eq!(one(&users, k)["active"], true, "{k} held");
    }
    let status = out(&run(&env, &["status"]).await);
    assert!(
        status.contains("held deactivate E0004: 3 deprovisions exceed max_deprovision_count = 2"),
        "{status}"
    );
    let doc = status_json(&env).await;
    assert_eq!(doc["apps"][0]["held"].as_array().map(Vec::len), Some(3));

    let o = run(&env, &["apply", "--yes", "--allow-mass-deprovision"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    for k in ["E0003", "E0004", "E0005"] {
        assert_eq!(one(&users, k)["active"], false, "{k} released");
    }
    assert_eq!(status_json(&env).await["apps"][0]["held"], json!([]));
}

/// Two persons in two departments, then the Support one moves to Sales.
async fn emptied_group(delete_empty: bool) -> (hrsync_sandbox::SandboxHandle, Env) {
    let sb = sandbox().await;
    let mut persons = people(2);
    persons[1].dept = "Support".into();
    let env = Env::new(&csv(&persons));
    let extra = format!("delete_empty_groups = {delete_empty}");
    env.write_config(&format!(
        "{}{GROUPS}",
        env.app("app", &sb.base_url(), &extra)
    ));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    let gs = groups(&sb.base_url()).await;
    let support = named(&gs, "dept-support");
    assert_eq!(support.len(), 1, "{gs:#?}");
    assert_eq!(member_ids(support[0]).len(), 1);
    persons[1].dept = "Sales".into();
    env.set_hr(&csv(&persons));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    let gs = groups(&sb.base_url()).await;
    let mut both = vec![id_of(&users, "E0001"), id_of(&users, "E0002")];
    both.sort();
    assert_eq!(member_ids(named(&gs, "dept-sales")[0]), both);
    (sb, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_managed_group_is_deleted_when_configured() {
    let (sb, env) = emptied_group(true).await;
    let gs = groups(&sb.base_url()).await;
    assert!(named(&gs, "dept-support").is_empty(), "{gs:#?}");
    sb.reset_stats();
    assert_eq!(apply(&env).await.status.code(), Some(0));
    assert_eq!(sb.stats().writes, 0, "converged: {:?}", sb.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_managed_group_is_kept_by_default() {
    let (sb, env) = emptied_group(false).await;
    let gs = groups(&sb.base_url()).await;
    let support = named(&gs, "dept-support");
    assert_eq!(support.len(), 1, "{gs:#?}");
    assert!(member_ids(support[0]).is_empty(), "{gs:#?}");
    sb.reset_stats();
    assert_eq!(apply(&env).await.status.code(), Some(0));
    assert_eq!(sb.stats().writes, 0, "converged: {:?}", sb.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_name_group_hrsync_did_not_create_is_left_alone() {
    let sb = sandbox().await;
    let base = sb.base_url();
    let other = stranger(&base, "stranger@corp.example").await;
    let foreign = scim(
        &base,
        Method::POST,
        "/Groups",
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "dept-sales", "members": [{"value": other}]}),
        ),
    )
    .await;
    let foreign_id = foreign["id"].as_str().expect("id").to_string();
    let before = scim(&base, Method::GET, &format!("/Groups/{foreign_id}"), None).await;
    let mut persons = people(2);
    persons[1].dept = "Support".into();
    let env = Env::new(&csv(&persons));
    env.write_config(&format!(
        "{}{GROUPS}",
        env.app("app", &base, "delete_empty_groups = true")
    ));
    let o = apply(&env).await;
    assert!(
        text(&o).contains("hrsync did not create it"),
        "the refusal is reported: {}",
        text(&o)
    );
    let gs = groups(&base).await;
    assert_eq!(
        named(&gs, "dept-sales").len(),
        1,
        "no second group: {gs:#?}"
    );
    assert_eq!(named(&gs, "dept-support").len(), 1, "its own group is made");
    // Everyone leaves Sales: an empty group of someone else's is still not deleted.
    persons[0].dept = "Support".into();
    env.set_hr(&csv(&persons));
    apply(&env).await;
    let after = scim(&base, Method::GET, &format!("/Groups/{foreign_id}"), None).await;
    assert_eq!(after, before, "not a member added or removed, not renamed");
    let users = sb.users().await;
    let mut want = vec![id_of(&users, "E0001"), id_of(&users, "E0002")];
    want.sort();
    assert_eq!(
        member_ids(named(&groups(&base).await, "dept-support")[0]),
        want
    );
}

/// Each write request as (phase, what): a Bulk request counts as its operations.
fn write_phases(seen: &[crate::util::push::Seen], deprovisioned: &[String]) -> Vec<(u8, String)> {
    let mut writes: Vec<(String, String, Value)> = Vec::new();
    for s in seen {
        let path = s.path.trim_start_matches("/scim/v2").to_string();
        let body: Value = serde_json::from_str(&s.body).unwrap_or(Value::Null);
        if path == "/Bulk" {
            for op in body["Operations"].as_array().into_iter().flatten() {
                writes.push((
                    op["method"].as_str().unwrap_or("").to_uppercase(),
                    op["path"].as_str().unwrap_or("").to_string(),
                    op["data"].clone(),
                ));
            }
        } else if s.method != Method::GET && !path.ends_with("/.search") {
            writes.push((s.method.to_string(), path, body));
        }
    }
    writes
        .into_iter()
        .map(|(method, path, _)| {
            let id = path.rsplit('/').next().unwrap_or("").to_string();
            let phase = match (method.as_str(), path.starts_with("/Users")) {
                ("POST", true) => 2,
                ("DELETE", true) => 0,
                (_, true) if deprovisioned.contains(&id) => 0,
                (_, true) => 1,
                ("POST", false) => 3,
                ("DELETE", false) => 5,
                _ => 4,
            };
            (phase, format!("{method} {path}"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn within_an_app_deprovisions_go_first_then_updates_then_creates_then_memberships() {
    let sb = sandbox().await;
    let px = proxy(sb.addr(), |_, _, _| Action::Forward).await;
    let mut persons = people(5);
    let env = Env::new(&csv(&persons));
    env.write_config(&format!("{}{GROUPS}", env.app("app", &px.base_url(), "")));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    persons[4] = terminated(persons[4].clone());
    env.set_hr(&csv(&persons));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    let users = sb.users().await;
    let (leaver, returner) = (id_of(&users, "E0001"), id_of(&users, "E0005"));

    persons[0] = terminated(persons[0].clone());
    persons[1].title = "Lead".into();
    persons[2].dept = "Support".into();
    persons[4].status = "active".into();
    let mut joiner = Person::numbered(6);
    joiner.dept = "Support".into();
    persons.push(joiner);
    env.set_hr(&csv(&persons));
    px.clear();
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let phases = write_phases(&px.seen(), std::slice::from_ref(&leaver));
    let order: Vec<u8> = phases.iter().map(|(p, _)| *p).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "out of order: {phases:#?}");
    for phase in [0, 1, 2, 3, 4] {
        assert!(order.contains(&phase), "phase {phase} missing: {phases:#?}");
    }
    assert!(
        phases[0].1.ends_with(&leaver),
        "the leaver first: {phases:#?}"
    );
    assert!(
        phases
            .iter()
            .any(|(p, w)| *p == 1 && w.ends_with(&returner)),
        "the reactivation is among the updates: {phases:#?}"
    );
    let users = sb.users().await;
    assert_eq!(one(&users, "E0001")["active"], false);
    assert_eq!(one(&users, "E0005")["active"], true);
    assert_eq!(one(&users, "E0006")["active"], true);
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("date")
        + chrono::Duration::days(i64::from(day))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn future_end_date_keeps_the_account_until_it_has_passed() {
    let sb = sandbox().await;
    let line = |key: &str, status: &str, end: &str| {
        format!(
            "{key},{key}n,Test,{}@corp.example,Sales,Rep,{status},2020-01-01,{end},\n",
            key.to_lowercase()
        )
    };
    let env = Env::new(&format!(
        "{HEADER}{}{}",
        line("E1", "active", "2026-03-10"),
        line("E2", "active", "")
    ));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let settings = config::load(&env.config, &LoadOptions::default()).expect("config");
    let cycle = |day: u32| {
        let mut o = CycleOptions::new(Mode::Apply, CycleKind::Apply);
        o.now = at(day);
        run_cycle(&settings, o)
    };
    cycle(0).await.expect("cycle");
    assert_eq!(one(&sb.users().await, "E1")["active"], true, "created");
    sb.reset_stats();
    cycle(9).await.expect("cycle");
    assert_eq!(sb.stats().writes, 0, "the last working day: kept");
    assert_eq!(one(&sb.users().await, "E1")["active"], true);
    let r = cycle(10).await.expect("cycle");
    assert_eq!(r.held(), 0);
    let users = sb.users().await;
    assert_eq!(
        one(&users, "E1")["active"],
        false,
        "deprovisioned the day after"
    );
    assert_eq!(one(&users, "E2")["active"], true, "only the leaver");
    assert_eq!(sb.stats().writes, 1, "one deactivation: {:?}", sb.stats());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_keeps_the_account_active_by_default() {
    let sb = sandbox().await;
    let mut persons = people(2);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    let id = id_of(&sb.users().await, "E0001");
    persons[0].status = "leave".into();
    env.set_hr(&csv(&persons));
    sb.reset_stats();
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.stats().writes, 0, "{:?}", sb.stats());
    let users = sb.users().await;
    assert_eq!(
        one(&users, "E0001")["active"],
        true,
        "leave = keep (default)"
    );
    assert_eq!(id_of(&users, "E0001"), id);
    // The same person leaving for good is deprovisioned: the status was read.
    persons[0].status = "terminated".into();
    env.set_hr(&csv(&persons));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    assert_eq!(one(&sb.users().await, "E0001")["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_and_a_remove_on_one_group_in_one_cycle_are_both_recorded() {
    // Latency makes the add and the remove on dept-sales overlap in flight.
    let sb = sandbox_with(hrsync_sandbox::SandboxOptions {
        faults: hrsync_sandbox::Faults {
            latency_ms: 60,
            ..hrsync_sandbox::Faults::default()
        },
        ..hrsync_sandbox::SandboxOptions::default()
    })
    .await;
    let mut persons = people(6);
    let env = Env::new(&csv(&persons));
    env.write_config(&format!(
        "{}{GROUPS}",
        env.app("app", &sb.base_url(), "bulk = false\nconcurrency = 4")
    ));
    assert_eq!(apply(&env).await.status.code(), Some(0));
    for p in persons.iter_mut().take(3) {
        p.dept = "Support".into();
    }
    persons.extend((7..=9).map(Person::numbered));
    env.set_hr(&csv(&persons));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    let mut sales: Vec<String> = ["E0004", "E0005", "E0006", "E0007", "E0008", "E0009"]
        .iter()
        .map(|k| id_of(&users, k))
        .collect();
    sales.sort();
    let gs = groups(&sb.base_url()).await;
    assert_eq!(member_ids(named(&gs, "dept-sales")[0]), sales, "{gs:#?}");
    sb.reset_stats();
    let o = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(
        o.status.code(),
        Some(0),
        "the state holds both membership changes, nothing is planned again: {}",
        text(&o)
    );
}
