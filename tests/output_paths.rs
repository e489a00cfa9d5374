//! Writing to a path the user named never replaces what that path is: a symlink stays a
//! link (its target gets the report), a FIFO stays a FIFO (its reader gets the whole
//! report), a character device stays a device, `-` is standard output, and a state path
//! that is a symlink keeps working and stays a link.

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::util::push::*;
use crate::util::*;
use hrsync_sandbox::SandboxHandle;

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p)
        .map(|m| m.file_type().is_symlink())
        .unwrap_or(false)
}

fn plan_json(bytes: &[u8]) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(bytes).expect("a whole JSON plan");
    assert_eq!(doc["format_version"], 1, "{doc:#}");
    doc
}

/// An environment with three persons to create in one sandbox app.
async fn three_to_create() -> (SandboxHandle, Env) {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(3)));
    env.write_config(&env.app("wiki", &sb.base_url(), ""));
    (sb, env)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_and_save_to_a_symlink_write_the_target_and_keep_the_link() {
    let (sb, env) = three_to_create().await;
    let reports = env.dir.path().join("reports");
    std::fs::create_dir(&reports).expect("mkdir");
    let link = env.dir.path().join("latest.json");
    std::os::unix::fs::symlink("reports/plan.json", &link).expect("symlink");
    let saved_link = env.dir.path().join("saved.plan");
    let saved_target = reports.join("saved-target.plan");
    std::fs::write(&saved_target, "old").expect("write");
    std::os::unix::fs::symlink(&saved_target, &saved_link).expect("symlink");

    let out = run(
        &env,
        &[
            "plan",
            "--format",
            "json",
            "--output",
            &link.display().to_string(),
            "--save",
            &saved_link.display().to_string(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(is_symlink(&link), "--output replaced the symlink");
    assert!(is_symlink(&saved_link), "--save replaced the symlink");
    let doc = plan_json(&std::fs::read(reports.join("plan.json")).expect("target"));
    assert_eq!(doc["apps"][0]["summary"]["create"], 3, "{doc:#}");
    plan_json(&std::fs::read(&saved_target).expect("saved target"));

    // The saved plan reached through the link is the one apply takes.
    let out = run(
        &env,
        &[
            "apply",
            "--plan",
            &saved_link.display().to_string(),
            "--yes",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 3, "the saved plan was applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_a_fifo_feeds_its_reader_and_keeps_the_fifo() {
    let (_sb, env) = three_to_create().await;
    let fifo = env.dir.path().join("plan.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo");
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (fifo.clone(), done.clone());
        std::thread::spawn(move || read_fifo(&path, &done))
    };

    let out = run(
        &env,
        &[
            "plan",
            "--format",
            "json",
            "--output",
            &fifo.display().to_string(),
        ],
    )
    .await;
    done.store(true, Ordering::SeqCst);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let got = reader.join().expect("reader thread");
    let doc = plan_json(&got);
    assert_eq!(doc["apps"][0]["summary"]["create"], 3, "{doc:#}");
    let kind = std::fs::symlink_metadata(&fifo).expect("meta").file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_dash_is_standard_output() {
    let (_sb, env) = three_to_create().await;
    let out = run(&env, &["plan", "--format", "json", "--output", "-"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let doc = plan_json(&out.stdout);
    assert_eq!(doc["apps"][0]["summary"]["create"], 3, "{doc:#}");
}

/// Reads a FIFO without ever blocking on it: until a writer has come and gone, or until
/// `done` says no writer will come (then whatever arrived, possibly nothing, is returned).
// A plain thread polling a non-blocking FIFO: sleeping here stalls no async runtime.
#[allow(clippy::disallowed_methods)]
fn read_fifo(path: &Path, done: &AtomicBool) -> Vec<u8> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const O_NONBLOCK: i32 = 0o4000;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .expect("open the fifo");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let (mut got, mut buf) = (Vec::new(), [0u8; 8192]);
    while std::time::Instant::now() < deadline {
        let finished = done.load(Ordering::SeqCst);
        match file.read(&mut buf) {
            Ok(0) if !got.is_empty() || finished => break,
            Ok(0) => {}
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                continue;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("reading the fifo: {e}"),
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    got
}

/// True when the tests run as root (mknod needs it).
fn running_as_root(dir: &Path) -> bool {
    let probe = dir.join("uid-probe");
    std::fs::write(&probe, "").expect("write");
    std::fs::metadata(&probe).expect("meta").uid() == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_to_a_character_device_keeps_the_device() {
    let (_sb, env) = three_to_create().await;
    if !running_as_root(env.dir.path()) {
        eprintln!("not root: mknod is not possible, the device case is covered in CI");
        return;
    }
    // A null device of our own, in the test's directory: never the system's /dev/null.
    let dev = env.dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .arg(&dev)
        .args(["c", "1", "3"])
        .status()
        .expect("mknod runs");
    assert!(made.success(), "mknod");
    let out = run(
        &env,
        &[
            "plan",
            "--format",
            "json",
            "--output",
            &dev.display().to_string(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let meta = std::fs::symlink_metadata(&dev).expect("meta");
    assert!(
        meta.file_type().is_char_device(),
        "the device was replaced by a {:?}",
        meta.file_type()
    );
    assert_eq!(
        meta.rdev(),
        std::fs::metadata("/dev/null").expect("null").rdev()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_path_that_is_a_symlink_keeps_working_and_stays_a_link() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(3)));
    let real_dir = env.dir.path().join("var-lib");
    std::fs::create_dir(&real_dir).expect("mkdir");
    let real = real_dir.join("state.db");
    // Dangling at first: the first apply creates the database at the link's target.
    std::os::unix::fs::symlink(&real, &env.state).expect("symlink");
    env.write_config(&env.app("wiki", &sb.base_url(), ""));

    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 3);
    assert!(is_symlink(&env.state), "the state symlink was replaced");
    assert!(real.is_file(), "the database lives at the link's target");

    // The links were recorded through the symlink: the next cycle has nothing to do.
    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(sb.users().await.len(), 3, "no second account");
    assert!(is_symlink(&env.state), "the state symlink was replaced");
}
