//! BambooHR fixtures shared by the BambooHR tests: the API prefix, a small company in
//! the custom report's shape, the source's config and its API key.

use hrsync_connectors::source::SourceRead;
use serde_json::{json, Value};

/// The path of the v1 API under the test server.
pub const PREFIX: &str = "/api/gateway.php/acme/v1";

/// Four employees as the custom report returns them; Di's e-mail is invalid, and
/// `supervisorEId` holds the supervisor's employee number.
pub fn employees() -> Value {
    json!([
        {"id": "1", "employeeNumber": "E-001", "firstName": "Ana", "lastName": "Lima",
         "workEmail": "ana@corp.example", "department": "Engineering", "jobTitle": "CTO",
         "status": "Active", "hireDate": "2019-01-07", "terminationDate": "0000-00-00",
         "supervisorEId": null, "lastChanged": "2026-11-01T10:00:00+00:00"},
        {"id": "2", "employeeNumber": "E-002", "firstName": "Bo", "lastName": "Berg",
         "workEmail": "bo@corp.example", "department": "Engineering", "jobTitle": "Engineer",
         "status": "Active", "hireDate": "2021-03-01", "terminationDate": "0000-00-00",
         "supervisorEId": "E-001", "lastChanged": "2026-11-01T10:00:00+00:00"},
        {"id": "3", "employeeNumber": "E-003", "firstName": "Cy", "lastName": "Cole",
         "workEmail": "cy@corp.example", "department": "Sales", "jobTitle": "AE",
         "status": "Inactive", "hireDate": "2020-05-01", "terminationDate": "2026-10-31",
         "supervisorEId": "E-001", "lastChanged": "2026-11-01T10:00:00+00:00"},
        {"id": "4", "employeeNumber": "E-004", "firstName": "Di", "lastName": "Dunn",
         "workEmail": "di@", "department": "Sales", "jobTitle": "AE",
         "status": "Active", "hireDate": "2022-02-01", "terminationDate": "0000-00-00",
         "supervisorEId": "E-001", "lastChanged": "2026-11-01T10:00:00+00:00"}
    ])
}

/// A `bamboohr` source named `bamboo` against `base`, with `extra` keys.
pub fn config(base: &str, extra: &str) -> String {
    format!(
        r#"
        name = "bamboo"
        kind = "bamboohr"
        company_domain = "acme"
        api_key = {{ credential = "bamboo-key" }}
        base_url = "{base}{PREFIX}"
        {extra}
        "#
    )
}

/// A credentials directory holding the API key `KEY123`.
pub fn creds() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("bamboo-key"), "KEY123\n").expect("write key");
    dir
}

/// (key, manager) of each person of a read.
pub fn managers(read: &SourceRead) -> Vec<(String, Option<String>)> {
    read.persons
        .iter()
        .map(|p| (p.key.clone(), p.manager_id.clone()))
        .collect()
}
