//! The CSV source end to end: a file on disk, a config as the user writes it, the exact
//! persons and rejections that come out.

mod source_util;

use std::path::Path;

use chrono::NaiveDate;
use hrsync_connectors::source::{Lifecycle, Position, SourceError};
use source_util::{fetch_err, fetch_ok, field, keys, rejections, source};

fn csv_source(path: &Path, extra: &str) -> Box<dyn hrsync_connectors::source::Source> {
    source(
        &format!(
            "name = \"hris\"\nkind = \"csv\"\npath = {:?}\n{extra}",
            path.display().to_string()
        ),
        None,
    )
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

#[tokio::test]
async fn bom_crlf_quoted_newlines_and_status_map() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(
        "employee_id,email,status,start_date,end_date,manager_id,address\r\n\
         E2,bo@corp.example,Employed,2021-03-01,,E1,\"12 Main St, Suite 4\r\nSpringfield\"\r\n\
         E1,ana@corp.example,employed,2019-01-07,,,\"HQ\"\r\n\
         E3,cy@corp.example,Sabbatical,2020-05-01,,E1,\r\n\
         E4,di@corp.example,Left,2018-02-01,2024-06-30,E1,\r\n"
            .as_bytes(),
    );
    let path = write(dir.path(), "export.csv", &bytes);
    let src = csv_source(
        &path,
        "status_map = { Employed = \"active\", sabbatical = \"leave\", LEFT = \"terminated\" }",
    );
    assert_eq!(src.kind(), "csv");
    let read = fetch_ok(src.as_ref()).await;
    assert!(read.rejected.is_empty(), "{:?}", rejections(&read));
    assert!(read.complete);
    assert_eq!(keys(&read), ["E1", "E2", "E3", "E4"]);
    let by = |k: &str| read.persons.iter().find(|p| p.key == k).expect("person");
    assert_eq!(by("E1").status, Lifecycle::Active);
    assert_eq!(by("E2").status, Lifecycle::Active);
    assert_eq!(by("E3").status, Lifecycle::Leave);
    assert_eq!(by("E4").status, Lifecycle::Terminated);
    assert_eq!(by("E4").end_date, NaiveDate::from_ymd_opt(2024, 6, 30));
    assert_eq!(by("E2").manager_id.as_deref(), Some("E1"));
    assert_eq!(
        field(&read, "E2", "address"),
        "12 Main St, Suite 4\r\nSpringfield"
    );
    assert_eq!(field(&read, "E2", "status"), "active");
    // The quoted line break makes E1's row start on line 4.
    assert_eq!(by("E2").position, Position::Line(2));
    assert_eq!(by("E1").position, Position::Line(4));
    // The BOM does not leak into the first column's name.
    assert_eq!(field(&read, "E1", "employee_id"), "E1");
}

#[tokio::test]
async fn bad_rows_are_quarantined_with_line_and_column_while_others_come_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut bytes = b"employee_id,email,department\n\
        E1,ana@corp.example,Eng\n\
        E2,bo@corp.example\n"
        .to_vec();
    bytes.extend_from_slice(b"E3,cy@corp.example,Caf\xE9\n");
    bytes.extend_from_slice(b"E4,di@corp.example,Sales,extra\n");
    bytes.extend_from_slice(b"E5,ed@corp.example,Ops\n");
    let path = write(dir.path(), "people.csv", &bytes);
    let src = csv_source(&path, "");
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(keys(&read), ["E1", "E5"]);
    let file = path.display();
    assert_eq!(
        rejections(&read),
        [
            format!("hris line 3 E2: row has 2 columns but the header has 3 (file {file}, line 3, column 3)"),
            format!("hris line 4 E3 field department: invalid UTF-8 at byte 4 of the cell (file {file}, line 4, column 3)"),
            format!("hris line 5 E4: row has 4 columns but the header has 3 (file {file}, line 5, column 4)"),
        ]
    );
}

#[tokio::test]
async fn missing_file_is_unreadable_and_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("nope.csv");
    let src = csv_source(&path, "");
    let (err, text) = fetch_err(src.as_ref()).await;
    assert!(matches!(err, SourceError::Unreadable { .. }), "{err:?}");
    assert!(text.starts_with("source hris: cannot read "), "{text}");
    assert!(text.contains("nope.csv"), "{text}");
}

#[tokio::test]
async fn missing_key_column_is_unreadable_and_lists_the_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "x.csv", b"id,email\nE1,a@corp.example\n");
    let src = csv_source(&path, "");
    let (err, text) = fetch_err(src.as_ref()).await;
    assert!(matches!(err, SourceError::Unreadable { .. }), "{err:?}");
    assert!(
        text.contains("key column \"employee_id\" not found in the header (columns: id, email)"),
        "{text}"
    );
    assert!(text.contains("x.csv"), "{text}");
    // A mapped column that does not exist is as fatal: every record would lack it.
    let src = csv_source(&path, "key = \"id\"\nfields = { email = \"work_email\" }");
    let (_, text) = fetch_err(src.as_ref()).await;
    assert!(
        text.contains("column for field `email` \"work_email\" not found"),
        "{text}"
    );
}

