//! Config tests: the example file loads; errors name key and line; secrets are required.
#![allow(clippy::panic)]

use std::path::Path;

use super::*;

/// Parses a config text as if it were /etc/hrsync/config.toml.
pub(super) fn parse_str(text: &str) -> Result<Settings, ConfigError> {
    parse(
        Path::new("/etc/hrsync/config.toml"),
        text,
        &LoadOptions::default(),
    )
}

/// The smallest valid config: one csv source, one app.
pub(super) const MINIMAL: &str = r#"
[[sources]]
name = "hris"
kind = "csv"
path = "/tmp/hr.csv"

[[apps]]
name = "app"
base_url = "http://127.0.0.1:1/scim/v2"
auth = { kind = "none" }
[apps.attributes]
userName = "{{ email }}"
"#;

#[test]
fn example_config_loads_with_its_secrets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The unit file imports every `hrsync.*` credential, and the example names only such
    // ones, so the two work together as shipped.
    let unit = std::fs::read_to_string(root.join("systemd/hrsync.service")).expect("unit");
    let imported: Vec<&str> = unit
        .lines()
        .filter_map(|l| l.strip_prefix("ImportCredential="))
        .filter_map(|glob| glob.strip_suffix('*'))
        .collect();
    assert!(
        !unit.lines().any(|l| l.starts_with("LoadCredential=")),
        "a LoadCredential= line fails the start when its file is absent"
    );
    let example = std::fs::read_to_string(root.join("config.example.toml")).expect("example");
    let named: Vec<&str> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split("credential = \"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert_eq!(named.len(), 3, "{named:?}");
    let dir = tempfile::tempdir().expect("tempdir");
    for name in &named {
        assert!(
            imported.iter().any(|prefix| name.starts_with(prefix)),
            "systemd/hrsync.service imports no credential named {name}"
        );
        std::fs::write(dir.path().join(name), format!("{name}-example")).expect("write");
    }
    let s = load(
        &root.join("config.example.toml"),
        &LoadOptions {
            credentials_dir: Some(dir.path().to_path_buf()),
        },
    )
    .unwrap_or_else(|e| panic!("config.example.toml must load: {e}"));
    assert_eq!(s.sources.len(), 2);
    assert_eq!(s.apps.len(), 2);
    let slack = s.app("slack").expect("slack");
    assert_eq!(slack.profile, "slack");
    assert_eq!(slack.policy.delete_after_days, Some(30));
    assert!(slack.manages_groups);
    assert!(
        slack.concurrency_adaptive,
        "the example leaves concurrency to adapt"
    );
    assert!(s.schedule.is_some());
    assert!(
        !format!("{:?}", slack.auth).contains("slack-scim-token-example"),
        "secrets are redacted in Debug output"
    );
}

#[test]
fn minimal_config_uses_defaults() {
    let s = parse_str(MINIMAL).expect("valid");
    assert_eq!(
        s.state_path,
        std::path::PathBuf::from("/var/lib/hrsync/state.db")
    );
    assert_eq!(s.absence_grace_cycles, 3);
    assert_eq!(s.guards.min_source_records, 1);
    let a = &s.apps[0];
    // No `concurrency`: the in-flight limit adapts, up to its cap.
    assert!(a.concurrency_adaptive);
    assert_eq!(a.concurrency, super::app::ADAPTIVE_CONCURRENCY_CAP);
    assert_eq!(a.policy.delete_after_days, None);
    // A configured `concurrency` is a hard cap, never adapted.
    let s = parse_str(&MINIMAL.replace("name = \"app\"", "name = \"app\"\nconcurrency = 8"))
        .expect("valid");
    assert!(!s.apps[0].concurrency_adaptive);
    assert_eq!(s.apps[0].concurrency, 8);
}

#[test]
fn unknown_key_names_path_and_line() {
    let text = MINIMAL.replace("path = \"/tmp/hr.csv\"", "path = \"/tmp/hr.csv\"\npth = 1");
    let e = parse_str(&text).expect_err("error");
    assert_eq!(e.line, Some(6), "{e}");
    assert!(e.to_string().contains("pth"), "{e}");
    let text = MINIMAL.replace("[apps.attributes]", "colour = \"blue\"\n[apps.attributes]");
    let e = parse_str(&text).expect_err("error");
    assert_eq!(e.key.as_deref(), Some("apps[0].colour"), "{e}");
    assert_eq!(e.line, Some(11), "{e}");
}

