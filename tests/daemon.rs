//! `hrsync run`: a 1-second interval picks up a CSV change without restart; SIGTERM ends
//! it with exit 0.

use std::time::{Duration, Instant};

use crate::util::*;

const ANA: &str = "E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_picks_up_a_csv_change_and_exits_zero_on_sigterm() {
    let sb = sandbox().await;
    let env = Env::new(&format!("{HEADER}{ANA}\n"));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let cfg = std::fs::read_to_string(&env.config).expect("read");
    std::fs::write(
        &env.config,
        cfg.replacen("[daemon]\n", "[daemon]\ninterval = \"1s\"\n", 1),
    )
    .expect("write");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .arg("--config")
        .arg(&env.config)
        .arg("run")
        .env("HRSYNC_LOG", "warn")
        .spawn()
        .expect("spawn");

    let deadline = Instant::now() + Duration::from_secs(30);
    while by_external_id(&sb.users().await, "E1").is_empty() {
        assert!(Instant::now() < deadline, "first cycle never created E1");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.set_hr(&format!(
        "{HEADER}{ANA}\nE2,Bo,Chen,bo.chen@corp.example,Sales,Rep,active,2021-01-01,,\n"
    ));
    while by_external_id(&sb.users().await, "E2").is_empty() {
        assert!(
            Instant::now() < deadline,
            "the daemon never picked up the change"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGTERM: stop scheduling, finish, exit 0.
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "exit code after SIGTERM");
    assert_eq!(by_external_id(&sb.users().await, "E1").len(), 1);
}
