//! SIGHUP reloads the config of a running `hrsync run`: a valid change is in force for the
//! next cycle (an added app is provisioned at once, a corrected credential lifts the
//! app's open circuit at once), a broken file is rejected with an ERROR naming file, line
//! and key while the daemon keeps running on the config it had, and SIGHUP never ends it.

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use crate::util::push::{self, people, send_signal};
use crate::util::*;

/// The config with `daemon` keys and the given app blocks.
fn configure(env: &Env, daemon_keys: &str, apps: &str) {
    env.write_config(apps);
    env.add_daemon_keys(daemon_keys);
}

fn log_of(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_default()
}

async fn until(deadline: Instant, what: &str, mut done: impl AsyncFnMut() -> bool) {
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops the daemon and checks it exits 0.
async fn stop(child: Child, log: &Path) {
    send_signal(&child, "TERM");
    let mut child = child;
    let status = blocking(move || child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(0), "{}", log_of(log));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_added_by_sighup_is_provisioned_by_the_next_cycle() {
    let (wiki, crm) = (sandbox().await, sandbox().await);
    let persons = people(3);
    let env = Env::new(&push::csv(&persons));
    let only_wiki = env.app("wiki", &wiki.base_url(), "");
    // An hour between scheduled cycles: whatever reaches crm comes from the reload.
    configure(&env, "interval = \"1h\"", &only_wiki);
    let log = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "info", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    until(deadline, "wiki provisioned", async || {
        wiki.users().await.len() == 3
    })
    .await;

    let both = format!("{only_wiki}\n{}", env.app("crm", &crm.base_url(), ""));
    configure(&env, "interval = \"1h\"", &both);
    send_signal(&child, "HUP");
    until(deadline, "crm provisioned after the reload", async || {
        crm.users().await.len() == 3
    })
    .await;
    assert_eq!(
        push::differences(&crm.users().await, &persons),
        Vec::<String>::new()
    );
    let logged = log_of(&log);
    let change = logged
        .lines()
        .find(|l| l.contains("Reload changes apps"))
        .unwrap_or_else(|| panic!("the reload says what changed: {logged}"));
    assert!(change.contains("added=crm"), "{change}");
    assert!(logged.contains("Config reloaded."), "{logged}");
    stop(child, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_config_on_sighup_is_rejected_and_the_old_one_keeps_running() {
    let sb = sandbox().await;
    let mut persons = people(2);
    let env = Env::new(&push::csv(&persons));
    let app = env.app("wiki", &sb.base_url(), "");
    configure(&env, "interval = \"1s\"", &app);
    let log = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "info", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    until(deadline, "first cycle", async || {
        sb.users().await.len() == 2
    })
    .await;

    // A typo in the file: an unknown key on line 3.
    let good = std::fs::read_to_string(&env.config).expect("read config");
    let broken = good.replacen("[daemon]\n", "[daemon]\n\nintervall = \"5s\"\n", 1);
    std::fs::write(&env.config, broken).expect("write broken config");
    send_signal(&child, "HUP");
    until(deadline, "the rejection is logged", async || {
        log_of(&log).contains("Config reload rejected")
    })
    .await;
    let logged = log_of(&log);
    let line = logged
        .lines()
        .find(|l| l.contains("Config reload rejected"))
        .unwrap_or_default();
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("config.toml:3: daemon.intervall"),
        "names file, line and key: {line}"
    );

    // Still running, on the old config: a joiner is provisioned by the next cycles.
    persons.push(push::Person::numbered(3));
    env.set_hr(&push::csv(&persons));
    until(deadline, "the joiner arrives", async || {
        sb.users().await.len() == 3
    })
    .await;
    assert_eq!(
        push::differences(&sb.users().await, &persons),
        Vec::<String>::new()
    );

    // Another SIGHUP with the file fixed is accepted.
    std::fs::write(&env.config, good).expect("write config");
    send_signal(&child, "HUP");
    until(deadline, "the fixed file is reloaded", async || {
        log_of(&log).contains("Config reloaded.")
    })
    .await;
    stop(child, &log).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrected_credential_resets_the_apps_open_circuit() {
    let sb = sandbox().await;
    let persons = people(2);
    let env = Env::new(&push::csv(&persons));
    let wrong = env.dir.path().join("wrong-token");
    std::fs::write(&wrong, "not-the-token").expect("write token");
    let right_app = env.app("wiki", &sb.base_url(), "");
    let token = env.token_file.display().to_string();
    let wrong_app = right_app.replace(&token, &wrong.display().to_string());
    configure(&env, "interval = \"1s\"", &wrong_app);
    let log = env.dir.path().join("run.log");
    let child = spawn_run(&env, Some(&log), "info", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    // The app refuses the token: its circuit opens and stays open for its cool-down
    // (a minute), so later cycles skip it.
    until(deadline, "the circuit opens", async || {
        // Until the first cycle has recorded anything, status has no apps yet.
        let doc = push::status_json(&env).await;
        let apps = doc["apps"].as_array().cloned().unwrap_or_default();
        apps.iter()
            .any(|a| a["name"] == "wiki" && a["health"]["circuit"] == "open")
    })
    .await;

    configure(&env, "interval = \"1s\"", &right_app);
    send_signal(&child, "HUP");
    until(deadline, "provisioned right after the reload", async || {
        sb.users().await.len() == 2
    })
    .await;
    let logged = log_of(&log);
    assert!(
        logged.contains("capabilities and circuit state are reset"),
        "{logged}"
    );
    assert!(
        !logged.contains("not-the-token"),
        "secrets never reach the log"
    );
    stop(child, &log).await;
}
