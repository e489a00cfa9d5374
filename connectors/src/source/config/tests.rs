//! Config parsing and static checks, through TOML (as the lead reads the file) and JSON.

use super::*;
use crate::http::AuthConfig;
use crate::secret::SecretRef;

#[derive(Debug, Deserialize)]
struct File {
    sources: Vec<SourceConfig>,
}

fn parse(toml_text: &str) -> Result<SourceConfig, String> {
    let f: File = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    f.sources
        .into_iter()
        .next()
        .ok_or_else(|| "no source".to_string())
}

fn ok(toml_text: &str) -> SourceConfig {
    match parse(toml_text) {
        Ok(c) => c,
        Err(e) => {
            assert!(e.is_empty(), "parse failed: {e}");
            unreachable!()
        }
    }
}

fn err(toml_text: &str) -> String {
    parse(toml_text).expect_err("must be rejected")
}

#[test]
fn csv_with_defaults() {
    let c = ok(r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/srv/hr/export.csv"
    "#);
    assert_eq!(c.name(), "hris");
    assert_eq!(c.key(), "employee_id");
    assert_eq!(c.priority(), 0);
    assert_eq!(c.kind.name(), "csv");
    let KindConfig::Csv(csv) = &c.kind else {
        unreachable!("csv kind expected")
    };
    assert_eq!(csv.delimiter, ',');
    assert_eq!(csv.encoding, CsvEncoding::Utf8);
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn common_keys_are_read_for_every_kind() {
    let c = ok(r#"
        [[sources]]
        name = "bamboo"
        kind = "bamboohr"
        company_domain = "acme"
        api_key = { env = "BAMBOO_KEY" }
        priority = 10
        required = ["email"]
        date_formats = ["%m/%d/%Y"]
        email_fields = ["personal_email"]
        fields = { email = "workEmail", team = "/team/name" }
        status_map = { Contractor = "active", "On Leave" = "leave" }
    "#);
    assert_eq!(c.key(), "id");
    assert_eq!(c.priority(), 10);
    assert_eq!(
        c.common.fields.get("team").map(String::as_str),
        Some("/team/name")
    );
    assert_eq!(c.common.status_map.get("On Leave"), Some(&Lifecycle::Leave));
    let KindConfig::BambooHr(b) = &c.kind else {
        unreachable!("bamboohr kind expected")
    };
    assert_eq!(b.api_key, SecretRef::Env("BAMBOO_KEY".into()));
    assert_eq!(b.full_read_every_hours, 24);
    assert!(b.report_fields.contains(&"supervisorEId".to_string()));
    assert!(!b.incremental);
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn unknown_key_names_the_key_and_the_expected_ones() {
    let e = err(r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        pth = "/x.csv"
    "#);
    assert!(
        e.contains("unknown field `pth`, expected one of `path`, `delimiter`, `encoding`"),
        "{e}"
    );
    // Network-only keys do not exist on a file source.
    let e = err(r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        allow_insecure_http = true
    "#);
    assert!(e.contains("unknown field `allow_insecure_http`"), "{e}");
}

#[test]
fn nested_unknown_keys_carry_their_path() {
    let e = err(r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "https://hr.example/api/people"
        pagination = { style = "offset", lim = 5 }
    "#);
    assert!(e.contains("pagination"), "{e}");
    assert!(e.contains("unknown field `lim`"), "{e}");
    let e = err(r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "https://hr.example/api/people"
        pagination = { style = "none", limit = 5 }
    "#);
    assert!(e.contains("unknown field `limit`"), "{e}");
    let e = err(r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "https://hr.example/api/people"
        auth = { kind = "bearer", tokn = { env = "T" } }
    "#);
    assert!(e.contains("unknown field `tokn`"), "{e}");
}

#[test]
fn kind_problems() {
    let e = err(r#"
        [[sources]]
        name = "x"
        kind = "ldap"
    "#);
    assert!(e.contains("unknown source kind `ldap`"), "{e}");
    assert!(e.contains("`workday_raas`"), "{e}");
    let e = err(r#"
        [[sources]]
        name = "x"
        path = "/x.csv"
    "#);
    assert!(e.contains("missing field `kind`"), "{e}");
    let e = err(r#"
        [[sources]]
        kind = "csv"
        path = "/x.csv"
    "#);
    assert!(e.contains("missing field `name`"), "{e}");
}

#[test]
fn encoding_other_than_utf8_is_a_config_error() {
    let e = err(r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        encoding = "latin1"
    "#);
    assert!(e.contains("encoding: unsupported encoding `latin1`"), "{e}");
    let c = ok(r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        encoding = "UTF-8"
        delimiter = ";"
    "#);
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn status_map_values_must_be_lifecycles() {
    let e = err(r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        status_map = { Employed = "actve" }
    "#);
    assert!(e.contains("status_map"), "{e}");
    assert!(e.contains("unknown variant `actve`"), "{e}");
}

#[test]
fn http_json_full_config() {
    let c = ok(r#"
        [[sources]]
        name = "gusto"
        kind = "http_json"
        url = "https://api.gusto.example/v1/companies/c1/employees"
        auth = { kind = "oauth2_client_credentials", token_url = "https://auth.gusto.example/token", client_id = "abc", client_secret = { credential = "gusto-secret" } }
        headers = { "X-Gusto-API-Version" = "2024-04-01" }
        records_pointer = ""
        pagination = { style = "page", per_page_param = "per", per_page = 25, total_pages_header = "X-Total-Pages" }
        timeout_secs = 10
    "#);
    let KindConfig::HttpJson(h) = &c.kind else {
        unreachable!("http_json kind expected")
    };
    assert!(matches!(h.auth, AuthConfig::Oauth2ClientCredentials { .. }));
    assert_eq!(
        h.pagination,
        Pagination::Page {
            page_param: "page".into(),
            per_page_param: "per".into(),
            per_page: 25,
            first_page: 1,
            total_header: None,
            total_pages_header: Some("X-Total-Pages".into()),
            total_pointer: None,
            total_pages_pointer: None,
        }
    );
    assert_eq!(h.max_pages, 10_000);
    assert_eq!(c.validate(), Ok(()));
}

#[test]
fn workday_group_rules_and_prompts() {
    let c = ok(r#"
        [[sources]]
        name = "workday"
        kind = "workday_raas"
        url = "https://wd2-impl-services1.workday.example/ccx/service/customreport2/acme/isu/HR_Export"
        username = "ISU_hrsync"
        password = { file = "/etc/hrsync/wd-pass" }
        prompts = { "Worker_Type!WID" = "abc123", Effective_as_of_Date = "2026-11-22" }
        [sources.group_rules]
        Email_group = { take = "where", field = "Email_Address", where_field = "Usage_Type", equals = "WORK", into = "email" }
        Org_group = { take = "join", field = "Org_Name", separator = " / " }
    "#);
    let KindConfig::WorkdayRaas(w) = &c.kind else {
        unreachable!("workday kind expected")
    };
    assert_eq!(w.group_rules["Org_group"].output_name("Org_group"), "Org");
    assert_eq!(
        w.group_rules["Email_group"].output_name("Email_group"),
        "email"
    );
    assert_eq!(c.validate(), Ok(()));
    let e = err(r#"
        [[sources]]
        name = "workday"
        kind = "workday_raas"
        url = "https://wd.example/r"
        username = "u"
        password = { env = "P" }
        group_rules = { X_group = { take = "last", field = "f" } }
    "#);
    assert!(e.contains("unknown variant `last`"), "{e}");
}

#[test]
fn any_self_describing_format_works() {
    let json = serde_json::json!({
        "name": "people", "kind": "scim", "base_url": "https://idp.example/scim/v2",
        "auth": {"kind": "bearer", "token": {"env": "IDP_TOKEN"}}, "include_groups": true
    });
    let c: SourceConfig = serde_json::from_value(json).expect("json parses");
    assert_eq!(c.key(), "id");
    let KindConfig::Scim(s) = &c.kind else {
        unreachable!("scim kind expected")
    };
    assert!(s.include_groups);
    assert_eq!(s.page_size, 100);
    let bad = serde_json::json!({"name": "p", "kind": "scim", "base_url": "https://x.example", "pagesize": 5});
    let e = serde_json::from_value::<SourceConfig>(bad).expect_err("typo");
    assert!(e.to_string().contains("unknown field `pagesize`"), "{e}");
}

fn invalid(toml_text: &str) -> String {
    ok(toml_text)
        .validate()
        .expect_err("must fail validation")
        .to_string()
}

#[test]
fn validation_catches_what_parsing_cannot() {
    let e = invalid(
        r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "http://hr.example/api"
    "#,
    );
    assert!(
        e.contains("url:") && e.contains("allow_insecure_http"),
        "{e}"
    );
    let c = ok(r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "http://127.0.0.1:8080/api"
    "#);
    assert_eq!(c.validate(), Ok(()));
    let e = invalid(
        r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "not a url"
    "#,
    );
    assert!(e.contains("not a valid URL"), "{e}");
    let e = invalid(
        r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "https://hr.example/api"
        records_pointer = "data"
    "#,
    );
    assert!(
        e.contains("records_pointer") && e.contains("must start with '/'"),
        "{e}"
    );
    let e = invalid(
        r#"
        [[sources]]
        name = "api"
        kind = "http_json"
        url = "https://hr.example/api"
        pagination = { style = "cursor" }
    "#,
    );
    assert!(
        e.contains("exactly one of cursor_pointer and next_link_pointer"),
        "{e}"
    );
    let e = invalid(
        r#"
        [[sources]]
        name = "p"
        kind = "personio"
        client_id = "id"
        client_secret = { env = "S" }
        page_size = 200
    "#,
    );
    assert!(e.contains("page_size: 200"), "{e}");
    let e = invalid(
        r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        date_formats = ["%Q/%m"]
    "#,
    );
    assert!(e.contains("date_formats"), "{e}");
    let e = invalid(
        r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        fields = { email = "/a~2b" }
    "#,
    );
    assert!(e.contains("fields.email"), "{e}");
    let e = invalid(
        r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        status_map = { Active = "active", ACTIVE = "terminated" }
    "#,
    );
    assert!(e.contains("differ only in case"), "{e}");
    let e = invalid(
        r#"
        [[sources]]
        name = "hris"
        kind = "csv"
        path = "/x.csv"
        delimiter = "é"
    "#,
    );
    assert!(e.contains("delimiter"), "{e}");
    let e = invalid(
        r#"
        [[sources]]
        name = "wd"
        kind = "workday_raas"
        url = "https://wd.example/r"
        username = "u"
        password = { env = "P" }
        prompts = { format = "csv" }
    "#,
    );
    assert!(e.contains("prompts.format"), "{e}");
}