#[test]
fn value_errors_name_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "auth = { kind = \"none\" }",
            "auth = { kind = \"bearer\", token = { env = \"HRSYNC_NO_SUCH_VAR_X\" } }",
            "apps[0].auth",
        ),
        (
            "http://127.0.0.1:1/scim/v2",
            "http://scim.example.com/v2",
            "apps[0].base_url",
        ),
        (
            "userName = \"{{ email }}\"",
            "userName = \"{{ email \"",
            "apps[0].attributes.userName",
        ),
        (
            "userName = \"{{ email }}\"",
            "title = \"x\"",
            "apps[0].attributes",
        ),
        (
            "name = \"app\"",
            "name = \"app\"\nprofile = \"myspace\"",
            "apps[0].profile",
        ),
        (
            "name = \"app\"",
            "name = \"app\"\nconcurrency = 0",
            "apps[0].concurrency",
        ),
        (
            "name = \"app\"",
            "name = \"app\"\nscope = \"department ==\"",
            "apps[0].scope",
        ),
        (
            "name = \"app\"",
            "name = \"app\"\nmatch_on = [\"nickname\"]",
            "apps[0].match_on",
        ),
    ];
    for (from, to, key) in cases {
        let text = MINIMAL.replace(from, to);
        let e = parse_str(&text)
            .err()
            .unwrap_or_else(|| panic!("{to} must fail"));
        assert!(
            e.key.as_deref().is_some_and(|k| k.starts_with(key)),
            "{to}: {e}"
        );
        assert!(e.line.is_some(), "{to}: {e}");
    }
}

#[test]
fn schedule_and_interval_are_exclusive_and_parsed() {
    let e = parse_str(&format!(
        "[daemon]\nschedule = \"* * * * *\"\ninterval = \"1m\"\n{MINIMAL}"
    ))
    .expect_err("both");
    assert!(e.to_string().contains("not both"), "{e}");
    let e =
        parse_str(&format!("[daemon]\nschedule = \"every day\"\n{MINIMAL}")).expect_err("bad cron");
    assert_eq!(e.key.as_deref(), Some("daemon.schedule"));
    assert!(parse_str(&format!("[daemon]\ninterval = \"90s\"\n{MINIMAL}")).is_ok());
}

#[test]
fn toml_syntax_errors_give_the_line() {
    let e = parse_str("[daemon]\nstate_path = \n").expect_err("syntax");
    assert_eq!(e.line, Some(2), "{e}");
}

/// MINIMAL with `[apps.headers]` appended to its one app.
fn with_headers(headers: &str) -> String {
    format!("{MINIMAL}\n[apps.headers]\n{headers}\n")
}

/// An environment variable the test process already has, and its value, which must not
/// occur in `elsewhere`: the test reads the environment but never changes it, so it cannot
/// race other tests.
fn some_env_var(elsewhere: &str) -> (&'static str, String) {
    ["PATH", "HOME", "USER", "CARGO_MANIFEST_DIR"]
        .into_iter()
        .find_map(|v| {
            std::env::var(v)
                .ok()
                .filter(|x| x.len() > 3 && !elsewhere.contains(x.as_str()))
                .filter(|x| x.bytes().all(|b| (0x20..0x7f).contains(&b)))
                .map(|x| (v, x))
        })
        .expect("some printable environment variable")
}

fn headers_of(a: &AppSettings) -> Vec<(String, String)> {
    a.http
        .secret_headers
        .iter()
        .map(|(k, v)| (k.clone(), v.expose().to_string()))
        .collect()
}

