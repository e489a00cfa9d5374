//! `hrsync apply` and `hrsync resync` next to a running daemon with an admin endpoint: the
//! request is handed to the daemon (which runs it as one of its own queued cycles), the CLI
//! waits and prints the result as it would have, with the same exit code. A dry-run resync
//! writes nothing and runs in the CLI itself.

use crate::util::admin;
use crate::util::*;

const ANA: &str = "E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,";
const BO: &str = "E2,Bo,Chen,bo.chen@corp.example,Sales,Rep,active,2021-01-01,,";
const BO_LEFT: &str = "E2,Bo,Chen,bo.chen@corp.example,Sales,Rep,terminated,2021-01-01,,";

async fn daemon(
    hr: &str,
    extra_config: &str,
) -> (hrsync_sandbox::SandboxHandle, Env, admin::Daemon) {
    let sb = sandbox().await;
    let env = Env::new(hr);
    env.write_config(&env.app("app", &sb.base_url(), ""));
    if !extra_config.is_empty() {
        let cfg = std::fs::read_to_string(&env.config).expect("config");
        let cfg = cfg.replace("max_deprovision_count = 50\n", &format!("{extra_config}\n"));
        std::fs::write(&env.config, cfg).expect("config");
    }
    let d = admin::start_tcp(&env, None, "interval = \"1h\"").await;
    admin::eventually("the first cycle creates E1", async || {
        !by_external_id(&sb.users().await, "E1").is_empty()
    })
    .await;
    (sb, env, d)
}

/// Runs the CLI without blocking the sandbox's runtime.
async fn cli(env: &Env, args: &[&str]) -> std::process::Output {
    let config = env.config.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_cmd(&config, &a)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_next_to_a_daemon_is_handed_over_and_prints_the_result() {
    let (sb, env, d) = daemon(&format!("{HEADER}{ANA}\n"), "").await;
    env.set_hr(&format!("{HEADER}{ANA}\n{BO}\n"));
    let out = cli(&env, &["apply", "--yes"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        stderr.contains("handed the request to it"),
        "{}",
        text(&out)
    );
    assert!(stdout.contains("hrsync result"), "{}", text(&out));
    assert!(stdout.contains("created 1"), "{}", text(&out));
    assert_eq!(by_external_id(&sb.users().await, "E2").len(), 1);
    // The daemon ran it: its log has the cycle the CLI asked for.
    assert!(d.log_text().contains("Sync requested"), "{}", d.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_next_to_a_daemon_is_handed_over_and_a_dry_run_stays_local() {
    let (sb, env, d) = daemon(&format!("{HEADER}{ANA}\n"), "").await;
    let id = by_external_id(&sb.users().await, "E1")[0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    crate::util::push::delete_account(&sb, &id).await;

    let dry = cli(&env, &["resync", "--dry-run"]).await;
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        !String::from_utf8_lossy(&dry.stderr).contains("handed"),
        "{}",
        text(&dry)
    );
    assert!(by_external_id(&sb.users().await, "E1").is_empty());

    let out = cli(&env, &["resync", "--app", "app", "--user", "E1"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("handed the request to it"),
        "{}",
        text(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hrsync result"),
        "{}",
        text(&out)
    );
    assert_eq!(by_external_id(&sb.users().await, "E1").len(), 1);
    assert!(
        d.log_text().contains("Resync requested"),
        "{}",
        d.log_text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handed_over_apply_keeps_the_exit_code_of_a_held_guard() {
    let hr = format!("{HEADER}{ANA}\n{BO}\n");
    let (sb, env, _d) = daemon(&hr, "max_deprovision_count = 0").await;
    admin::eventually("the first cycle creates E2", async || {
        !by_external_id(&sb.users().await, "E2").is_empty()
    })
    .await;
    env.set_hr(&format!("{HEADER}{ANA}\n{BO_LEFT}\n"));
    let out = cli(&env, &["apply", "--yes"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("handed the request to it"),
        "{}",
        text(&out)
    );
    assert_eq!(by_external_id(&sb.users().await, "E2")[0]["active"], true);
}
