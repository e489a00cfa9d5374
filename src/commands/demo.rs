//! `hrsync demo`: the first thing a new user runs. Bundled HR data (examples/) is synced
//! into two embedded sandboxes on loopback over three days: the first sync; joiners,
//! movers and leavers; a rehire and a first day. Each day prints its plan and result; the
//! end tells what happened to the notable accounts, read back from the apps, and shows
//! the accounts the wiki holds.

use std::path::Path;

use chrono::{DateTime, TimeZone, Utc};
use hrsync_state::CycleKind;
use serde_json::{json, Value};

use crate::config::{self, LoadOptions, Settings};
use crate::engine::{run_cycle, CycleOptions, Mode};
use crate::error::{CommandError, CommandResult};
use crate::report;
use hrsync_sandbox::{self as sandbox, SandboxHandle, SandboxOptions};

const CONFIG: &str = include_str!("../../examples/demo.toml");

/// One day of the story: the HR export of that day and when the sync runs.
struct Day {
    file: &'static str,
    csv: &'static str,
    date: (i32, u32, u32),
    what: &'static str,
}

const DAYS: [Day; 3] = [
    Day {
        file: "hr_day1.csv",
        csv: include_str!("../../examples/hr_day1.csv"),
        date: (2026, 12, 1),
        what: "first sync",
    },
    Day {
        file: "hr_day2.csv",
        csv: include_str!("../../examples/hr_day2.csv"),
        date: (2026, 12, 8),
        what: "joiners, movers and leavers",
    },
    Day {
        file: "hr_day3.csv",
        csv: include_str!("../../examples/hr_day3.csv"),
        date: (2026, 12, 15),
        what: "a rehire and a first day",
    },
];

fn fail(e: impl std::fmt::Display) -> CommandError {
    CommandError::Runtime(anyhow::anyhow!("demo: {e}"))
}

