//! `hrsync run` under a service manager: a fake `NOTIFY_SOCKET` (a unix datagram socket
//! held by the test) sees READY once the daemon can serve, STATUS after each cycle,
//! WATCHDOG at half of `WATCHDOG_USEC` from the loop itself (and no pings while a cycle is
//! stuck), RELOADING with MONOTONIC_USEC then READY around a SIGHUP, and STOPPING on SIGTERM.

use std::path::Path;
use std::process::Child;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::UnixDatagram;

use crate::util::push::{self, people, send_signal, Action};
use crate::util::*;

/// Every datagram the daemon sent, with when it arrived.
#[derive(Clone, Default)]
struct Notes(Arc<Mutex<Vec<(Instant, String)>>>);

impl Notes {
    /// Listens on a fresh socket at `path` until the test ends.
    fn listen(path: &Path) -> Notes {
        let sock = UnixDatagram::bind(path).expect("bind notify socket");
        let notes = Notes::default();
        let keep = notes.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = sock.recv(&mut buf).await {
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                keep.0.lock().expect("notes").push((Instant::now(), text));
            }
        });
        notes
    }

    fn all(&self) -> Vec<(Instant, String)> {
        self.0.lock().expect("notes").clone()
    }

    /// Arrival times of the datagrams holding `line` as one of their lines.
    fn times_of(&self, line: &str) -> Vec<Instant> {
        self.all()
            .into_iter()
            .filter(|(_, t)| t.lines().any(|l| l == line))
            .map(|(at, _)| at)
            .collect()
    }

    fn has(&self, line_prefix: &str) -> bool {
        self.all()
            .iter()
            .any(|(_, t)| t.lines().any(|l| l.starts_with(line_prefix)))
    }

    async fn wait_for(&self, line_prefix: &str, deadline: Instant) {
        while !self.has(line_prefix) {
            assert!(
                Instant::now() < deadline,
                "no {line_prefix} among {:#?}",
                self.all()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Starts `hrsync run` with the notify socket and a watchdog of `watchdog_usec`.
fn spawn_notified(env: &Env, socket: &Path, watchdog_usec: u64, log: &Path) -> Child {
    let vars = [
        ("NOTIFY_SOCKET", socket.display().to_string()),
        ("WATCHDOG_USEC", watchdog_usec.to_string()),
    ];
    spawn_run(env, Some(log), "info", &vars)
}

/// The longest gap between consecutive instants.
fn longest_gap(times: &[Instant]) -> Duration {
    times
        .windows(2)
        .map(|w| w[1].duration_since(w[0]))
        .max()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_manager_sees_ready_status_watchdog_reload_and_stopping() {
    let sb = sandbox().await;
    let env = Env::new(&push::csv(&people(2)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    env.add_daemon_keys("interval = \"1h\"");
    let socket = env.dir.path().join("notify.sock");
    let notes = Notes::listen(&socket);
    let log = env.dir.path().join("run.log");
    let child = spawn_notified(&env, &socket, 1_000_000, &log);
    let deadline = Instant::now() + Duration::from_secs(30);

    notes.wait_for("READY=1", deadline).await;
    notes.wait_for("STATUS=Last cycle", deadline).await;
    let status = notes
        .all()
        .into_iter()
        .flat_map(|(_, t)| t.lines().map(str::to_string).collect::<Vec<_>>())
        .find(|l| l.starts_with("STATUS=Last cycle"))
        .unwrap_or_default();
    assert!(
        status.contains("ok: 2 done, 0 failed, 0 held")
            && status.contains("next scheduled cycle in"),
        "STATUS says what the cycle did and when the next comes: {status}"
    );
    assert_eq!(sb.users().await.len(), 2);

    // Idle between cycles, the loop pings every half second (WATCHDOG_USEC = 1 s).
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let pings = notes.times_of("WATCHDOG=1");
    assert!(
        pings.len() >= 4,
        "pings at half the watchdog interval: {}",
        pings.len()
    );
    assert!(
        longest_gap(&pings) < Duration::from_millis(900),
        "never a gap near WATCHDOG_USEC: {:?}",
        longest_gap(&pings)
    );

    send_signal(&child, "HUP");
    notes.wait_for("RELOADING=1", deadline).await;
    let reloading = notes
        .all()
        .into_iter()
        .find(|(_, t)| t.lines().any(|l| l == "RELOADING=1"))
        .expect("reloading");
    assert!(
        reloading
            .1
            .lines()
            .any(|l| l.starts_with("MONOTONIC_USEC=")),
        "RELOADING=1 carries MONOTONIC_USEC: {:?}",
        reloading.1
    );
    let ready_again = || {
        notes
            .times_of("READY=1")
            .into_iter()
            .any(|t| t >= reloading.0)
    };
    while !ready_again() {
        assert!(
            Instant::now() < deadline,
            "no READY=1 after the reload: {:#?}",
            notes.all()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    send_signal(&child, "TERM");
    let mut child = child;
    let status = blocking(move || child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(0));
    assert!(notes.has("STOPPING=1"), "{:#?}", notes.all());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_cycle_stops_the_watchdog_pings() {
    let sb = sandbox().await;
    // The app takes every create but holds its answer far past the stall bound.
    let px = push::proxy(sb.addr(), |method, path, _| {
        if *method == axum::http::Method::POST && path.ends_with("/Users") {
            Action::ForwardThenStall(Duration::from_secs(6))
        } else {
            Action::Forward
        }
    })
    .await;
    let env = Env::new(&push::csv(&people(1)));
    env.write_config(&env.app("app", &px.base_url(), "bulk = false"));
    env.add_daemon_keys("interval = \"1h\"\nstall_timeout_secs = 1");
    let socket = env.dir.path().join("notify.sock");
    let notes = Notes::listen(&socket);
    let log = env.dir.path().join("run.log");
    let child = spawn_notified(&env, &socket, 1_000_000, &log);
    let deadline = Instant::now() + Duration::from_secs(30);

    notes.wait_for("READY=1", deadline).await;
    notes.wait_for("STATUS=Last cycle", deadline).await;
    let pings = notes.times_of("WATCHDOG=1");
    assert!(
        longest_gap(&pings) > Duration::from_secs(3),
        "while the create hangs the loop stops pinging, so systemd would restart it: {:?}",
        longest_gap(&pings)
    );
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(logged.contains("made no progress"), "{logged}");
    send_signal(&child, "TERM");
    let mut child = child;
    let status = blocking(move || child.wait()).await.expect("wait");
    assert_eq!(status.code(), Some(0));
}
