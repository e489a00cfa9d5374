//! Bad configuration that used to pass, over the binary against the sandbox: a misspelt
//! field or filter in a template, `scope`, group `name` or `when` is a configuration error
//! (exit 2, naming the app, the key and its line) at `check`, `plan` and `apply`, and
//! nothing reaches the app; the deprovision floor holds "more than half of a small app";
//! numbers out of range are configuration errors naming key and range; a panic is an
//! internal error (exit 1); a secret written inline is refused without being echoed.

use hrsync_sandbox::SandboxHandle;
use serde_json::Value;

use crate::util::push::{apply, csv, people, run, Person};
use crate::util::*;

/// The account with this externalId.
fn account<'a>(users: &'a [Value], key: &str) -> &'a Value {
    by_external_id(users, key)
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no account for {key}"))
}

/// Replaces `from` with `to` in the config file (which must contain it).
fn edit_config(env: &Env, from: &str, to: &str) {
    let text = std::fs::read_to_string(&env.config).expect("read config");
    assert!(text.contains(from), "config lacks {from:?}:\n{text}");
    std::fs::write(&env.config, text.replacen(from, to, 1)).expect("write config");
}

/// The 1-based line of the first config line containing `needle`.
fn line_of(env: &Env, needle: &str) -> usize {
    let text = std::fs::read_to_string(&env.config).expect("read config");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("config lacks {needle:?}"))
}

/// `n` persons synced into a fresh sandbox by a clean first apply (app block `extra`).
async fn synced(n: usize, extra: &str) -> (SandboxHandle, Env, Vec<Person>) {
    let sb = sandbox().await;
    let persons = people(n);
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), extra));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "first apply: {}", text(&o));
    assert_eq!(sb.users().await.len(), n);
    sb.reset_stats();
    (sb, env, persons)
}