#[test]
fn header_values_come_from_secrets_or_plain_text_and_never_show_in_debug() {
    // The Debug text of the same settings without headers: the env value must not be in it
    // already, or its absence below would prove nothing.
    let plain = parse_str(MINIMAL).expect("valid");
    let baseline = format!("{:?} {plain:?} {:#?}", plain.apps[0], plain.apps[0].http);
    let (var, from_env) = some_env_var(&baseline);
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("vendor-key"), "sk-live-9f8e7d\n").expect("write");
    let text = with_headers(&format!(
        "\"X-Env-Key\" = {{ env = \"{var}\" }}\n\
         \"X-Api-Key\" = {{ credential = \"vendor-key\" }}\n\
         \"X-Tenant\" = \"tenant-acme-42\"\n"
    ));
    let s = parse(
        Path::new("/etc/hrsync/config.toml"),
        &text,
        &LoadOptions {
            credentials_dir: Some(dir.path().to_path_buf()),
        },
    )
    .unwrap_or_else(|e| panic!("valid: {e}"));
    let app = &s.apps[0];
    assert_eq!(
        headers_of(app),
        vec![
            ("X-Api-Key".to_string(), "sk-live-9f8e7d".to_string()),
            ("X-Env-Key".to_string(), from_env.clone()),
            ("X-Tenant".to_string(), "tenant-acme-42".to_string()),
        ]
    );
    let shown = format!("{app:?} {s:?} {:#?}", app.http);
    for value in ["sk-live-9f8e7d", "tenant-acme-42", from_env.as_str()] {
        assert!(!shown.contains(value), "Debug shows {value:?}: {shown}");
    }
    assert!(
        shown.contains("X-Api-Key"),
        "header names stay visible: {shown}"
    );
}

#[test]
fn a_plain_header_alone_still_works() {
    let s = parse_str(&with_headers("\"X-Request-Source\" = \"hrsync\"")).expect("valid");
    assert_eq!(
        headers_of(&s.apps[0]),
        vec![("X-Request-Source".to_string(), "hrsync".to_string())]
    );
}

#[test]
fn header_errors_name_the_header_and_never_echo_its_value() {
    let e = parse_str(&with_headers(
        "\"X-Api-Key\" = { env = \"HRSYNC_TEST_NO_SUCH_HEADER_VAR\" }",
    ))
    .expect_err("missing env");
    assert_eq!(e.key.as_deref(), Some("apps[0].headers.X-Api-Key"), "{e}");
    assert_eq!(e.line, Some(15), "{e}");
    assert!(
        e.to_string().contains("HRSYNC_TEST_NO_SUCH_HEADER_VAR"),
        "{e}"
    );

    let e = parse_str(&with_headers("\"X-Api-Key\" = \"sk-bad\\u0007value\""))
        .expect_err("control character");
    assert_eq!(e.key.as_deref(), Some("apps[0].headers.X-Api-Key"), "{e}");
    assert!(!e.to_string().contains("sk-bad"), "{e}");

    let e = parse_str(&with_headers("\"Bad Name\" = \"x\"")).expect_err("name");
    assert_eq!(
        e.key.as_deref(),
        Some("apps[0].headers.\"Bad Name\""),
        "{e}"
    );

    let e = parse_str(&with_headers("\"X-Api-Key\" = { vault = \"k\" }")).expect_err("form");
    assert!(e.to_string().contains("vault"), "{e}");
    assert!(
        e.key
            .as_deref()
            .is_some_and(|k| k.starts_with("apps[0].headers")),
        "{e}"
    );
}

#[test]
fn shutdown_grace_is_parsed_and_bounded() {
    let grace = |v: &str| parse_str(&format!("[daemon]\nshutdown_grace_secs = {v}\n{MINIMAL}"));
    assert_eq!(
        parse_str(MINIMAL).expect("default").shutdown_grace,
        std::time::Duration::from_secs(30)
    );
    assert_eq!(
        grace("5").expect("valid").shutdown_grace,
        std::time::Duration::from_secs(5)
    );
    assert_eq!(
        grace("3600").expect("upper bound").shutdown_grace,
        std::time::Duration::from_secs(3600)
    );
    for bad in ["0", "3601"] {
        let e = grace(bad)
            .err()
            .unwrap_or_else(|| panic!("{bad} must fail"));
        assert_eq!(e.key.as_deref(), Some("daemon.shutdown_grace_secs"), "{e}");
        assert_eq!(e.line, Some(2), "{e}");
    }
    let e = grace("-1").expect_err("negative");
    assert_eq!(e.key.as_deref(), Some("daemon.shutdown_grace_secs"), "{e}");
    let e = grace("\"30s\"").expect_err("not a number");
    assert_eq!(e.key.as_deref(), Some("daemon.shutdown_grace_secs"), "{e}");
}
