//! The interactive `apply` (a terminal, no `--yes`): it shows the plan, asks, and on "yes"
//! applies exactly the plan it showed, refused like a stale `--plan` when HR changed while
//! the question was open. Driven under a pseudo-terminal, as an operator meets it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::push::{csv, differences, people, Person};
use crate::util::*;

const QUESTION: &str = "Only 'yes' is accepted";

/// Runs `hrsync apply` on a pseudo-terminal; once the question is on screen, calls
/// `meanwhile`, answers `answer`, and returns the exit code and everything shown.
async fn answer_apply(env: &Env, meanwhile: impl FnOnce(), answer: &str) -> (i32, String) {
    let mut child = tokio::process::Command::from(terminal::script_command(env, &["apply"]))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("run script");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut shown = Vec::new();
    let asked = tokio::time::timeout(Duration::from_secs(60), async {
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&shown).contains(QUESTION) {
            let n = stdout.read(&mut buf).await.expect("read the terminal");
            assert!(
                n > 0,
                "ended before asking: {}",
                String::from_utf8_lossy(&shown)
            );
            shown.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(
        asked.is_ok(),
        "never asked: {}",
        String::from_utf8_lossy(&shown)
    );
    meanwhile();
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all(format!("{answer}\n").as_bytes())
        .await
        .expect("answer");
    stdin.flush().await.expect("flush");
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).await.expect("read the rest");
    shown.extend_from_slice(&rest);
    let status = child.wait().await.expect("wait");
    drop(stdin);
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&shown).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yes_applies_the_plan_that_was_shown() {
    let sb = sandbox().await;
    let persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), "bulk = false"));
    let (code, shown) = answer_apply(&env, || {}, "yes").await;
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("3 to create"), "the plan was shown: {shown}");
    let users = sb.users().await;
    assert!(differences(&users, &persons).is_empty(), "{users:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_of_hr_while_asking_refuses_the_shown_plan_and_sends_nothing() {
    let sb = sandbox().await;
    let persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), "bulk = false"));
    let mut more = persons.clone();
    more.push(Person::numbered(4));
    let (code, shown) = answer_apply(&env, || env.set_hr(&csv(&more)), "yes").await;
    assert_eq!(code, 2, "a stale plan is refused: {shown}");
    assert!(shown.contains("stale"), "{shown}");
    assert_eq!(
        sb.users().await.len(),
        0,
        "neither the shown plan nor a fresh one was applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_answer_but_yes_cancels() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(2)));
    env.write_config(&env.app("app", &sb.base_url(), "bulk = false"));
    let (code, shown) = answer_apply(&env, || {}, "y").await;
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Apply cancelled."), "{shown}");
    assert_eq!(sb.users().await.len(), 0);
}
