//! Date-aware lifecycle through the library with the cycle's time passed in: pre-
//! provisioning, delete after N days, leave, daily deprovision limit, orphans policy,
//! multi-source precedence.

use chrono::{DateTime, TimeZone, Utc};
use hrsync::config::{self, LoadOptions, Settings};
use hrsync::engine::{run_cycle, CycleOptions, CycleReport, Mode};
use hrsync_state::CycleKind;
use serde_json::json;

use crate::util::*;

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0)
        .single()
        .expect("date")
        + chrono::Duration::days(i64::from(day))
}

fn load(env: &Env) -> Settings {
    config::load(&env.config, &LoadOptions::default()).expect("config")
}

async fn apply_at(settings: &Settings, day: u32) -> CycleReport {
    let mut o = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    o.now = at(day);
    run_cycle(settings, o).await.expect("cycle")
}

async fn resync_at(settings: &Settings, day: u32) -> CycleReport {
    let mut o = CycleOptions::new(Mode::Resync { dry_run: false }, CycleKind::Resync);
    o.now = at(day);
    run_cycle(settings, o).await.expect("cycle")
}

fn line(key: &str, status: &str, start: &str, end: &str) -> String {
    format!(
        "{key},{key}n,Test,{}@corp.example,Sales,Rep,{status},{start},{end},\n",
        key.to_lowercase()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pre_provisioned_inactive_then_activated_on_the_start_date() {
    let sb = sandbox().await;
    let env = Env::new(&format!(
        "{HEADER}{}{}",
        line("E1", "active", "2020-01-01", ""),
        line("E2", "active", "2026-03-11", "")
    ));
    env.write_config(&env.app("app", &sb.base_url(), "pre_provision_days = 7"));
    let s = load(&env);
    apply_at(&s, 0).await;
    assert!(
        by_external_id(&sb.users().await, "E2").is_empty(),
        "ten days early: nothing"
    );
    apply_at(&s, 4).await;
    let u = sb.users().await;
    assert_eq!(by_external_id(&u, "E2").len(), 1, "six days early: created");
    assert_eq!(
        by_external_id(&u, "E2")[0]["active"],
        false,
        "inactive until the start date"
    );
    let id = by_external_id(&u, "E2")[0]["id"].clone();
    let report = apply_at(&s, 10).await;
    let reasons: Vec<String> = report.plan.apps[0]
        .operations
        .iter()
        .filter(|o| o.key == "E2")
        .filter_map(|o| o.reason.clone())
        .collect();
    assert_eq!(
        reasons,
        ["starts 2026-03-11: pre-provisioned account activated"],
        "the plan says why, not 'rehire'"
    );
    let u = sb.users().await;
    assert_eq!(
        by_external_id(&u, "E2")[0]["active"],
        true,
        "activated on the day"
    );
    assert_eq!(by_external_id(&u, "E2")[0]["id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deactivated_then_deleted_after_delete_after_days() {
    let sb = sandbox().await;
    let env = Env::new(&format!(
        "{HEADER}{}{}",
        line("E1", "active", "2020-01-01", ""),
        line("E2", "active", "2020-01-01", "")
    ));
    env.write_config(&env.app(
        "app",
        &sb.base_url(),
        "deprovision = { action = \"deactivate\", delete_after_days = 30 }",
    ));
    let s = load(&env);
    apply_at(&s, 0).await;
    env.set_hr(&format!(
        "{HEADER}{}{}",
        line("E1", "active", "2020-01-01", ""),
        line("E2", "terminated", "2020-01-01", "2026-02-28")
    ));
    apply_at(&s, 1).await;
    assert_eq!(by_external_id(&sb.users().await, "E2")[0]["active"], false);
    sb.reset_stats();
    apply_at(&s, 30).await;
    assert_eq!(
        sb.stats().writes,
        0,
        "29 days after deactivation: nothing yet"
    );
    apply_at(&s, 32).await;
    assert!(
        by_external_id(&sb.users().await, "E2").is_empty(),
        "deleted after 30 days"
    );
    assert_eq!(sb.stats().by_method.get("DELETE").copied(), Some(1));
    assert_eq!(
        by_external_id(&sb.users().await, "E1").len(),
        1,
        "only the leaver"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_deactivates_when_configured_and_return_reactivates_the_same_account() {
    let sb = sandbox().await;
    let env = Env::new(&format!(
        "{HEADER}{}",
        line("E1", "active", "2020-01-01", "")
    ));
    env.write_config(&env.app("app", &sb.base_url(), "leave = \"deactivate\""));
    let s = load(&env);
    apply_at(&s, 0).await;
    let id = by_external_id(&sb.users().await, "E1")[0]["id"].clone();
    env.set_hr(&format!(
        "{HEADER}{}",
        line("E1", "leave", "2020-01-01", "")
    ));
    apply_at(&s, 1).await;
    assert_eq!(by_external_id(&sb.users().await, "E1")[0]["active"], false);
    env.set_hr(&format!(
        "{HEADER}{}",
        line("E1", "active", "2020-01-01", "")
    ));
    apply_at(&s, 2).await;
    let u = sb.users().await;
    assert_eq!(by_external_id(&u, "E1")[0]["active"], true);
    assert_eq!(by_external_id(&u, "E1")[0]["id"], id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_deprovision_limit_holds_until_released() {
    let sb = sandbox().await;
    let rows: Vec<String> = (1..=4)
        .map(|i| line(&format!("E{i}"), "active", "2020-01-01", ""))
        .collect();
    let env = Env::new(&format!("{HEADER}{}", rows.concat()));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let text = std::fs::read_to_string(&env.config).expect("read");
    std::fs::write(
        &env.config,
        text.replace(
            "max_deprovision_count = 50",
            "max_deprovision_count = 50\nmax_deprovision_per_day = 2",
        ),
    )
    .expect("write");
    let s = load(&env);
    apply_at(&s, 0).await;
    let term = |k: &str| line(k, "terminated", "2020-01-01", "2026-02-01");
    env.set_hr(&format!(
        "{HEADER}{}{}{}{}",
        term("E1"),
        term("E2"),
        line("E3", "active", "2020-01-01", ""),
        line("E4", "active", "2020-01-01", "")
    ));
    let r = apply_at(&s, 1).await;
    assert_eq!(r.held(), 0);
    env.set_hr(&format!(
        "{HEADER}{}{}{}{}",
        term("E1"),
        term("E2"),
        term("E3"),
        line("E4", "active", "2020-01-01", "")
    ));
    let r = apply_at(&s, 1).await;
    assert_eq!(r.held(), 1, "a third deprovision the same day is held");
    assert_eq!(by_external_id(&sb.users().await, "E3")[0]["active"], true);
    let mut o = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    o.now = at(1);
    o.allow_mass_deprovision = true;
    let r = run_cycle(&s, o).await.expect("cycle");
    assert_eq!(r.held(), 0, "released by --allow-mass-deprovision");
    assert_eq!(by_external_id(&sb.users().await, "E3")[0]["active"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_deactivate_policy_spares_exempt_accounts() {
    let sb = sandbox().await;
    for name in ["stranger@corp.example", "breakglass@corp.example"] {
        reqwest::Client::new()
            .post(format!("{}/Users", sb.base_url()))
            .bearer_auth(TOKEN)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "active": true}))
            .send()
            .await
            .expect("seed");
    }
    let env = Env::new(&format!(
        "{HEADER}{}",
        line("E1", "active", "2020-01-01", "")
    ));
    env.write_config(&env.app(
        "app",
        &sb.base_url(),
        "orphans = \"deactivate\"\nexempt = [\"breakglass@corp.example\"]",
    ));
    let s = load(&env);
    apply_at(&s, 0).await;
    let u = sb.users().await;
    assert_eq!(
        by_user_name(&u, "stranger@corp.example")[0]["active"],
        true,
        "apply never touches orphans"
    );
    resync_at(&s, 0).await;
    let u = sb.users().await;
    assert_eq!(
        by_user_name(&u, "stranger@corp.example")[0]["active"],
        false,
        "resync deactivates orphans when configured"
    );
    assert_eq!(
        by_user_name(&u, "breakglass@corp.example")[0]["active"],
        true,
        "exempt is never touched"
    );
    assert_eq!(by_external_id(&u, "E1")[0]["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_sources_merge_per_attribute_by_priority() {
    let sb = sandbox().await;
    let env = Env::new(&format!(
        "{HEADER}E1,Ana,Lima,ana@corp.example,Engineering,Engineer,active,2020-01-01,,\n"
    ));
    let second = env.dir.path().join("directory.csv");
    std::fs::write(
        &second,
        "employee_id,job_title,phone\nE1,Eng II (directory),+351 555 0100\n",
    )
    .expect("write");
    env.write_config(&format!(
        "[[sources]]\nname = \"directory\"\nkind = \"csv\"\npath = \"{}\"\npriority = 1\n\n{}",
        second.display(),
        env.app("app", &sb.base_url(), "")
    ));
    let text = std::fs::read_to_string(&env.config).expect("read");
    std::fs::write(
        &env.config,
        text.replace("key = \"employee_id\"\n", "key = \"employee_id\"\npriority = 10\n")
            .replace("title = \"{{ job_title }}\"", "title = \"{{ job_title }}\"\n\"phoneNumbers[type eq \\\"work\\\"].value\" = \"{{ phone }}\""),
    )
    .expect("write");
    let s = load(&env);
    let r = apply_at(&s, 0).await;
    assert_eq!(r.failures(), 0, "{:?}", r.outcomes);
    let u = sb.users().await;
    let ana = by_external_id(&u, "E1");
    assert_eq!(
        ana.len(),
        1,
        "one person known to two sources is one account"
    );
    assert_eq!(
        ana[0]["title"], "Engineer",
        "the higher priority source wins"
    );
    assert_eq!(
        ana[0]["phoneNumbers"][0]["value"], "+351 555 0100",
        "fields only the other source knows are merged in"
    );
    assert_eq!(ana[0]["userName"], "ana@corp.example");
}
