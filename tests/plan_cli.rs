//! `plan` as scripts use it: `--detailed-exitcode` (0 nothing to do, 2 changes pending,
//! 1 any error — config errors and aborted cycles included) and `--output`.

use crate::util::push::*;
use crate::util::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detailed_exit_codes_and_output_file() {
    let sb = sandbox().await;
    let persons = people(3);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("wiki", &sb.base_url(), ""));

    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "changes pending: {}",
        text(&out)
    );

    let report = env.dir.path().join("plan.json");
    let report_arg = report.display().to_string();
    let out = run(&env, &["plan", "--format", "json", "--output", &report_arg]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        out.stdout.is_empty(),
        "the report goes to the file, not stdout: {}",
        text(&out)
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("report")).expect("json");
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["apps"][0]["summary"]["create"], 3, "{doc:#}");
    assert_eq!(sb.stats().writes, 0, "plan writes nothing");

    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(0), "in sync: {}", text(&out));

    // Without the flag an emptied HR file is a guard abort (3); with it, an error (1).
    env.set_hr(HEADER);
    let out = run(&env, &["plan"]).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // A config error is 2 normally and 1 under --detailed-exitcode ("2" means changes).
    std::fs::write(&env.config, "[daemon]\nno_such_key = 1\n").expect("write");
    let out = run(&env, &["plan"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = run(&env, &["plan", "--detailed-exitcode"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no_such_key"),
        "{}",
        text(&out)
    );
}
