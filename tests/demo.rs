//! `hrsync demo` runs end to end on the bundled data and tells a story that is true: the
//! numbers it prints are checked against what the bundled HR files mean (a small model of
//! the lifecycle rules below), the rehire keeps its account id, the crm holds exactly the
//! persons its scope selects, the final table adds up, and nothing was deleted.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate};

use crate::util::*;

/// The bundled HR files, in the order the demo syncs them, with the date of each sync.
const DAYS: [(&str, &str); 3] = [
    (include_str!("../examples/hr_day1.csv"), "2026-12-01"),
    (include_str!("../examples/hr_day2.csv"), "2026-12-08"),
    (include_str!("../examples/hr_day3.csv"), "2026-12-15"),
];

/// Accounts in the wiki that hrsync does not manage (exempt, orphan).
const UNMANAGED: [&str; 2] = [
    "breakglass-admin@corp.example",
    "old.contractor@corp.example",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Want {
    Active,
    Inactive,
    Gone,
    Wait,
}

/// What account a person should have in an app on `today`: terminated or past the end
/// date → none; out of scope → none; starting within `pre_days` → inactive; starting
/// later → nothing yet; otherwise active.
fn want(row: &BTreeMap<&str, &str>, today: NaiveDate, pre_days: u64, in_scope: bool) -> Want {
    let date = |c: &str| NaiveDate::parse_from_str(row[c], "%Y-%m-%d").ok();
    if row["status"] == "terminated" || date("end_date").is_some_and(|e| e < today) || !in_scope {
        return Want::Gone;
    }
    match date("start_date") {
        Some(s) if s > today && pre_days > 0 && s <= today + Days::new(pre_days) => Want::Inactive,
        Some(s) if s > today => Want::Wait,
        _ => Want::Active,
    }
}

/// What the model says one app's apply does each day.
#[derive(Debug, Default, Clone)]
struct Model {
    /// key → active, after the last day.
    accounts: BTreeMap<String, bool>,
    /// Per day: keys created (or linked), deactivated, reactivated.
    created: Vec<Vec<String>>,
    deactivated: Vec<usize>,
    reactivated: Vec<usize>,
}

fn model(pre_days: u64, scope: impl Fn(&BTreeMap<&str, &str>) -> bool) -> Model {
    let mut m = Model::default();
    for (csv, date) in DAYS {
        let today = NaiveDate::parse_from_str(date, "%Y-%m-%d").expect("date");
        let mut lines = csv.lines();
        let header: Vec<&str> = lines.next().expect("header").split(',').collect();
        let (mut created, mut deactivated, mut reactivated) = (Vec::new(), 0, 0);
        for line in lines {
            let row: BTreeMap<&str, &str> = header.iter().copied().zip(line.split(',')).collect();
            let key = row["employee_id"].to_string();
            match (
                want(&row, today, pre_days, scope(&row)),
                m.accounts.get(&key),
            ) {
                (Want::Active | Want::Inactive, None) => {
                    m.accounts.insert(
                        key.clone(),
                        want(&row, today, pre_days, true) == Want::Active,
                    );
                    created.push(key);
                }
                (Want::Active, Some(false)) => {
                    m.accounts.insert(key, true);
                    reactivated += 1;
                }
                (Want::Gone, Some(true)) => {
                    m.accounts.insert(key, false);
                    deactivated += 1;
                }
                _ => {}
            }
        }
        m.created.push(created);
        m.deactivated.push(deactivated);
        m.reactivated.push(reactivated);
    }
    m
}

/// `created 3, linked 0, ...` of one app's result line → name → number.
fn result_counts(section: &str, app: &str) -> BTreeMap<String, usize> {
    let after = section
        .split("$ hrsync apply")
        .nth(1)
        .unwrap_or_else(|| panic!("no apply result in:\n{section}"));
    let line = after
        .lines()
        .find(|l| l.starts_with(&format!("app {app} ")))
        .unwrap_or_else(|| panic!("no result line for {app} in:\n{after}"));
    let mut counts = BTreeMap::new();
    for part in line[4 + app.len()..].split([',', '·']) {
        let words: Vec<&str> = part.split_whitespace().collect();
        // "created 3" and "0 failed": the number is on either side of its name.
        let (name, n) = match words.as_slice() {
            [a, b] if b.parse::<usize>().is_ok() => (a, b),
            [a, b] => (b, a),
            _ => panic!("unexpected part {part:?} of {line:?}"),
        };
        counts.insert(name.to_string(), n.parse().expect("number"));
    }
    counts
}

/// Keys of the `+ create` and `= link` lines (an existing account adopted) of one app in
/// the section's plan: the persons who get an account.
fn planned_creates(section: &str, app: &str) -> Vec<String> {
    let plan = section.split("$ hrsync apply").next().unwrap_or("");
    let block = plan
        .split(&format!("\napp {app} "))
        .nth(1)
        .unwrap_or_else(|| panic!("no plan for {app} in:\n{plan}"));
    let block = block.split("\napp ").next().unwrap_or("");
    let mut keys: Vec<String> = block
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.starts_with("+ create ") || l.starts_with("= link ")) && !l.contains("create group")
        })
        .filter_map(|l| l.split_whitespace().nth(2).map(str::to_string))
        .collect();
    // Shown in execution order (managers before their reports); compared sorted.
    keys.sort();
    keys
}

