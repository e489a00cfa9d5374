//! Bad HR input over the real binary: a damaged CSV fails the read naming its lines and
//! nobody in the swallowed rows is offboarded; records without a readable key hold every
//! absence of their source (said by `plan` and `status`) while present leavers still go;
//! `check` fails what `plan`/`apply` would refuse or what would empty a field; an empty CSV
//! path is a config error; a 10 MB malformed line makes neither a huge plan nor a growing
//! state file.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::sources_e2e::serve;
use crate::util::push::{apply, csv, people, run, status_json};
use crate::util::*;

/// Two absences are enough to offboard; the source may shrink by a fifth without the drop
/// guard stopping the cycle and no deprovision guard holds, so only the handling of bad
/// input stands between a bad file and the persons in it.
fn lenient(env: &Env, sb: &str) {
    let extra = format!(
        "[lifecycle]\nabsence_grace_cycles = 2\n\n{}",
        env.app("app", sb, "")
    );
    env.write_config(&extra);
    let text = std::fs::read_to_string(&env.config).expect("read config");
    let text = text.replace(
        "max_deprovision_count = 50",
        "max_deprovision_count = 50\nmax_deprovision_percent = 100.0\nmax_source_drop_percent = 25.0",
    );
    std::fs::write(&env.config, text).expect("write config");
}

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Keys whose account the app shows inactive.
async fn inactive(sb: &hrsync_sandbox::SandboxHandle) -> Vec<String> {
    sb.users()
        .await
        .iter()
        .filter(|u| u["active"] == false)
        .filter_map(|u| u["externalId"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_csv_fails_the_read_and_nobody_in_the_swallowed_rows_is_offboarded() {
    let sb = sandbox().await;
    let mut persons = people(20);
    // A legitimately quoted multi-line field reads fine.
    persons[1].dept = "\"Sales\nEMEA\"".into();
    let env = Env::new(&csv(&persons));
    lenient(&env, &sb.base_url());
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.users().await.len(), 20);
    let writes = sb.stats().writes;

    // One stray quote opening E0017's title swallows E0017..E0020 (lines 19-22: E0002's
    // department takes two lines); two stray quotes swallow E0016 and E0017 (two lines that look like rows) while the
    // column count still matches the header.
    let mut unclosed = persons.clone();
    unclosed[16].title = "\"Rep".into();
    let mut paired = persons.clone();
    paired[14].title = "\"Rep".into();
    paired[17].title = "Rep\"".into();
    let cases = [
        (unclosed, "lines 19-22 read as one record (a quoted field opens and is never closed)"),
        (paired, "lines 17-20 read as one record (2 line(s) inside a quoted field look like rows of their own)"),
    ];
    for (damaged, lines) in cases {
        env.set_hr(&csv(&damaged));
        let mut outputs = Vec::new();
        for _ in 1..=4 {
            outputs.push(apply(&env).await);
        }
        // What reaches the app first: nobody in the swallowed rows was offboarded.
        assert_eq!(
            inactive(&sb).await,
            Vec::<String>::new(),
            "nobody offboarded"
        );
        assert_eq!(sb.stats().writes, writes, "nothing written");
        for (cycle, o) in outputs.iter().enumerate() {
            assert_eq!(o.status.code(), Some(3), "cycle {cycle}: {}", text(o));
            let e = err(o);
            assert!(e.contains(&format!("{}: {lines}", env.hr.display())), "{e}");
            assert!(e.contains("the file looks damaged"), "{e}");
        }
    }
    // The same file repaired: everyone is still there, nothing to do.
    env.set_hr(&csv(&persons));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(sb.stats().writes, writes, "nothing to repair");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_without_a_readable_key_hold_absence_while_present_leavers_still_go() {
    let sb = sandbox().await;
    let persons = people(10);
    let env = Env::new(&csv(&persons));
    lenient(&env, &sb.base_url());
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // E0003's key is not UTF-8, E0005's row is garbage; E0007 leaves, as HR says.
    let mut bytes = Vec::new();
    for p in &persons {
        match p.key.as_str() {
            "E0003" => {
                let mut row = p.row().into_bytes();
                row[1] = 0xFF;
                bytes.extend_from_slice(&row);
            }
            "E0005" => bytes.extend_from_slice(b"\x00\x01\x02 garbage \x1b[2J\n"),
            "E0007" => {
                let mut leaver = p.clone();
                leaver.status = "terminated".into();
                bytes.extend_from_slice(leaver.row().as_bytes());
            }
            _ => bytes.extend_from_slice(p.row().as_bytes()),
        }
    }
    let mut file = HEADER.as_bytes().to_vec();
    file.extend_from_slice(&bytes);
    std::fs::write(&env.hr, &file).expect("write hr");

    let plan = run(&env, &["plan"]).await;
    for cycle in 1..=4 {
        let o = apply(&env).await;
        assert_eq!(o.status.code(), Some(0), "cycle {cycle}: {}", text(&o));
    }
    assert_eq!(inactive(&sb).await, ["E0007"], "only the leaver went");
    let t = out(&plan);
    assert!(
        t.contains("! absence held: source hris: 2 record(s) set aside without a readable key (line 4 and 1 more)"),
        "{}",
        text(&plan)
    );
    let status = status_json(&env).await;
    assert!(
        status["sources"][0]["absence_held"]
            .as_str()
            .is_some_and(|w| w.contains("nobody of source hris is counted absent")),
        "{status:#}"
    );
    let st = out(&run(&env, &["status"]).await);
    assert!(
        st.contains("! absence held: source hris: 2 record(s)"),
        "{st}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_fails_what_plan_would_refuse() {
    let sb = sandbox().await;
    let env = Env::new(HEADER);
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let row = |o: &str, name: &str| {
        o.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_default()
            .to_string()
    };

    // A header-only file: plan would stop on min_source_records.
    let o = run(&env, &["check"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = row(&out(&o), "hris");
    assert!(
        r.contains("FAIL") && r.contains("fewer than min_source_records = 1"),
        "{}",
        text(&o)
    );
    assert!(
        row(&out(&o), "daemon.state_path").contains(" ok "),
        "{}",
        text(&o)
    );
    assert_eq!(run(&env, &["plan"]).await.status.code(), Some(3));

    // A required field with no column: every row would be set aside.
    env.set_hr(&csv(&people(3)));
    let cfg = std::fs::read_to_string(&env.config).expect("config");
    let with_required = cfg.replace(
        "key = \"employee_id\"",
        "key = \"employee_id\"\nrequired = [\"cost_center\"]",
    );
    std::fs::write(&env.config, &with_required).expect("config");
    let o = run(&env, &["check"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r = row(&out(&o), "hris");
    assert!(
        r.contains("FAIL")
            && r.contains("required field `cost_center` has no column in the header"),
        "{}",
        text(&o)
    );
    std::fs::write(&env.config, &cfg).expect("config");

    // A state directory that is missing, then one nobody may write to.
    let missing = env.dir.path().join("nope").join("state.db");
    let unwritable = if is_root() {
        std::path::PathBuf::from("/proc/state.db")
    } else {
        let ro = env.dir.path().join("ro");
        std::fs::create_dir(&ro).expect("mkdir");
        set_mode(&ro, 0o555);
        ro.join("state.db")
    };
    for (state, what) in [
        (&missing, "does not exist"),
        (&unwritable, "is not writable"),
    ] {
        let c = cfg.replace(
            &env.state.display().to_string(),
            &state.display().to_string(),
        );
        std::fs::write(&env.config, c).expect("config");
        let o = run(&env, &["check"]).await;
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
        let r = row(&out(&o), "daemon.state_path");
        assert!(
            r.starts_with("state") && r.contains("FAIL") && r.contains(what),
            "{}",
            text(&o)
        );
        assert_ne!(
            apply(&env).await.status.code(),
            Some(0),
            "apply refuses too"
        );
    }
    assert_eq!(sb.stats().writes, 0, "check writes nothing");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fields_mapping_no_record_has_fails_check_and_warns_in_plan() {
    let sb = sandbox().await;
    let hr = serve(Router::new().route(
        "/people",
        get(|| async {
            Json(json!({"data": [
                {"id": "E1", "first": "Ana", "email": "ana@corp.example", "dept": "Sales", "job": {"title": "Rep"}},
                {"id": "E2", "first": "Bo", "email": "bo@corp.example", "dept": "Ops", "job": {"title": "Eng"}},
            ]}))
        }),
    ))
    .await;
    let env = Env::new(HEADER);
    let app = env.app("app", &sb.base_url(), "");
    let config = format!(
        r#"[daemon]
state_path = "{state}"

[[sources]]
name = "people-api"
kind = "http_json"
url = "{hr}/people"
records_pointer = "/data"
key = "employee_id"
[sources.fields]
employee_id = "/id"
first_name = "/first"
last_name = "/first"
job_title = "/job/jobtitle"
department = "/dept"

{app}"#,
        state = env.state.display()
    );
    std::fs::write(&env.config, config).expect("config");
    let o = run(&env, &["check"]).await;
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = out(&o);
    assert!(
        t.contains("FAIL") && t.contains("fields.job_title = \"/job/jobtitle\" resolves to nothing in any of the 2 records read"),
        "{}",
        text(&o)
    );
    let plan = run(&env, &["plan"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        out(&plan).contains("! warning: source people-api: fields.job_title = \"/job/jobtitle\" resolves to nothing"),
        "{}",
        text(&plan)
    );
    let doc: Value = serde_json::from_slice(&run(&env, &["plan", "--format", "json"]).await.stdout)
        .expect("json");
    assert_eq!(doc["format_version"], 1);
    assert!(
        doc["sources"][0]["warnings"][0].as_str().is_some(),
        "{doc:#}"
    );
    assert_eq!(sb.stats().writes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_csv_path_is_a_config_error() {
    let env = Env::new(HEADER);
    env.write_config(&env.app("app", "http://127.0.0.1:9/scim/v2", ""));
    let cfg = std::fs::read_to_string(&env.config).expect("config");
    for empty in ["\"\"", "\"  \""] {
        let c = cfg.replace(&format!("\"{}\"", env.hr.display()), empty);
        std::fs::write(&env.config, c).expect("config");
        for args in [&["check"][..], &["plan"][..], &["apply", "--yes"][..]] {
            let o = env.hrsync(args);
            assert_eq!(o.status.code(), Some(2), "{empty} {args:?}: {}", text(&o));
            let e = err(&o);
            assert!(
                e.contains(&format!("{}:", env.config.display()))
                    && e.contains("sources[0]: path: must not be empty"),
                "{e}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_line_makes_no_huge_plan_and_no_growing_state() {
    let sb = sandbox().await;
    let persons = people(10);
    let env = Env::new(&csv(&persons));
    lenient(&env, &sb.base_url());
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let mut file = csv(&persons);
    file.push_str(&"x".repeat(10 << 20));
    file.push('\n');
    env.set_hr(&file);

    let plan = run(&env, &["plan", "--format", "json"]).await;
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(
        plan.stdout.len() < 64 << 10,
        "plan is {} bytes",
        plan.stdout.len()
    );
    let doc: Value = serde_json::from_slice(&plan.stdout).expect("json");
    let reason = doc["quarantined"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("row has 1 columns but the header has 10")
            && reason.contains("…(cut, 10485760 bytes)"),
        "{doc:#}"
    );
    let text_plan = run(&env, &["plan"]).await;
    assert!(
        text_plan.stdout.len() < 64 << 10,
        "text plan is {} bytes",
        text_plan.stdout.len()
    );

    let size = || {
        ["", "-wal"]
            .iter()
            .map(|s| {
                std::fs::metadata(format!("{}{s}", env.state.display()))
                    .map(|m| m.len())
                    .unwrap_or(0)
            })
            .sum::<u64>()
    };
    let before = size();
    for _ in 0..3 {
        let o = apply(&env).await;
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let grown = size().saturating_sub(before);
    assert!(
        grown < 2 << 20,
        "state grew by {grown} bytes over three cycles"
    );
    let st = run(&env, &["status", "--format", "json"]).await;
    assert!(
        st.stdout.len() < 256 << 10,
        "status is {} bytes",
        st.stdout.len()
    );
    assert_eq!(inactive(&sb).await, Vec::<String>::new());
}