/// Runs the demo.
pub async fn run() -> CommandResult {
    let dir = tempfile::tempdir().map_err(fail)?;
    let token = format!("demo-{}", uuid::Uuid::new_v4());
    let token_file = dir.path().join("sandbox.token");
    std::fs::write(&token_file, &token).map_err(fail)?;
    // Kept as a secret file should be: hrsync warns about one that others can read.
    std::fs::set_permissions(
        &token_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .map_err(fail)?;
    let start = || SandboxOptions {
        token: Some(token.clone()),
        ..SandboxOptions::default()
    };
    let wiki = sandbox::start(start()).await.map_err(fail)?;
    let crm = sandbox::start(start()).await.map_err(fail)?;
    let seeded = seed_wiki(&wiki, &token).await?;
    let hr = dir.path().join("hr.csv");
    let urls = [wiki.base_url(), crm.base_url()];
    let settings = write_config(dir.path(), &hr, &token_file, &urls)?;
    print_intro(&urls, seeded.len());
    let wiki_after = run_days(&settings, &hr, &wiki).await?;
    print_ending(&settings, &[&wiki, &crm], &wiki_after, &seeded).await;
    println!(
        "\nState, audit trail and config were in {} (removed now). Next: read README.md, then\n  hrsync --config config.example.toml check",
        dir.path().display()
    );
    wiki.shutdown().await;
    crm.shutdown().await;
    Ok(0)
}

/// Writes the demo's config (state, HR file, the two sandboxes' URLs, the token file) into
/// the demo's directory and loads it.
fn write_config(
    dir: &Path,
    hr: &Path,
    token_file: &Path,
    [wiki_url, crm_url]: &[String; 2],
) -> Result<Settings, CommandError> {
    let text = CONFIG
        .replace("@STATE@", &path_str(&dir.join("state.db")))
        .replace("@HR@", &path_str(hr))
        .replace("@WIKI_URL@", wiki_url)
        .replace("@CRM_URL@", crm_url)
        .replace("@TOKEN_FILE@", &path_str(token_file));
    let config_path = dir.join("demo.toml");
    std::fs::write(&config_path, &text).map_err(fail)?;
    Ok(config::parse(&config_path, &text, &LoadOptions::default())?)
}

fn print_intro([wiki_url, crm_url]: &[String; 2], seeded: usize) {
    println!("hrsync demo — HR export → two SCIM apps on loopback");
    println!("  wiki sandbox {wiki_url}  (already holds {seeded} accounts made by hand)");
    println!("  crm  sandbox {crm_url}");
    let files: Vec<String> = DAYS
        .iter()
        .map(|d| format!("examples/{}", d.file))
        .collect();
    println!(
        "  config: examples/demo.toml · HR: {}\n",
        files.join(", then ")
    );
}

/// Syncs each day's HR export; returns what the wiki holds after each day, to tell the
/// story from the app's side.
async fn run_days(
    settings: &Settings,
    hr: &Path,
    wiki: &SandboxHandle,
) -> Result<Vec<Vec<Value>>, CommandError> {
    let mut wiki_after = Vec::new();
    for (n, day) in DAYS.iter().enumerate() {
        std::fs::write(hr, day.csv).map_err(fail)?;
        let (y, m, d) = day.date;
        let now = at(y, m, d);
        if n > 0 {
            println!();
        }
        println!(
            "═══ Day {} ({}) — {}: {} ═══\n",
            n + 1,
            now.date_naive(),
            day.what,
            day.file
        );
        cycle(settings, now).await?;
        wiki_after.push(wiki.users().await);
    }
    Ok(wiki_after)
}

/// What to notice, then the wiki's accounts and the crm's.
async fn print_ending(
    settings: &Settings,
    [wiki, crm]: &[&SandboxHandle; 2],
    wiki_after: &[Vec<Value>],
    seeded: &[Value],
) {
    let deletes = [wiki, crm]
        .iter()
        .map(|s| s.stats().by_method.get("DELETE").copied().unwrap_or(0))
        .sum::<u64>();
    let delete_after = settings
        .app("wiki")
        .and_then(|a| a.policy.delete_after_days);
    println!("\n═══ What to notice ═══\n");
    print!("{}", notice(wiki_after, seeded, deletes, delete_after));
    println!("\n═══ Accounts in the wiki sandbox ═══\n");
    let users = wiki_after.last().cloned().unwrap_or_default();
    // What the sandboxes hold came over the network: shown escaped like any app answer.
    print!("{}", report::printable(&accounts_table(&users)));
    print!("{}", report::printable(&crm_summary(&crm.users().await)));
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
/// duplicated), an emergency admin (exempt) and an unknown contractor (an orphan, left
/// alone).
async fn seed_wiki(wiki: &SandboxHandle, token: &str) -> Result<Vec<Value>, CommandError> {
    let client = reqwest::Client::new();
    let users = [
        json!({"userName": "sven.kim@corp.example", "displayName": "Sven Kim", "active": true,
               "emails": [{"type": "work", "value": "sven.kim@corp.example", "primary": true}]}),
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

/// The account with this userName in one day's snapshot.
fn find<'a>(users: &'a [Value], name: &str) -> Option<&'a Value> {
    users.iter().find(|u| u["userName"] == name)
}

/// `true`/`false`/`-` (no account) for an account's active flag.
fn active_of(u: Option<&Value>) -> String {
    u.map_or("-".into(), |u| (u["active"] != json!(false)).to_string())
}

/// What happened to the notable accounts, read back from the wiki after each day
/// (`wiki_after[n]` is the wiki after day n + 1), and how many DELETEs the apps received.
fn notice(
    wiki_after: &[Vec<Value>],
    seeded: &[Value],
    deletes: u64,
    delete_after: Option<u32>,
) -> String {
    let mut out = String::new();
    note_adopted(&mut out, wiki_after, seeded);
    note_rehire(&mut out, wiki_after);
    note_first_day(&mut out, wiki_after);
    note_unmanaged(&mut out, wiki_after);
    note_leavers(&mut out, wiki_after, deletes, delete_after);
    out
}

/// The wiki's accounts after day `n` (counted from 1); none for a day that did not run.
fn wiki_on(wiki_after: &[Vec<Value>], n: usize) -> &[Value] {
    n.checked_sub(1)
        .and_then(|i| wiki_after.get(i))
        .map_or(&[], Vec::as_slice)
}

/// The wiki's accounts after the last day.
fn wiki_last(wiki_after: &[Vec<Value>]) -> &[Value] {
    wiki_on(wiki_after, wiki_after.len())
}

/// sven.kim's hand-made account was adopted, not duplicated.
fn note_adopted(out: &mut String, wiki_after: &[Vec<Value>], seeded: &[Value]) {
    let last = wiki_last(wiki_after);
    let sven = "sven.kim@corp.example";
    if let Some(s) = find(last, sven) {
        let before = seeded.iter().find(|u| u["userName"] == sven);
        out.push_str(&format!(
            "  • sven.kim: the hand-made account was adopted ({}), now externalId {} — {} account with his userName\n",
            if before.is_some_and(|b| b["id"] == s["id"]) { "same id" } else { "NEW id" },
            s["externalId"],
            last.iter().filter(|u| u["userName"] == sven).count()
        ));
    }
}

/// fatima.zahra left and came back to the same account.
fn note_rehire(out: &mut String, wiki_after: &[Vec<Value>]) {
    let fatima = "fatima.zahra@corp.example";
    let day = |n: usize| wiki_on(wiki_after, n);
    let (Some(first), Some(now)) = (find(day(1), fatima), find(wiki_last(wiki_after), fatima))
    else {
        return;
    };
    let id = |u: &Value| u["id"].as_str().unwrap_or("?").to_string();
    out.push_str(&format!(
        "  • fatima.zahra (E1020) left on day 2 and was rehired on day 3: {}\n      \
         day 1 account {} active = {} · day 2 active = {} · day 3 account {} active = {}\n",
        if first["id"] == now["id"] {
            "the same account, reactivated"
        } else {
            "a NEW account — the old one was not reused"
        },
        id(first),
        active_of(Some(first)),
        active_of(find(day(2), fatima)),
        id(now),
        active_of(Some(now)),
    ));
}

/// theo.fischer's account was created inactive ahead of his first day.
fn note_first_day(out: &mut String, wiki_after: &[Vec<Value>]) {
    let theo = "theo.fischer@corp.example";
    let day = |n: usize| wiki_on(wiki_after, n);
    let last = wiki_last(wiki_after);
    if find(last, theo).is_some() {
        out.push_str(&format!(
            "  • theo.fischer (first day 2026-12-14): account on day 1: {}; day 2: active = {} (created a week early); day 3: active = {}\n",
            if find(day(1), theo).is_some() { "yes" } else { "none yet" },
            active_of(find(day(2), theo)),
            active_of(find(last, theo)),
        ));
    }
}

/// Accounts not in HR (the exempt admin, the unknown contractor) were left alone.
fn note_unmanaged(out: &mut String, wiki_after: &[Vec<Value>]) {
    let last = wiki_last(wiki_after);
    for name in [
        "breakglass-admin@corp.example",
        "old.contractor@corp.example",
    ] {
        if let Some(u) = find(last, name) {
            out.push_str(&format!(
                "  • {name}: not in HR and not managed by hrsync — left as it was (active = {})\n",
                active_of(Some(u))
            ));
        }
    }
}

/// Leavers were deactivated, and deleted only as the policy allows.
fn note_leavers(
    out: &mut String,
    wiki_after: &[Vec<Value>],
    deletes: u64,
    delete_after: Option<u32>,
) {
    let leavers = wiki_last(wiki_after)
        .iter()
        .filter(|u| u["externalId"].is_string() && u["active"] == json!(false))
        .count();
    let policy = match delete_after {
        Some(d) => format!("deletion only after delete_after_days = {d}"),
        None => "this app never deletes".into(),
    };
    if deletes == 0 {
        out.push_str(&format!(
            "  • leavers were deactivated, never deleted: {leavers} wiki accounts have active = false, \
             and 0 DELETE requests reached either app ({policy})\n"
        ));
    } else {
        out.push_str(&format!(
            "  • leavers: {leavers} wiki accounts have active = false, and {deletes} DELETE request(s) \
             reached the apps ({policy})\n"
        ));
    }
}

/// The crm's accounts: everyone the scope selected, active while still in scope.
fn crm_summary(users: &[Value]) -> String {
    let inactive: Vec<String> = users
        .iter()
        .filter(|u| u["active"] == json!(false))
        .map(|u| {
            format!(
                "{} {}",
                u["externalId"].as_str().unwrap_or("-"),
                u["userName"].as_str().unwrap_or("")
            )
        })
        .collect();
    format!(
        "\ncrm sandbox (scope: customer-facing employees): {} accounts, {} active; deactivated: {}\n",
        users.len(),
        users.len() - inactive.len(),
        if inactive.is_empty() {
            "none".to_string()
        } else {
            inactive.join(", ")
        }
    )
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