/// The number before `word` in `line` (`"55 accounts"` → 55).
fn number_before(line: &str, word: &str) -> usize {
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| w.trim_end_matches([',', ';']) == word)
        .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
    words[at - 1].parse().expect("number")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_tells_a_true_story_of_three_days() {
    let started = Instant::now();
    let out = blocking(|| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .arg("demo")
            .env("HRSYNC_LOG", "warn")
            .output()
            .expect("run demo")
    })
    .await;
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        took < Duration::from_secs(30),
        "the demo takes seconds: {took:?}"
    );
    let s = String::from_utf8_lossy(&out.stdout).to_string();
    let days: Vec<&str> = s.split("═══ Day ").skip(1).collect();
    assert_eq!(days.len(), 3, "three days:\n{s}");

    // The wiki: everyone, a week early for future starters.
    let wiki = model(7, |_| true);
    assert_eq!(
        wiki.created[0].len(),
        49,
        "the bundled day 1 has 49 persons due an account"
    );
    assert_eq!(planned_creates(days[0], "wiki"), wiki.created[0]);
    let day1 = result_counts(days[0], "wiki");
    assert_eq!(
        day1["created"] + day1["linked"],
        wiki.created[0].len(),
        "{s}"
    );
    assert_eq!(day1["linked"], 1, "sven.kim's hand-made account is adopted");
    for (n, section) in days.iter().enumerate() {
        for app in ["wiki", "crm"] {
            assert_eq!(
                result_counts(section, app)["failed"],
                0,
                "day {}: {s}",
                n + 1
            );
            assert_eq!(result_counts(section, app)["deleted"], 0, "day {}", n + 1);
        }
        let c = result_counts(section, "wiki");
        assert_eq!(
            c["deactivated"],
            wiki.deactivated[n],
            "wiki day {}: {s}",
            n + 1
        );
        assert_eq!(
            c["reactivated"],
            wiki.reactivated[n],
            "wiki day {}: {s}",
            n + 1
        );
        if n > 0 {
            assert_eq!(
                c["created"] + c["linked"],
                wiki.created[n].len(),
                "day {}",
                n + 1
            );
        }
    }
    assert_eq!(wiki.deactivated[1], 4, "day 2 has four leavers");
    assert_eq!(wiki.reactivated[2], 2, "day 3: the rehire and a first day");

    // The crm: customer-facing employees only.
    let crm = model(0, |r| {
        ["Sales", "Support", "Marketing"].contains(&r["department"])
            && r["worker_type"] != "contractor"
    });
    assert_eq!(planned_creates(days[0], "crm"), crm.created[0]);
    assert!(
        !crm.created[0].contains(&"E1013".to_string()),
        "the Sales contractor is out of scope"
    );
    for (n, section) in days.iter().enumerate() {
        let c = result_counts(section, "crm");
        assert_eq!(c["created"], crm.created[n].len(), "crm day {}: {s}", n + 1);
        assert_eq!(
            c["deactivated"],
            crm.deactivated[n],
            "crm day {}: {s}",
            n + 1
        );
        assert_eq!(
            c["reactivated"],
            crm.reactivated[n],
            "crm day {}: {s}",
            n + 1
        );
    }
    let crm_line = s
        .lines()
        .find(|l| l.starts_with("crm sandbox"))
        .expect("crm summary");
    assert_eq!(
        number_before(crm_line, "accounts"),
        crm.accounts.len(),
        "{crm_line}"
    );
    let crm_active = crm.accounts.values().filter(|a| **a).count();
    assert_eq!(number_before(crm_line, "active"), crm_active, "{crm_line}");
    assert!(crm_line.contains("E1017"), "Ravi left scope: {crm_line}");

    // The rehire: the account created on day 1 is the one enabled again on day 3.
    let fatima = s
        .lines()
        .skip_while(|l| !l.contains("fatima.zahra (E1020)"))
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(fatima.contains("the same account, reactivated"), "{s}");
    let ids: Vec<&str> = fatima
        .split("account ")
        .skip(1)
        .filter_map(|p| p.split_whitespace().next())
        .filter(|id| id.len() > 8)
        .collect();
    assert_eq!(ids.len(), 2, "{fatima}");
    assert_eq!(ids[0], ids[1], "the same account id: {fatima}");
    assert!(
        fatima.contains("day 1 account") && fatima.contains("day 2 active = false"),
        "{fatima}"
    );

    // Nothing deleted: the count comes from the sandboxes.
    assert!(
        s.contains("leavers were deactivated, never deleted")
            && s.contains("and 0 DELETE requests reached either app"),
        "{s}"
    );

    // The wiki table: every managed account with the right active flag, and it adds up.
    let table = s
        .split("═══ Accounts in the wiki sandbox ═══")
        .nth(1)
        .expect("table");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip_while(|l| !l.starts_with("userName"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty() && !l.contains(" accounts, "))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let total = table
        .lines()
        .find(|l| l.contains(" accounts, ") && l.contains(" active"))
        .expect("total line");
    let yes = rows.iter().filter(|r| r[2] == "yes").count();
    assert_eq!(number_before(total, "accounts"), rows.len(), "{table}");
    assert_eq!(number_before(total, "active"), yes, "{table}");
    assert_eq!(rows.len(), wiki.accounts.len() + UNMANAGED.len(), "{table}");
    for (key, active) in &wiki.accounts {
        let row = rows
            .iter()
            .find(|r| r[1] == key)
            .unwrap_or_else(|| panic!("{key} missing from the table:\n{table}"));
        assert_eq!(row[2] == "yes", *active, "{key}: {row:?}");
    }
    for name in UNMANAGED {
        let row = rows.iter().find(|r| r[0] == name).expect(name);
        assert_eq!((row[1], row[2]), ("-", "yes"), "{name} left alone");
    }
}
