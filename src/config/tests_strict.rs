//! Config tests of the bad-input rules: every number in its range, strict templates, and
//! secrets written inline that are refused without being echoed.
#![allow(clippy::panic)]

use std::collections::BTreeMap;

use hrsync_connectors::source::{Lifecycle, Person, Position};
use serde_json::Value;

use super::*;

use super::tests::{parse_str, MINIMAL};

fn err(text: &str) -> ConfigError {
    match parse_str(text) {
        Ok(_) => panic!("must be refused:\n{text}"),
        Err(e) => e,
    }
}

#[test]
fn source_numbers_are_bounded_and_named() {
    let http = |extra: &str| {
        MINIMAL.replace(
            "kind = \"csv\"\npath = \"/tmp/hr.csv\"",
            &format!("kind = \"http_json\"\nurl = \"http://127.0.0.1:1/people\"\n{extra}"),
        )
    };
    let cases = [
        (
            "pagination = { style = \"offset\", limit = 1000000 }",
            "sources[0].pagination.limit",
            "between 1 and 10000",
        ),
        (
            "max_pages = 2000000",
            "sources[0].max_pages",
            "between 1 and 1000000",
        ),
        (
            "priority = 9223372036854775807",
            "sources[0].priority",
            "between -1000000 and 1000000",
        ),
        (
            "pagination = { style = \"page\", first_page = 7 }",
            "sources[0].pagination.first_page",
            "between 0 and 1",
        ),
    ];
    for (extra, key, range) in cases {
        let e = err(&http(extra));
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains(range), "{e}");
    }
}

#[test]
fn app_and_guard_numbers_are_bounded_and_named() {
    let cases = [
        (
            "[[apps]]",
            "[[apps]]\nconcurrency = 2305843009213693952",
            "apps[0].concurrency",
        ),
        (
            "[[apps]]",
            "[[apps]]\ndeprovision = { delete_after_days = 4000000000 }",
            "apps[0].deprovision.delete_after_days",
        ),
        (
            "[[apps]]",
            "[[apps]]\nrate_limit = { per_minute = 60, burst = 4000000000 }",
            "apps[0].rate_limit.burst",
        ),
        (
            "[[sources]]",
            "[guards]\nmax_deprovision_per_day = 99999999999\n[[sources]]",
            "guards.max_deprovision_per_day",
        ),
        (
            "[[sources]]",
            "[guards]\nmin_source_records = 99999999999\n[[sources]]",
            "guards.min_source_records",
        ),
        (
            "[[sources]]",
            "[guards]\nmax_source_drop_percent = nan\n[[sources]]",
            "guards.max_source_drop_percent",
        ),
    ];
    for (from, to, key) in cases {
        let e = err(&MINIMAL.replacen(from, to, 1));
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(
            e.line.is_some() && e.message.contains("must be between"),
            "{e}"
        );
    }
}

#[test]
fn unknown_filters_and_tests_are_named_at_load_with_their_line() {
    let cases = [
        ("userName = \"{{ email | lowr }}\"", "apps[0].attributes.userName", "unknown filter \"lowr\""),
        ("userName = \"{{ email }}\"\n[[apps.groups]]\nname = \"all\"\nwhen = \"email is definedd\"", "apps[0].groups[0].when", "unknown test \"definedd\""),
        ("userName = \"{{ email }}\"\n[[apps.groups]]\nname = \"{{ email | slugg }}\"", "apps[0].groups[0].name", "unknown filter \"slugg\""),
        ("userName = \"{{ email }}\"\n[[apps.groups]]\nname = \"all\"\nwhen = \"email | upperr == 'X'\"", "apps[0].groups[0].when", "unknown filter \"upperr\""),
        ("userName = \"{% filter shout %}{{ email }}{% endfilter %}\"", "apps[0].attributes.userName", "unknown filter \"shout\""),
    ];
    for (to, key, what) in cases {
        let e = err(&MINIMAL.replace("userName = \"{{ email }}\"", to));
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert!(e.line.is_some() && e.message.contains(what), "{e}");
    }
    // Filters and tests that exist pass, whether minijinja's or hrsync's.
    let ok = MINIMAL.replace(
        "userName = \"{{ email }}\"",
        "userName = \"{{ email | lower | trim }}\"\nscope = \"email is defined and email is not none\"\n\"name.familyName\" = \"{{ manager_id | ref }}{{ key | slug }}\"",
    );
    assert!(parse_str(&ok).is_ok());
}

