//! Reconciliation in full, over HTTP against the sandbox: lost state repaired by resync,
//! source and deprovision guards, conflict rules on manual edits, saved plans, groups,
//! absence grace, surgical resync, status and audit.

use serde_json::{json, Value};

use crate::util::*;

fn row(key: &str, first: &str, dept: &str, title: &str, status: &str) -> String {
    let end = if status == "terminated" {
        "2025-01-31"
    } else {
        ""
    };
    format!(
        "{key},{first},Test,{}.test@corp.example,{dept},{title},{status},2020-01-01,{end},\n",
        first.to_lowercase()
    )
}

fn people(n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            row(
                &format!("E{i:03}"),
                &format!("P{i:03}"),
                "Sales",
                "Rep",
                "active",
            )
        })
        .collect()
}

fn csv(rows: &[String]) -> String {
    format!("{HEADER}{}", rows.concat())
}

async fn run(env: &Env, args: &[&str]) -> std::process::Output {
    let config = env.config.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_cmd(&config, &a)
    })
    .await
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).to_string()
}

async fn patch_title(sb: &hrsync_sandbox::SandboxHandle, id: &str, title: &str) {
    let resp = reqwest::Client::new()
        .patch(format!("{}/Users/{id}", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": title}]
        }))
        .send()
        .await
        .expect("patch");
    assert!(
        resp.status().is_success(),
        "manual edit failed: {}",
        resp.status()
    );
}

