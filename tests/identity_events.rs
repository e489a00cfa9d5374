//! One structured log event per identity change: with `--log-format json`, every create,
//! deactivation, group creation and membership change — inside a Bulk request or one by
//! one, successful or failed — is one `event="identity_change"` line with `app`, `key`,
//! `op`, `account_id`, `result` and `cycle` as plain values, at INFO (failures at WARN).

use std::process::Output;

use serde_json::Value;

use crate::util::push::{self, people, scim_error, Action, Person};
use crate::util::*;

/// `hrsync --log-format json apply --yes` with INFO logs.
async fn apply_json(env: &Env) -> Output {
    let config = env.config.clone();
    blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
            .arg("--config")
            .arg(&config)
            .args(["--log-format", "json", "apply", "--yes"])
            .env_remove("HRSYNC_CONFIG")
            .env("HRSYNC_LOG", "info")
            .output()
            .expect("run hrsync")
    })
    .await
}

/// The identity-change events on stderr (level and fields), every log line being JSON.
fn events(out: &Output) -> Vec<(String, Value)> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .unwrap_or_else(|e| panic!("a log line is not JSON ({e}): {l}"))
        })
        .filter(|v| v["fields"]["event"] == "identity_change")
        .map(|v| {
            (
                v["level"].as_str().unwrap_or_default().to_string(),
                v["fields"].clone(),
            )
        })
        .collect()
}

/// The events of one op.
fn of_op<'a>(events: &'a [(String, Value)], op: &str) -> Vec<&'a (String, Value)> {
    events.iter().filter(|(_, f)| f["op"] == op).collect()
}

/// Every field is a plain string or number, never Rust's Debug text.
fn assert_plain(events: &[(String, Value)]) {
    for (_, f) in events {
        for key in ["app", "key", "op", "account_id", "result"] {
            let v = f[key]
                .as_str()
                .unwrap_or_else(|| panic!("{key} is a string: {f}"));
            assert!(
                !v.contains("Some(") && !v.contains('"'),
                "{key} is plain: {f}"
            );
        }
        assert!(
            f["cycle"].as_i64().is_some_and(|c| c > 0),
            "cycle is a number: {f}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_changes_are_one_event_each_with_the_account_and_cycle() {
    let sb = sandbox().await;
    let mut persons = people(4);
    let env = Env::new(&push::csv(&persons));
    let groups = "\n[[apps.groups]]\nname = \"dept-{{ department | slug }}\"\n";
    env.write_config(&format!("{}{groups}", env.app("wiki", &sb.base_url(), "")));

    let out = apply_json(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.stats().writes, 3, "the creates rode in one Bulk request");
    let evs = events(&out);
    assert_plain(&evs);
    let creates = of_op(&evs, "create");
    assert_eq!(creates.len(), 4, "{evs:#?}");
    let users = sb.users().await;
    for p in &persons {
        let (level, f) = creates
            .iter()
            .find(|(_, f)| f["key"] == p.key.as_str())
            .unwrap_or_else(|| panic!("no create event for {}", p.key));
        assert_eq!(level, "INFO");
        assert_eq!(f["app"], "wiki");
        assert_eq!(f["result"], "ok");
        assert_eq!(
            f["account_id"],
            by_external_id(&users, &p.key)[0]["id"],
            "{f}"
        );
    }
    assert_eq!(of_op(&evs, "group_create").len(), 1, "{evs:#?}");
    assert_eq!(of_op(&evs, "membership_add").len(), 1, "{evs:#?}");
    let first_cycle = creates[0].1["cycle"].clone();
    assert!(creates.iter().all(|(_, f)| f["cycle"] == first_cycle));

    // A leaver: one deactivation event, in the next cycle.
    persons[1].status = "terminated".into();
    env.set_hr(&push::csv(&persons));
    let out = apply_json(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let evs = events(&out);
    assert_plain(&evs);
    let off = of_op(&evs, "deactivate");
    assert_eq!(off.len(), 1, "{evs:#?}");
    assert_eq!(off[0].1["key"], persons[1].key.as_str());
    assert_eq!(
        off[0].1["account_id"],
        by_external_id(&users, &persons[1].key)[0]["id"]
    );
    assert_ne!(off[0].1["cycle"], first_cycle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_by_one_a_refused_create_is_a_warn_event_and_the_others_info() {
    let sb = sandbox().await;
    let refused = Person::numbered(2);
    let needle = refused.email.clone();
    let px = push::proxy(sb.addr(), move |method, path, body| {
        if *method == axum::http::Method::POST && path.ends_with("/Users") && body.contains(&needle)
        {
            Action::Reply(
                400,
                scim_error(400, Some("invalidValue"), "title is not allowed"),
            )
        } else {
            Action::Forward
        }
    })
    .await;
    let persons = people(3);
    let env = Env::new(&push::csv(&persons));
    env.write_config(&env.app("wiki", &px.base_url(), "bulk = false"));

    let out = apply_json(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let evs = events(&out);
    assert_plain(&evs);
    let creates = of_op(&evs, "create");
    assert_eq!(creates.len(), 3, "{evs:#?}");
    for (level, f) in creates {
        if f["key"] == refused.key.as_str() {
            assert_eq!(level, "WARN", "{f}");
            assert_eq!(f["result"], "failed");
            assert_eq!(f["account_id"], "");
            assert!(
                f["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("title is not allowed")),
                "{f}"
            );
        } else {
            assert_eq!(level, "INFO", "{f}");
            assert_eq!(f["result"], "ok");
            assert!(
                !f["account_id"].as_str().unwrap_or_default().is_empty(),
                "{f}"
            );
        }
    }
}