fn person(key: &str, fields: &[(&str, &str)]) -> Person {
    Person {
        key: key.into(),
        source: "hris".into(),
        status: Lifecycle::Active,
        start_date: None,
        end_date: None,
        manager_id: None,
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
        position: Position::Line(2),
    }
}

#[test]
fn fields_no_source_provides_are_named_after_the_read() {
    let text = MINIMAL.replace(
        "userName = \"{{ email }}\"",
        "userName = \"{{ email }}\"\ntitle = \"{{ jobtitle }}\"\nnickName = \"{{ nick }}\"",
    );
    let s = parse_str(&text.replace("[[apps]]", "[[apps]]\nscope = \"departmnt == 'X'\""))
        .expect("loads");
    let read = [
        person("E1", &[("email", "a@x"), ("nick", "")]),
        person("E2", &[("email", "b@x")]),
    ];
    let e = check_fields(&s, &[], read.iter()).expect_err("undefined fields");
    assert_eq!(e.key.as_deref(), Some("apps[0].scope"), "{e}");
    assert_eq!(e.line, Some(8), "{e}");
    assert!(e.message.contains("app \"app\" reads `departmnt`"), "{e}");
    assert!(
        e.message
            .contains("apps[0].attributes.title reads `jobtitle`"),
        "{e}"
    );
    assert!(
        !e.message.contains("`nick`"),
        "a field some record carries is provided: {e}"
    );
    // Only the selected apps are checked; a field the source's config declares counts even
    // when every record leaves it empty.
    assert!(check_fields(&s, &["other".into()], read.iter()).is_ok());
    let declared = text.replace(
        "path = \"/tmp/hr.csv\"",
        "path = \"/tmp/hr.csv\"\nfields = { jobtitle = \"title\", nick = \"nick\" }\nrequired = [\"departmnt\"]",
    );
    let s = parse_str(&declared.replace("[[apps]]", "[[apps]]\nscope = \"departmnt == 'X'\""))
        .expect("loads");
    let persons: BTreeMap<&str, Person> = [("E1", person("E1", &[("email", "a@x")]))].into();
    assert!(check_fields(&s, &[], persons.values()).is_ok());
}

#[test]
fn secrets_written_inline_are_refused_without_being_echoed() {
    const SECRET: &str = "s3cr3t-INLINE-0042";
    let cases = [
        ("auth = { kind = \"none\" }", format!("auth = {{ kind = \"bearer\", token = \"{SECRET}\" }}"), "apps[0].auth"),
        ("auth = { kind = \"none\" }", format!("auth = \"{SECRET}\""), "apps[0].auth"),
        ("auth = { kind = \"none\" }", format!("auth = {{ kind = \"api_key\", header = \"X-Api-Key\", key = \"{SECRET}\" }}"), "apps[0].auth"),
        (
            "kind = \"csv\"\npath = \"/tmp/hr.csv\"",
            format!("kind = \"http_json\"\nurl = \"http://127.0.0.1:1/p\"\nauth = {{ kind = \"oauth2_client_credentials\", token_url = \"http://127.0.0.1:1/t\", client_id = \"c\", client_secret = \"{SECRET}\" }}"),
            "sources[0]",
        ),
        (
            "kind = \"csv\"\npath = \"/tmp/hr.csv\"",
            format!("kind = \"workday_raas\"\nurl = \"http://127.0.0.1:1/r\"\nusername = \"isu\"\npassword = \"{SECRET}\""),
            "sources[0]",
        ),
        (
            "kind = \"csv\"\npath = \"/tmp/hr.csv\"",
            format!("kind = \"personio\"\nclient_id = \"c\"\nclient_secret = [\"{SECRET}\"]"),
            "sources[0]",
        ),
    ];
    for (from, to, key) in cases {
        let e = err(&MINIMAL.replace(from, &to));
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(SECRET), "echoed: {shown}");
        assert!(shown.contains(key) && e.line.is_some(), "{shown}");
    }
    // A header value is a secret or a plain string; of the wrong type, it is not echoed.
    let headers = MINIMAL.replace(
        "[apps.attributes]",
        "headers = { \"X-Api-Key\" = 73914682 }\n[apps.attributes]",
    );
    let e = err(&headers);
    assert!(
        !format!("{e}").contains("73914682") && e.key.is_some(),
        "{e}"
    );
}