async fn groups(sb: &hrsync_sandbox::SandboxHandle) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{}/Groups", sb.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("groups")
        .json()
        .await
        .expect("json");
    v["Resources"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_state_file_is_repaired_by_resync_with_the_same_accounts() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(6)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let before: Vec<(Value, Value)> = sb
        .users()
        .await
        .iter()
        .map(|u| (u["externalId"].clone(), u["id"].clone()))
        .collect();
    assert_eq!(before.len(), 6);

    std::fs::remove_file(&env.state).expect("delete state");
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    let after: Vec<(Value, Value)> = users
        .iter()
        .map(|u| (u["externalId"].clone(), u["id"].clone()))
        .collect();
    assert_eq!(after, before, "same accounts, same ids, no duplicates");
    assert!(
        users.iter().all(|u| u["active"] == true),
        "nobody deprovisioned"
    );
    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "every link restored: {}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emptied_hr_file_aborts_with_exit_3_and_deprovisions_nobody() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(5)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    env.set_hr(HEADER);
    sb.reset_stats();
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("min_source_records"));
    assert_eq!(sb.stats().writes, 0, "nothing written");
    assert!(sb.users().await.iter().all(|u| u["active"] == true));
    // A shrink beyond max_source_drop_percent is refused the same way.
    env.set_hr(&csv(&people(3)));
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_source_drop_percent"));
    assert_eq!(sb.stats().writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mass_termination_is_held_while_joiners_are_created() {
    let sb = sandbox().await;
    let mut rows = people(10);
    let env = Env::new(&csv(&rows));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    for r in rows.iter_mut().take(3) {
        *r = r.replace(",active,2020-01-01,,", ",terminated,2020-01-01,2025-01-31,");
    }
    rows.push(row("E900", "Joiner", "Sales", "Rep", "active"));
    env.set_hr(&csv(&rows));
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(3), "guards held: {}", text(&out));
    assert!(stdout(&out).contains("held"), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(
        by_external_id(&users, "E900").len(),
        1,
        "the joiner went out"
    );
    assert!(
        users.iter().all(|u| u["active"] == true),
        "30% terminated at once: deprovisions are held"
    );
    let status = run(&env, &["status"]).await;
    assert!(
        stdout(&status).contains("held deactivate E001"),
        "{}",
        text(&status)
    );

    let out = run(&env, &["apply", "--yes", "--allow-mass-deprovision"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    for k in ["E001", "E002", "E003"] {
        assert_eq!(
            by_external_id(&users, k)[0]["active"],
            false,
            "{k} released"
        );
    }
    let status = run(&env, &["status", "--format", "json"]).await;
    let doc: Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(doc["apps"][0]["held"], json!([]), "nothing held any more");
}

async fn manual_edit_case(rule: &str) -> (Env, hrsync_sandbox::SandboxHandle, String) {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(2)));
    env.write_config(&format!(
        "{}\n[apps.conflicts]\ndefault = \"{rule}\"\n",
        env.app("app", &sb.base_url(), "")
    ));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let id = by_external_id(&sb.users().await, "E001")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    patch_title(&sb, &id, "Edited By Hand").await;
    (env, sb, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_title_change_under_hr_wins_is_corrected_by_resync() {
    let (env, sb, _) = manual_edit_case("hr_wins").await;
    let drift = run(&env, &["plan", "--detect-drift"]).await;
    assert!(
        stdout(&drift).contains("\"Edited By Hand\" → \"Rep\""),
        "drift shown: {}",
        text(&drift)
    );
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(by_external_id(&sb.users().await, "E001")[0]["title"], "Rep");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_title_change_under_app_wins_is_kept_and_title_becomes_create_only() {
    let (env, sb, _) = manual_edit_case("app_wins").await;
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        by_external_id(&sb.users().await, "E001")[0]["title"],
        "Edited By Hand"
    );
    // HR changes the title later: app_wins makes it create-only, nothing is pushed.
    let mut rows = people(2);
    rows[0] = row("E001", "P001", "Sales", "Senior Rep", "active");
    env.set_hr(&csv(&rows));
    sb.reset_stats();
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.stats().writes, 0, "{:?}", sb.stats());
    assert_eq!(
        by_external_id(&sb.users().await, "E001")[0]["title"],
        "Edited By Hand"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_title_change_under_report_is_listed_and_left_alone() {
    let (env, sb, _) = manual_edit_case("report").await;
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stdout(&out).contains("conflict E001 title"),
        "{}",
        text(&out)
    );
    assert_eq!(
        by_external_id(&sb.users().await, "E001")[0]["title"],
        "Edited By Hand"
    );
    let status = run(&env, &["status"]).await;
    assert!(
        stdout(&status).contains("conflict E001 title"),
        "{}",
        text(&status)
    );
    let json_plan = run(&env, &["plan", "--detect-drift", "--format", "json"]).await;
    let doc: Value = serde_json::from_slice(&json_plan.stdout).expect("json");
    assert_eq!(doc["apps"][0]["conflicts"][0]["path"], "title", "{doc:#}");
    assert_eq!(doc["apps"][0]["conflicts"][0]["app"], "Edited By Hand");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_plan_applies_exactly_and_is_refused_after_hr_changed() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(3)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let planfile = env.dir.path().join("reviewed.plan.json");
    let p = planfile.to_str().expect("path").to_string();
    let out = run(&env, &["plan", "--save", &p]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&env, &["apply", "--plan", &p]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 3);

    let out = run(&env, &["plan", "--save", &p]).await;
    assert_eq!(out.status.code(), Some(0));
    let mut rows = people(3);
    rows.push(row("E777", "Late", "Sales", "Rep", "active"));
    env.set_hr(&csv(&rows));
    sb.reset_stats();
    let out = run(&env, &["apply", "--plan", &p]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stale"),
        "{}",
        text(&out)
    );
    assert_eq!(
        sb.stats().writes,
        0,
        "nothing but the reviewed plan goes out"
    );
    assert!(by_external_id(&sb.users().await, "E777").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_memberships_follow_department_moves() {
    let sb = sandbox().await;
    let rows = vec![
        row("E001", "Ana", "Sales", "Rep", "active"),
        row("E002", "Bo", "Sales", "Rep", "active"),
        row("E003", "Cy", "Support", "Agent", "active"),
    ];
    let env = Env::new(&csv(&rows));
    env.write_config(&format!(
        "{}\n[[apps.groups]]\nname = \"dept-{{{{ department | slug }}}}\"\n",
        env.app("app", &sb.base_url(), "")
    ));
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    let id = |k: &str| by_external_id(&users, k)[0]["id"].clone();
    let members = |g: &Value| -> Vec<Value> {
        let mut m: Vec<Value> = g["members"]
            .as_array()
            .map(|a| a.iter().map(|m| m["value"].clone()).collect())
            .unwrap_or_default();
        m.sort_by_key(|v| v.to_string());
        m
    };
    let gs = groups(&sb).await;
    let sales = gs
        .iter()
        .find(|g| g["displayName"] == "dept-sales")
        .expect("dept-sales");
    let mut want = vec![id("E001"), id("E002")];
    want.sort_by_key(|v| v.to_string());
    assert_eq!(members(sales), want);

    let moved = vec![
        row("E001", "Ana", "Sales", "Rep", "active"),
        row("E002", "Bo", "Support", "Agent", "active"),
        row("E003", "Cy", "Support", "Agent", "active"),
    ];
    env.set_hr(&csv(&moved));
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let gs = groups(&sb).await;
    let sales = gs
        .iter()
        .find(|g| g["displayName"] == "dept-sales")
        .expect("sales");
    let support = gs
        .iter()
        .find(|g| g["displayName"] == "dept-support")
        .expect("support");
    assert_eq!(members(sales), vec![id("E001")]);
    let mut want = vec![id("E002"), id("E003")];
    want.sort_by_key(|v| v.to_string());
    assert_eq!(members(support), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_person_is_deprovisioned_only_after_the_grace_cycles() {
    let sb = sandbox().await;
    let mut rows = people(20);
    let env = Env::new(&csv(&rows));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    rows.remove(0);
    env.set_hr(&csv(&rows));
    for cycle in 1..=2 {
        let out = run(&env, &["apply", "--yes"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(
            by_external_id(&sb.users().await, "E001")[0]["active"],
            true,
            "absent {cycle} time(s): kept"
        );
    }
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        by_external_id(&sb.users().await, "E001")[0]["active"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn surgical_resync_touches_only_the_named_person() {
    let (env, sb, _) = manual_edit_case("hr_wins").await;
    let id2 = by_external_id(&sb.users().await, "E002")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    patch_title(&sb, &id2, "Also Edited").await;
    let dry = run(&env, &["resync", "--user", "E002", "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        stdout(&dry).contains("E002") && !stdout(&dry).contains("E001"),
        "{}",
        text(&dry)
    );
    assert_eq!(
        by_external_id(&sb.users().await, "E002")[0]["title"],
        "Also Edited",
        "dry run"
    );
    let out = run(&env, &["resync", "--user", "E002"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(by_external_id(&users, "E002")[0]["title"], "Rep");
    assert_eq!(
        by_external_id(&users, "E001")[0]["title"],
        "Edited By Hand",
        "untouched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphans_are_reported_and_left_alone_and_audit_is_queryable() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(2)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    reqwest::Client::new()
        .post(format!("{}/Users", sb.base_url()))
        .bearer_auth(TOKEN)
        .json(
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                      "userName": "stranger@corp.example", "active": true}),
        )
        .send()
        .await
        .expect("seed");
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let out = run(&env, &["plan", "--detect-drift"]).await;
    assert!(
        stdout(&out).contains("orphan") && stdout(&out).contains("stranger@corp.example"),
        "{}",
        text(&out)
    );
    let out = run(&env, &["resync"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    assert_eq!(
        by_user_name(&users, "stranger@corp.example")[0]["active"],
        true
    );

    let out = run(&env, &["audit", "--user", "E001", "--format", "json"]).await;
    let rows: Value = serde_json::from_slice(&out.stdout).expect("audit json");
    let rows = rows.as_array().expect("array");
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["person_key"] == "E001"));
    assert_eq!(rows[0]["op"], "create");
    let out = run(
        &env,
        &["audit", "--app", "app", "--since", "2000-01-01T00:00:00Z"],
    )
    .await;
    assert!(stdout(&out).contains("E002"), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quarantined_hr_record_freezes_the_person_and_never_offboards_them() {
    let sb = sandbox().await;
    let rows = people(20);
    let env = Env::new(&csv(&rows));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    assert_eq!(run(&env, &["apply", "--yes"]).await.status.code(), Some(0));
    let before = by_external_id(&sb.users().await, "E001")[0].clone();
    let twice = vec![
        rows[0].clone(),
        row("E001", "P001", "Sales", "Boss", "active"),
    ];
    let malformed = vec![rows[0].replace("p001.test@corp.example", "p001@")];
    for (case, e001) in [("duplicated", twice), ("malformed", malformed)] {
        env.set_hr(&csv(&[e001, rows[1..].to_vec()].concat()));
        // More cycles than absence_grace_cycles (3): a quarantine is never an absence.
        let mut last = String::new();
        for cycle in 1..=4 {
            sb.reset_stats();
            let out = run(&env, &["apply", "--yes"]).await;
            assert_eq!(out.status.code(), Some(0), "{case} {cycle}: {}", text(&out));
            assert_eq!(sb.stats().writes, 0, "{case} {cycle}: nothing pushed");
            assert_eq!(
                by_external_id(&sb.users().await, "E001")[0],
                &before,
                "{case} {cycle}: E001's account stays as last pushed"
            );
            last = text(&out);
        }
        assert!(
            last.contains("quarantined E001"),
            "{case}: reported: {last}"
        );
    }
    let status = run(&env, &["status", "--format", "json"]).await;
    let doc: Value = serde_json::from_slice(&status.stdout).expect("status json");
    assert_eq!(doc["quarantined_records"][0]["key"], "E001", "{doc:#}");

    let mut fixed = rows.clone();
    fixed[0] = row("E001", "P001", "Sales", "Senior Rep", "active");
    env.set_hr(&csv(&fixed));
    let out = run(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let users = sb.users().await;
    let e001 = by_external_id(&users, "E001");
    assert_eq!(e001.len(), 1);
    assert_eq!(e001[0]["id"], before["id"]);
    assert_eq!(e001[0]["title"], "Senior Rep", "normal sync resumes");
    assert_eq!(e001[0]["active"], true);
}