#[tokio::test]
async fn empty_file_fails_but_a_header_alone_is_zero_persons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = write(dir.path(), "empty.csv", b"");
    let (err, text) = fetch_err(csv_source(&empty, "").as_ref()).await;
    assert!(matches!(err, SourceError::Unreadable { .. }));
    assert!(text.contains("is empty: no header row"), "{text}");
    let header = write(dir.path(), "header.csv", b"employee_id,email\r\n");
    let read = fetch_ok(csv_source(&header, "").as_ref()).await;
    assert!(read.persons.is_empty() && read.rejected.is_empty());
}

#[tokio::test]
async fn delimiter_mapping_required_and_date_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "de.csv",
        "Personalnummer;Mail;Eintritt;Abteilung\n\
         100;anna@corp.example;15.01.2024;Vertrieb\n\
         101;;01.02.2024;Einkauf\n\
         102;  bernd@corp.example ;2024-03-01;\n"
            .as_bytes(),
    );
    let src = csv_source(
        &path,
        "delimiter = \";\"\nkey = \"employee_id\"\nrequired = [\"email\"]\n\
         date_formats = [\"%d.%m.%Y\"]\n\
         fields = { employee_id = \"Personalnummer\", email = \"Mail\", start_date = \"Eintritt\", department = \"Abteilung\" }",
    );
    let read = fetch_ok(src.as_ref()).await;
    assert_eq!(keys(&read), ["100", "102"]);
    assert_eq!(field(&read, "100", "start_date"), "2024-01-15");
    assert_eq!(field(&read, "102", "email"), "bernd@corp.example");
    assert_eq!(field(&read, "102", "department"), "");
    let file = path.display();
    assert_eq!(
        rejections(&read),
        [format!(
            "hris line 3 101 field email: required field `email` is empty (file {file}, line 3, column 2 \"Mail\")"
        )]
    );
}

#[tokio::test]
async fn export_contract_columns_stand_in_for_lifecycle_fields() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "export.csv",
        b"employee_id,email,status,hire_date,termination_date,manager_employee_id,department\n\
          E1,a@corp.example,active,2024-02-01,,,Eng\n\
          E2,b@corp.example,Inactive,2020-01-01,2025-06-30,E1,Eng\n\
          E3,c@corp.example,On Leave,2021-01-01,,E1,Eng\n",
    );
    let read = fetch_ok(csv_source(&path, "").as_ref()).await;
    assert_eq!(keys(&read), ["E1", "E2", "E3"]);
    let p = &read.persons;
    assert_eq!(p[0].start_date, NaiveDate::from_ymd_opt(2024, 2, 1));
    assert_eq!(
        p[1].status,
        Lifecycle::Terminated,
        "inactive in an export means gone"
    );
    assert_eq!(p[1].end_date, NaiveDate::from_ymd_opt(2025, 6, 30));
    assert_eq!(p[1].manager_id.as_deref(), Some("E1"));
    assert_eq!(p[2].status, Lifecycle::Leave);
    assert!(read.rejected.is_empty(), "{:?}", read.rejected);

    // A file with its own start_date column keeps it; an explicit mapping always wins.
    let path = write(
        dir.path(),
        "both.csv",
        b"employee_id,email,start_date,hire_date\nE1,a@corp.example,2024-03-01,2019-01-01\n",
    );
    let read = fetch_ok(csv_source(&path, "").as_ref()).await;
    assert_eq!(
        read.persons[0].start_date,
        NaiveDate::from_ymd_opt(2024, 3, 1)
    );
}

/// A file far larger than one batch of rows: every person comes out in the file's order
/// with their own line, and rows set aside in different batches (a short row, a key read
/// twice) name their lines.
#[tokio::test]
async fn a_large_file_keeps_its_order_lines_and_rejections_across_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::from("employee_id,email,status\n");
    let n = 50_000;
    for i in 1..=n {
        match i {
            20_000 => text.push_str("E0020000,short-row\n"),
            45_000 => text.push_str("E0000007,again@corp.example,active\n"),
            _ => text.push_str(&format!("E{i:07},p{i}@corp.example,active\n")),
        }
    }
    let path = write(dir.path(), "large.csv", text.as_bytes());
    let read = fetch_ok(csv_source(&path, "").as_ref()).await;
    // Line 2 is E0000001; the short row (line 20 001) and both rows of E0000007
    // (lines 8 and 45 001) are set aside.
    assert_eq!(read.persons.len(), n - 3);
    let expected: Vec<String> = (1..=n)
        .filter(|i| ![7, 20_000, 45_000].contains(i))
        .map(|i| format!("E{i:07}"))
        .collect();
    assert_eq!(keys(&read), expected);
    assert!(read
        .persons
        .iter()
        .all(|p| p.position == Position::Line(p.key[1..].parse::<u64>().expect("n") + 1)));
    let shown = rejections(&read).join("\n");
    assert!(shown.contains("line 20001"), "{shown}");
    assert!(
        shown.contains("duplicate key") && shown.contains("45001"),
        "{shown}"
    );
    assert_eq!(read.rejected.len(), 3, "{shown}");
}
