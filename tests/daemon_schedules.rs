//! Provisioning windows: an app's own `interval` overrides the daemon's, so a real-time app
//! gets a joiner within seconds while a batch app waits for its slot, and a leaver's
//! deactivation is never held back by the slower schedule: it goes out to every app on the
//! next cycle of any kind.

use std::time::{Duration, Instant};

use crate::util::push::{self, people, send_signal};
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_apps_schedule_holds_joiners_but_never_a_leavers_deactivation() {
    let (fast, slow) = (sandbox().await, sandbox().await);
    let mut persons = people(2);
    let env = Env::new(&push::csv(&persons));
    let apps = format!(
        "{}\n{}",
        env.app("chat", &fast.base_url(), "interval = \"1s\""),
        env.app("erp", &slow.base_url(), "")
    );
    env.write_config(&apps);
    env.add_daemon_keys("interval = \"1h\"");
    let mut daemon = spawn_run(&env, None, "warn", &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    // The first cycle serves every app.
    while fast.users().await.len() < 2 || slow.users().await.len() < 2 {
        assert!(Instant::now() < deadline, "first cycle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A joiner and a leaver at once.
    persons.push(push::Person::numbered(3));
    persons[0].status = "terminated".into();
    env.set_hr(&push::csv(&persons));
    let leaver = persons[0].key.clone();
    let gone = async |sb: &hrsync_sandbox::SandboxHandle| {
        by_external_id(&sb.users().await, &leaver)
            .first()
            .is_some_and(|u| u["active"] == false)
    };
    while !(gone(&fast).await && gone(&slow).await && fast.users().await.len() == 3) {
        assert!(Instant::now() < deadline, "the fast app's cycle");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Two more fast cycles: the batch app still waits for its hourly slot for the joiner.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        push::differences(&fast.users().await, &persons),
        Vec::<String>::new()
    );
    let erp = slow.users().await;
    assert!(by_external_id(&erp, &persons[2].key).is_empty(), "{erp:#?}");
    assert!(
        gone(&slow).await,
        "the leaver is deactivated in the batch app too"
    );

    send_signal(&daemon, "TERM");
    let status = blocking(move || daemon.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(0));
}