/// `check`, `plan` and `apply --yes` each exit 2 with a message holding every needle, and
/// nothing is written to the app.
async fn refused_everywhere(env: &Env, sb: &SandboxHandle, needles: &[&str]) {
    for cmd in [&["check"][..], &["plan"][..], &["apply", "--yes"][..]] {
        let o = run(env, cmd).await;
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", text(&o));
        for n in needles {
            assert!(err.contains(n), "{cmd:?} must say {n:?}: {err}");
        }
    }
    assert_eq!(sb.stats().writes, 0, "nothing may be written to the app");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_in_scope_deactivates_no_one() {
    let (sb, env, _) = synced(3, "scope = \"department == 'Sales'\"").await;
    edit_config(&env, "department == 'Sales'", "departmnt == 'Sales'");
    let line = format!(":{}: apps[0].scope", line_of(&env, "departmnt"));
    refused_everywhere(
        &env,
        &sb,
        &[&line, "app \"app\"", "`departmnt`", "department"],
    )
    .await;
    for u in sb.users().await {
        assert_eq!(u["active"], true, "still in HR and in scope: {u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_field_in_a_template_clears_no_title() {
    let (sb, env, _) = synced(3, "").await;
    edit_config(
        &env,
        "title = \"{{ job_title }}\"",
        "title = \"{{ jobtitle }}\"",
    );
    let line = format!(":{}: apps[0].attributes.title", line_of(&env, "jobtitle"));
    refused_everywhere(&env, &sb, &[&line, "app \"app\"", "`jobtitle`"]).await;
    for u in sb.users().await {
        assert_eq!(u["title"], "Rep", "title kept: {u}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misspelt_field_in_a_group_name_or_when_is_named() {
    let groups =
        "\n[[apps.groups]]\nname = \"dept-{{ department | slug }}\"\nwhen = \"status == 'active'\"";
    let (sb, env, _) = synced(2, groups).await;
    edit_config(
        &env,
        "when = \"status == 'active'\"",
        "when = \"stauts == 'active'\"",
    );
    let line = format!(":{}: apps[0].groups[0].when", line_of(&env, "stauts"));
    refused_everywhere(&env, &sb, &[&line, "`stauts`"]).await;
    edit_config(&env, "stauts", "status");
    edit_config(&env, "{{ department | slug }}", "{{ dept | slug }}");
    let line = format!(":{}: apps[0].groups[0].name", line_of(&env, "{{ dept"));
    refused_everywhere(&env, &sb, &[&line, "`dept`"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_filter_is_a_config_error_not_a_quarantine() {
    let (sb, env, _) = synced(2, "").await;
    edit_config(&env, "\"{{ email | lower }}\"", "\"{{ email | lowr }}\"");
    let line = format!(":{}: apps[0].attributes.userName", line_of(&env, "lowr"));
    refused_everywhere(&env, &sb, &[&line, "unknown filter \"lowr\""]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_optional_field_empty_for_some_persons_still_renders_empty() {
    let mut persons = people(2);
    persons[1].title = String::new();
    let sb = sandbox().await;
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    assert_eq!(account(&users, "E0001")["title"], "Rep");
    assert!(account(&users, "E0002").get("title").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_half_of_a_small_app_is_held_until_released() {
    let (sb, env, mut persons) = synced(3, "").await;
    for p in persons.iter_mut().take(2) {
        p.status = "terminated".into();
    }
    env.set_hr(&csv(&persons));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(3), "held: {}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("more than half of the app"),
        "{}",
        text(&o)
    );
    assert_eq!(sb.stats().writes, 0, "no active=false write while held");
    for u in sb.users().await {
        assert_eq!(u["active"], true, "{u}");
    }
    let o = run(&env, &["apply", "--yes", "--allow-mass-deprovision"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    assert_eq!(account(&users, "E0001")["active"], false);
    assert_eq!(account(&users, "E0002")["active"], false);
    assert_eq!(account(&users, "E0003")["active"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_leaver_of_a_small_app_is_offboarded() {
    let (sb, env, mut persons) = synced(2, "").await;
    persons[0].status = "terminated".into();
    env.set_hr(&csv(&persons));
    let o = apply(&env).await;
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let users = sb.users().await;
    assert_eq!(account(&users, "E0001")["active"], false);
    assert_eq!(account(&users, "E0002")["active"], true);
}

/// Each case: (text replaced, replacement, key named, range named, text on the key's line).
const OUT_OF_RANGE: &[(&str, &str, &str, &str, &str)] = &[
    (
        "[[apps]]",
        "[[apps]]\ndeprovision = { action = \"deactivate\", delete_after_days = 100000000 }",
        "apps[0].deprovision.delete_after_days",
        "between 0 and 3650",
        "delete_after_days",
    ),
    (
        "[[apps]]",
        "[[apps]]\nconcurrency = 100000000000",
        "apps[0].concurrency",
        "between 1 and 256",
        "concurrency =",
    ),
    (
        "[[apps]]",
        "[[apps]]\npre_provision_days = 100000",
        "apps[0].pre_provision_days",
        "between 0 and 365",
        "pre_provision_days",
    ),
    (
        "[[apps]]",
        "[[apps]]\ntimeout_secs = 99999999999",
        "apps[0].timeout_secs",
        "between 1 and 3600",
        "timeout_secs",
    ),
    (
        "[[apps]]",
        "[[apps]]\nrate_limit = { per_second = 4000000000 }",
        "apps[0].rate_limit.per_second",
        "between 1 and 1000000",
        "rate_limit",
    ),
    (
        "[guards]",
        "[guards]\nmax_deprovision_percent = 150.0",
        "guards.max_deprovision_percent",
        "between 0 and 100",
        "max_deprovision_percent",
    ),
    (
        "[guards]",
        "[lifecycle]\nabsence_grace_cycles = 4000000000\n\n[guards]",
        "lifecycle.absence_grace_cycles",
        "between 0 and 10000",
        "absence_grace_cycles",
    ),
    (
        "[daemon]",
        "[daemon]\ninterval = \"213503982334602d\"",
        "daemon.interval",
        "between 1s and 30d",
        "interval =",
    ),
    (
        "[daemon]",
        "[daemon]\nschedule = \"0 0 31 2 *\"",
        "daemon.schedule",
        "never fires",
        "schedule =",
    ),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numbers_out_of_range_are_config_errors_naming_key_and_range() {
    let (sb, env, _) = synced(2, "").await;
    let good = std::fs::read_to_string(&env.config).expect("read config");
    for (from, to, key, range, on_line) in OUT_OF_RANGE {
        std::fs::write(&env.config, &good).expect("write config");
        edit_config(&env, from, to);
        let at = format!(":{}: {key}", line_of(&env, on_line));
        refused_everywhere(&env, &sb, &[&at, range]).await;
    }
    assert_eq!(sb.stats().total, 0, "no request for an invalid config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_an_internal_error_exiting_1() {
    // Printing to a full device panics inside the standard library: the one panic the
    // binary can be driven into without test-only code.
    let env = Env::new(&csv(&people(1)));
    env.write_config(&env.app("app", "http://127.0.0.1:9/scim/v2", ""));
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .arg("--config")
        .arg(&env.config)
        .arg("check")
        .env("HRSYNC_LOG", "warn")
        .env_remove("RUST_BACKTRACE")
        .stdout(full)
        .output()
        .expect("run hrsync");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("internal error"), "{err}");
    assert!(err.contains("please report it"), "{err}");
}

const SECRET: &str = "xoxb-INLINE-SECRET-0042";

/// Each case: the app's `auth` line or an extra source, with the secret written inline;
/// the key named; text on the line named.
fn inline_secrets() -> Vec<(String, &'static str, &'static str)> {
    let auth = |a: &str| format!("auth = {a}");
    vec![
        (
            auth(&format!("{{ kind = \"bearer\", token = \"{SECRET}\" }}")),
            "apps[0].auth",
            "auth =",
        ),
        (auth(&format!("\"{SECRET}\"")), "apps[0].auth", "auth ="),
        (
            auth(&format!(
                "{{ kind = \"basic\", username = \"u\", password = \"{SECRET}\" }}"
            )),
            "apps[0].auth",
            "auth =",
        ),
        (
            format!(
                "[[sources]]\nname = \"bamboo\"\nkind = \"bamboohr\"\ncompany_domain = \"corp\"\napi_key = \"{SECRET}\""
            ),
            "sources[1]",
            "name = \"bamboo\"",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_written_inline_is_refused_and_never_echoed() {
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(1)));
    env.write_config(&env.app("app", &sb.base_url(), ""));
    let good = std::fs::read_to_string(&env.config).expect("read config");
    for (bad, key, on_line) in inline_secrets() {
        let config = if bad.starts_with("auth =") {
            let lines: Vec<String> = good
                .lines()
                .map(|l| {
                    if l.starts_with("auth =") {
                        bad.clone()
                    } else {
                        l.to_string()
                    }
                })
                .collect();
            lines.join("\n")
        } else {
            good.replacen("[[apps]]", &format!("{bad}\n\n[[apps]]"), 1)
        };
        std::fs::write(&env.config, config).expect("write config");
        let line = line_of(&env, on_line);
        // A `[[sources]]` table is named at its header, the line above its first key.
        let line = if key.starts_with("sources") {
            line - 1
        } else {
            line
        };
        let named = format!(":{line}: {key}");
        for cmd in [&["check"][..], &["plan"][..], &["apply", "--yes"][..]] {
            let o = run(&env, cmd).await;
            let all = text(&o);
            assert_eq!(o.status.code(), Some(2), "{cmd:?}: {all}");
            assert!(
                !all.contains("INLINE-SECRET"),
                "{cmd:?} echoed the secret: {all}"
            );
            assert!(all.contains(&named), "{cmd:?} must name {named:?}: {all}");
        }
    }
    assert_eq!(sb.stats().total, 0);
}
