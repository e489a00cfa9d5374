//! `hrsync demo`: the first thing a new user runs. Bundled HR data (examples/) is synced
//! into two embedded sandboxes on loopback: day one's plan and result, then day two's
//! joiners, movers, leavers and a rehire, and finally the accounts the app holds.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use hrsync_state::CycleKind;
use serde_json::{json, Value};

use crate::config::{self, LoadOptions, Settings};
use crate::engine::{run_cycle, CycleOptions, Mode};
use crate::error::{CommandError, CommandResult};
use crate::report;
use crate::sandbox::{self, SandboxHandle, SandboxOptions};

const DAY1: &str = include_str!("../../examples/hr_day1.csv");
const DAY2: &str = include_str!("../../examples/hr_day2.csv");
const CONFIG: &str = include_str!("../../examples/demo.toml");

fn fail(e: impl std::fmt::Display) -> CommandError {
    CommandError::Runtime(anyhow::anyhow!("demo: {e}"))
}

/// Runs the demo.
pub async fn run() -> CommandResult {
    let dir = tempfile::tempdir().map_err(fail)?;
    let token = format!("demo-{}", uuid::Uuid::new_v4());
    let token_file = dir.path().join("sandbox.token");
    std::fs::write(&token_file, &token).map_err(fail)?;
    let start = |_: &str| SandboxOptions {
        token: Some(token.clone()),
        ..SandboxOptions::default()
    };
    let wiki = sandbox::start(start("wiki")).await.map_err(fail)?;
    let crm = sandbox::start(start("crm")).await.map_err(fail)?;
    let seeded = seed_wiki(&wiki, &token).await?;

    let hr = dir.path().join("hr.csv");
    std::fs::write(&hr, DAY1).map_err(fail)?;
    let text = CONFIG
        .replace("@STATE@", &path_str(&dir.path().join("state.db")))
        .replace("@HR@", &path_str(&hr))
        .replace("@WIKI_URL@", &wiki.base_url())
        .replace("@CRM_URL@", &crm.base_url())
        .replace("@TOKEN_FILE@", &path_str(&token_file));
    let config_path = dir.path().join("demo.toml");
    std::fs::write(&config_path, &text).map_err(fail)?;
    let settings = config::parse(&config_path, &text, &LoadOptions::default())?;

    println!("hrsync demo — HR export → two SCIM apps on loopback");
    println!(
        "  wiki sandbox {}  (already holds 4 accounts made by hand)",
        wiki.base_url()
    );
    println!("  crm  sandbox {}", crm.base_url());
    println!(
        "  config: examples/demo.toml · HR: examples/hr_day1.csv, then examples/hr_day2.csv\n"
    );

    let day1 = at(2026, 12, 1);
    println!(
        "═══ Day 1 ({}) — first sync of hr_day1.csv ═══\n",
        day1.date_naive()
    );
    cycle(&settings, day1).await?;

    std::fs::write(&hr, DAY2).map_err(fail)?;
    let day2 = at(2026, 12, 8);
    println!(
        "\n═══ Day 2 ({}) — joiners, movers, leavers and a rehire ═══\n",
        day2.date_naive()
    );
    cycle(&settings, day2).await?;

    let users = wiki.users().await;
    println!("\n═══ What to notice ═══\n");
    print!("{}", notice(&users, &seeded));
    println!("\n═══ Accounts in the wiki sandbox ═══\n");
    print!("{}", accounts_table(&users));
    let crm_users = crm.users().await;
    println!(
        "\ncrm sandbox: {} accounts ({} active), groups by department",
        crm_users.len(),
        crm_users
            .iter()
            .filter(|u| u["active"] != json!(false))
            .count()
    );
    println!(
        "\nState, audit trail and config were in {} (removed now). Next: read README.md, then\n  hrsync --config config.example.toml check",
        dir.path().display()
    );
    wiki.shutdown().await;
    crm.shutdown().await;
    Ok(0)
}

async fn cycle(settings: &Settings, now: DateTime<Utc>) -> Result<(), CommandError> {
    let mut plan_opts = CycleOptions::new(
        Mode::Plan {
            detect_drift: false,
        },
        CycleKind::Plan,
    );
    plan_opts.now = now;
    let plan = run_cycle(settings, plan_opts)
        .await
        .map_err(super::engine_error)?;
    println!("$ hrsync plan");
    print!("{}", report::render_text(&plan.plan));
    let mut opts = CycleOptions::new(Mode::Apply, CycleKind::Apply);
    opts.now = now;
    let done = run_cycle(settings, opts)
        .await
        .map_err(super::engine_error)?;
    println!("\n$ hrsync apply");
    print!("{}", report::outcome::render(&done));
    if done.failures() > 0 {
        return Err(fail(format!("{} operation(s) failed", done.failures())));
    }
    Ok(())
}

fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 9, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

fn path_str(p: &Path) -> String {
    p.display().to_string().replace('\\', "/")
}

/// Accounts that existed before hrsync: one made by hand for an employee (adopted, not
/// duplicated), a former employee's disabled account (reactivated on rehire), an
/// emergency admin (exempt) and an unknown contractor (an orphan, left alone).
async fn seed_wiki(wiki: &SandboxHandle, token: &str) -> Result<Vec<Value>, CommandError> {
    let client = reqwest::Client::new();
    let users = [
        json!({"userName": "sven.kim@corp.example", "displayName": "Sven Kim", "active": true,
               "emails": [{"type": "work", "value": "sven.kim@corp.example", "primary": true}]}),
        json!({"userName": "fatima.zahra@corp.example", "externalId": "E1020",
               "displayName": "Fatima Zahra", "active": false, "title": "Support Lead"}),
        json!({"userName": "breakglass-admin@corp.example", "displayName": "Break-glass admin", "active": true}),
        json!({"userName": "old.contractor@corp.example", "displayName": "Old Contractor", "active": true}),
    ];
    let mut created = Vec::new();
    for mut u in users {
        u["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
        let resp = client
            .post(format!("{}/Users", wiki.base_url()))
            .bearer_auth(token)
            .header("content-type", "application/scim+json")
            .json(&u)
            .send()
            .await
            .map_err(fail)?;
        if !resp.status().is_success() {
            return Err(fail(format!(
                "seeding the wiki sandbox: HTTP {}",
                resp.status()
            )));
        }
        created.push(resp.json::<Value>().await.map_err(fail)?);
    }
    Ok(created)
}

/// What happened to the accounts that existed before hrsync, read back from the app.
fn notice(users: &[Value], seeded: &[Value]) -> String {
    let find = |name: &str| users.iter().find(|u| u["userName"] == name);
    let seeded_id = |name: &str| {
        seeded
            .iter()
            .find(|u| u["userName"] == name)
            .map(|u| u["id"].clone())
            .unwrap_or(Value::Null)
    };
    let mut out = String::new();
    let count = |name: &str| users.iter().filter(|u| u["userName"] == name).count();
    if let Some(s) = find("sven.kim@corp.example") {
        out.push_str(&format!(
            "  • sven.kim: the hand-made account was adopted ({}), now externalId {} — {} account, no duplicate\n",
            if s["id"] == seeded_id("sven.kim@corp.example") { "same id" } else { "NEW id" },
            s["externalId"],
            count("sven.kim@corp.example")
        ));
    }
    if let Some(f) = find("fatima.zahra@corp.example") {
        out.push_str(&format!(
            "  • fatima.zahra (E1020, rehired): her disabled account was reactivated ({}), active = {}\n",
            if f["id"] == seeded_id("fatima.zahra@corp.example") { "same id" } else { "NEW id" },
            f["active"]
        ));
    }
    if let Some(t) = find("theo.fischer@corp.example") {
        out.push_str(&format!(
            "  • theo.fischer starts 2026-12-14: created a week early, active = {} until his first day\n",
            t["active"]
        ));
    }
    for name in [
        "breakglass-admin@corp.example",
        "old.contractor@corp.example",
    ] {
        if let Some(u) = find(name) {
            out.push_str(&format!(
                "  • {name}: not in HR and not managed by hrsync — left as it was (active = {})\n",
                u["active"]
            ));
        }
    }
    out.push_str(
        "  • leavers were deactivated (active = false), never deleted: delete_after_days = 30\n",
    );
    out
}

fn accounts_table(users: &[Value]) -> String {
    let mut rows: Vec<[String; 5]> = users
        .iter()
        .map(|u| {
            let ent = &u["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
            [
                u["userName"].as_str().unwrap_or("").to_string(),
                u["externalId"].as_str().unwrap_or("-").to_string(),
                if u["active"] == json!(false) {
                    "no"
                } else {
                    "yes"
                }
                .to_string(),
                ent["department"].as_str().unwrap_or("").to_string(),
                u["title"].as_str().unwrap_or("").to_string(),
            ]
        })
        .collect();
    rows.sort();
    let head = ["userName", "externalId", "active", "department", "title"];
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 5]| -> String {
        let mut s = String::new();
        for (c, w) in cells.iter().zip(widths) {
            s.push_str(&format!("{c:<w$}  "));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    let active = rows.iter().filter(|r| r[2] == "yes").count();
    out.push_str(&format!("{} accounts, {} active\n", rows.len(), active));
    out
}
