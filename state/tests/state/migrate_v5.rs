//! Migration 0005_compact: a state file of schema 4 holding every kind of value converts to
//! the compact form with nothing lost (every read gives what it gave from schema 4), and a
//! row that cannot be converted fails the migration, naming its table and key, and leaves
//! the file as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDate;
use hrsync_state::rusqlite::Connection;
use hrsync_state::{
    record_hash, AuditOp, AuditQuery, AuditRow, Link, LinkLifecycle, OpResult, Ownership,
    StateError, Store,
};
use serde_json::{json, Value};

use crate::util::{at, created, file_at_schema, state_file};

const AT: &str = "2026-01-02T03:04:05.678Z";
const LATER: &str = "2026-02-03T04:05:06.007Z";
const UUID: &str = "0f8e2a5c-1b3d-4c7e-9a0b-123456789abc";
const MANAGER: &str = "6f9619ff-8b86-d011-b42d-00cf4fc964ff";
const UPPER_UUID: &str = "0F8E2A5C-1B3D-4C7E-9A0B-123456789ABC";
const HASH: &str = "f0589efbf4c106cc7c598b69c46832fd";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager";

/// Snapshot records as schema 4 stored them, by (source, key): texts `serde_json` wrote,
/// floats and extreme integers, text it did not write (spaces, other escapes), not JSON.
fn records() -> Vec<(&'static str, &'static str, &'static str)> {
    vec![
        (
            "hris",
            "E1",
            r#"{"key":"E1","source":"hris","status":"active","start_date":"2020-01-01","end_date":null,"manager_id":"E2","fields":{"department":"Engineering","email":"Ann@corp.example","employee_id":"E1","name":"Ann \"A\" O'Neil ✓\n","count":3,"flag":true},"position":{"line":2}}"#,
        ),
        (
            "hris",
            "E2",
            r#"{"key":"E2","source":"hris","ratio":0.1,"big":18446744073709551615,"neg":-9223372036854775808,"list":[1,"E2",null,[],{}],"manager":"0f8e2a5c-1b3d-4c7e-9a0b-123456789abc"}"#,
        ),
        ("hris", "E3", r#"{ "key": "E3", "source": "hris" }"#),
        // serde_json's parse may miss an extreme float by a bit: kept as text if it does.
        (
            "hris",
            "E4",
            r#"{"key":"E4","exp":1e300,"tiny":5e-324,"third":0.3333333333333333}"#,
        ),
        ("other", "E1", r#"{"key":"E1","t":"\u00e9\/"}"#),
        ("broken", "E5", "not json{"),
    ]
}

/// A schema-4 file with links, snapshot rows, audit rows and stamps of every kind.
fn schema_4_file(path: &Path) -> Connection {
    let conn = file_at_schema(path, 4);
    conn.execute_batch(&format!(
        "INSERT INTO cycles (id, kind, started_at, status) VALUES (1, 'apply', '{AT}', 'ok');
         INSERT INTO link_paths (id, path) VALUES (1, 'userName'), (2, '{ENTERPRISE}'),
             (3, 'x-count'), (4, 'emails'), (5, 'displayName'), (6, 'active'), (7, 'x-ratio');"
    ))
    .unwrap();
    fill_links(&conn);
    fill_snapshot(&conn);
    fill_audit(&conn);
    conn.execute_batch(&format!(
        "INSERT INTO settled (app, person_key, fingerprint, user_name, refs, due) VALUES
             ('crm', 'E1', '{HASH}', 'ann@corp.example', '[\"E2\"]', NULL),
             ('crm', 'E2', 'fp-E2', NULL, '[]', '2026-03-01');"
    ))
    .unwrap();
    conn
}

/// Links of every kind: a UUID account id and another id, every lifecycle and ownership, a
/// deleted link holding a live one's account, the pairs and the object form of what was
/// pushed with every kind of JSON value, hashes hrsync wrote and others.
fn fill_links(conn: &Connection) {
    let pushed_e1 = format!(
        r#"[[1,"ann@corp.example"],[2,"{MANAGER}"],[3,42],[4,[{{"type":"work","value":"Ann@corp.example","primary":true}}]],[5,"Ann \"A\" O'Neil ✓"],[6,false]]"#
    );
    let links: [[Option<&str>; 11]; 4] = [
        [
            Some("crm"),
            Some("E1"),
            Some(UUID),
            Some("ann@corp.example"),
            Some(&pushed_e1),
            Some(HASH),
            Some("active"),
            Some("created"),
            None,
            Some(AT),
            Some(AT),
        ],
        [
            Some("crm"),
            Some("E2"),
            Some("U012AB3CD"),
            Some("bo@corp.example"),
            Some(r#"[[1,"bo@corp.example"],[7,1.5],[6,null]]"#),
            Some(""),
            Some("inactive"),
            Some("adopted"),
            Some(LATER),
            Some(AT),
            Some(LATER),
        ],
        // A deleted link keeps the account id a live link holds now.
        [
            Some("crm"),
            Some("E3"),
            Some(UUID),
            Some("cy@corp.example"),
            Some("{}"),
            Some("hash-E3"),
            Some("deleted"),
            Some("created"),
            Some(AT),
            Some(AT),
            Some(LATER),
        ],
        [
            Some("wiki"),
            Some("É4"),
            Some(UPPER_UUID),
            Some("ünï@corp.example"),
            Some(r#"{"userName":"ünï@corp.example","x-big":18446744073709551615,"x-neg":-5}"#),
            Some("ABCDEF"),
            Some("active"),
            Some("created"),
            None,
            Some(AT),
            Some(AT),
        ],
    ];
    for row in links {
        conn.execute(
            "INSERT INTO links (app, person_key, remote_id, user_name, last_pushed, hash, \
             lifecycle, ownership, deactivated_at, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            row,
        )
        .unwrap();
    }
}

/// The snapshot rows of [`records`], with hashes hrsync wrote and one it did not.
fn fill_snapshot(conn: &Connection) {
    for (i, (source, key, text)) in records().into_iter().enumerate() {
        let hash = match serde_json::from_str::<Value>(text) {
            Ok(v) if key != "E3" => record_hash(&v),
            // A hash hrsync did not write is kept as it is.
            _ => "zz-not-a-hash".to_string(),
        };
        conn.execute(
            "INSERT INTO snapshot (source, person_key, record, hash, first_seen_cycle, \
             last_seen_cycle, absent_cycles, last_absent_cycle) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7)",
            hrsync_state::rusqlite::params![source, key, text, hash, i as i64 + 1, i as i64, (i > 2).then_some(3)],
        )
        .unwrap();
    }
}

/// Audit rows 1, 2, 3, then one per operation from 10 on, with a gap the sequence
/// remembers (rows up to 40 were recorded, the last ones pruned by hand).
fn fill_audit(conn: &Connection) {
    let insert = "INSERT INTO audit (id, at, cycle_id, app, person_key, op, remote_id, result, \
                  detail, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
    conn.execute_batch(&format!(
        r#"INSERT INTO audit (id, at, cycle_id, app, person_key, op, remote_id, result, detail,
               error) VALUES
           (1, '{AT}', NULL, 'crm', 'E1', 'create', '{UUID}', 'ok',
               '{{"userName":"ann@corp.example"}}', NULL),
           (2, '{LATER}', 1, 'crm', 'E2', 'update', 'U012AB3CD', 'failed',
               '{{"changes":[{{"path":"title","old":"A","new":1.5}}],"reason":"x ✓"}}',
               'HTTP 500 ✗'),
           (3, '{LATER}', 1, 'crm', 'dept-eng', 'group_create', NULL, 'ok', 'null', NULL);"#
    ))
    .unwrap();
    for (i, op) in AuditOp::ALL.iter().enumerate() {
        let result = if i % 2 == 0 { "ok" } else { "failed" };
        conn.execute(
            insert,
            hrsync_state::rusqlite::params![
                10 + i as i64,
                AT,
                1,
                "hr",
                format!("E{i}"),
                op.as_str(),
                UPPER_UUID,
                result,
                "{}",
                None::<String>
            ],
        )
        .unwrap();
    }
    conn.execute(
        "UPDATE sqlite_sequence SET seq = 40 WHERE name = 'audit'",
        [],
    )
    .unwrap();
}

fn pushed(pairs: Value) -> BTreeMap<String, Value> {
    match pairs {
        Value::Object(map) => map.into_iter().collect(),
        _ => unreachable!("an object"),
    }
}

/// The links schema 4 read from [`schema_4_file`].
fn expected_links() -> Vec<Link> {
    let mut e1 = Link::new("crm", "E1", UUID, "ann@corp.example", Ownership::Created);
    e1.last_pushed = pushed(json!({"userName": "ann@corp.example", ENTERPRISE: MANAGER,
        "x-count": 42, "emails": [{"type": "work", "value": "Ann@corp.example", "primary": true}],
        "displayName": "Ann \"A\" O'Neil ✓", "active": false}));
    e1.hash = HASH.into();
    let mut e2 = Link::new(
        "crm",
        "E2",
        "U012AB3CD",
        "bo@corp.example",
        Ownership::Adopted,
    );
    e2.last_pushed = pushed(json!({"userName": "bo@corp.example", "x-ratio": 1.5, "active": null}));
    e2.lifecycle = LinkLifecycle::Inactive;
    e2.deactivated_at = Some(at(LATER));
    let mut e3 = Link::new("crm", "E3", UUID, "cy@corp.example", Ownership::Created);
    e3.hash = "hash-E3".into();
    e3.lifecycle = LinkLifecycle::Deleted;
    e3.deactivated_at = Some(at(AT));
    let mut e4 = Link::new(
        "wiki",
        "É4",
        UPPER_UUID,
        "ünï@corp.example",
        Ownership::Created,
    );
    e4.last_pushed = pushed(json!({"userName": "ünï@corp.example",
        "x-big": 18446744073709551615u64, "x-neg": -5}));
    e4.hash = "ABCDEF".into();
    let mut links = vec![e1, e2, e3, e4];
    for l in &mut links {
        l.created_at = at(AT);
        l.updated_at = at(if l.person_key == "E1" || l.app == "wiki" {
            AT
        } else {
            LATER
        });
    }
    links
}

#[tokio::test]
async fn a_schema_4_file_converts_with_every_value_read_back_the_same() {
    let (_dir, path) = state_file();
    drop(schema_4_file(&path));
    // Read through the migrated copy first (the file stays at schema 4), then migrated.
    let copy = Store::open_read_only(&path).await.unwrap();
    assert_eq!(copy.links(None).await.unwrap(), expected_links());
    drop(copy);
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.links(None).await.unwrap(), expected_links());
    let live = store.link_by_remote_id("crm", UUID).await.unwrap().unwrap();
    assert_eq!(
        live.person_key, "E1",
        "the live link wins over the deleted one"
    );
    let taken = store.record_outcome(created("crm", "E9", UUID)).await;
    assert!(
        matches!(taken, Err(StateError::RemoteIdTaken { .. })),
        "{taken:?}"
    );

    for source in ["hris", "other", "broken"] {
        let keys: Vec<String> = records()
            .iter()
            .filter(|r| r.0 == source)
            .map(|r| r.1.to_string())
            .collect();
        let texts = store.snapshot_texts_of(source, keys).await.unwrap();
        let want: BTreeMap<String, String> = records()
            .into_iter()
            .filter(|r| r.0 == source)
            .map(|r| (r.1.to_string(), r.2.to_string()))
            .collect();
        assert_eq!(texts, want, "the very same texts of {source}");
    }
    let snap = store.snapshot("hris").await.unwrap();
    assert_eq!(snap["E1"].hash, record_hash(&snap["E1"].record));
    assert_eq!(snap["E3"].hash, "zz-not-a-hash");
    assert_eq!(
        (snap["E2"].last_seen_cycle, snap["E2"].absent_cycles),
        (2, 1)
    );
    let index = store.snapshot_index("hris", true).await.unwrap();
    assert!(index["E1"].1.is_some() && index["E3"].1.is_none());
    let broken = store.snapshot_records::<Value>("broken").await.unwrap();
    assert!(
        broken["E5"].0.is_err(),
        "a record that is not JSON stays unreadable"
    );

    check_audit(&store).await;
    let stamps = store
        .stamps(
            "crm",
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            Vec::new(),
            Vec::push,
        )
        .await
        .unwrap();
    let fingerprints: Vec<&str> = stamps.iter().map(|s| s.fingerprint.as_str()).collect();
    assert_eq!(fingerprints, [HASH, "fp-E2"]);
    assert_eq!(stamps[0].refs, ["E2"]);
    drop(store);
    check_layout(&path);
}

async fn check_audit(store: &Store) {
    let rows = store.audit(AuditQuery::default()).await.unwrap();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut want: Vec<i64> = vec![1, 2, 3];
    want.extend(10..10 + AuditOp::ALL.len() as i64);
    assert_eq!(ids, want);
    assert_eq!(
        rows[1],
        AuditRow {
            id: 2,
            at: at(LATER),
            cycle_id: Some(1),
            app: "crm".into(),
            person_key: "E2".into(),
            op: AuditOp::Update,
            remote_id: Some("U012AB3CD".into()),
            result: OpResult::Failed,
            detail: json!({"changes": [{"path": "title", "old": "A", "new": 1.5}], "reason": "x ✓"}),
            error: Some("HTTP 500 ✗".into()),
        }
    );
    assert_eq!(rows[0].remote_id.as_deref(), Some(UUID));
    assert_eq!(
        (rows[2].remote_id.clone(), rows[2].detail.clone()),
        (None, Value::Null)
    );
    let ops: Vec<(AuditOp, OpResult)> = rows[3..].iter().map(|r| (r.op, r.result)).collect();
    let want_ops: Vec<(AuditOp, OpResult)> = AuditOp::ALL
        .iter()
        .enumerate()
        .map(|(i, op)| {
            (
                *op,
                if i % 2 == 0 {
                    OpResult::Ok
                } else {
                    OpResult::Failed
                },
            )
        })
        .collect();
    assert_eq!(ops, want_ops);
    assert!(rows[3..]
        .iter()
        .all(|r| r.remote_id.as_deref() == Some(UPPER_UUID)));
    let since = store
        .audit(AuditQuery {
            since: Some(at(LATER)),
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(since.iter().map(|r| r.id).collect::<Vec<_>>(), [2, 3]);
    let persons = store.known_persons().await.unwrap();
    assert!(!persons.contains("dept-eng") && persons.contains("E2"));
    // Ids are never handed out twice: the pruned tail's stay used.
    let next = store
        .record_outcome(created("crm", "E8", "id-8"))
        .await
        .unwrap();
    assert_eq!(next, 41);
}

/// The file holds the compact tables only, in their compact form.
fn check_layout(path: &Path) {
    let conn = Connection::open(path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    let tables: BTreeSet<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for gone in ["link_paths", "links_v4", "snapshot_v4", "audit_v4"] {
        assert!(!tables.contains(gone), "{gone} is left: {tables:?}");
    }
    let kinds = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    assert_eq!(
        kinds("SELECT typeof(remote_id) || typeof(hash) || typeof(created_at) FROM links ORDER BY app, person_key"),
        // crm E1, E2, E3, E8 (recorded after the migration), wiki É4.
        [
            "blobblobinteger",
            "texttextinteger",
            "blobtextinteger",
            "texttextinteger",
            "texttextinteger"
        ]
    );
    assert_eq!(
        kinds("SELECT typeof(record) FROM snapshot WHERE person_key <> 'E4' ORDER BY source, person_key"),
        ["text", "blob", "blob", "text", "text"],
        "broken, hris E1..E3, other"
    );
}

/// Opening a schema-4 file with one bad row fails naming it, and leaves the file at
/// schema 4 with its rows.
async fn refused(bad: &str, row: &str) {
    let (_dir, path) = state_file();
    let conn = schema_4_file(&path);
    conn.execute_batch(bad).unwrap();
    drop(conn);
    let err = Store::open(&path).await.unwrap_err();
    match &err {
        StateError::Unconvertible {
            migration,
            row: named,
            ..
        } => {
            assert_eq!(
                (migration.as_str(), named.as_str()),
                ("0005_compact", row),
                "{err}"
            );
        }
        other => panic!("{bad}: {other:?}"),
    }
    let conn = Connection::open(&path).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 4, "{bad}");
    let counts: (i64, i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM links), (SELECT COUNT(*) FROM snapshot), \
             (SELECT COUNT(*) FROM audit), (SELECT COUNT(*) FROM link_paths)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(counts, (5, 7, 3 + AuditOp::ALL.len() as i64, 7), "{bad}");
}

#[tokio::test]
async fn a_row_that_cannot_be_converted_fails_the_migration_naming_it() {
    let link = |lifecycle: &str, pushed: &str, created: &str| {
        format!(
            "INSERT INTO links (app, person_key, remote_id, user_name, last_pushed, hash, \
             lifecycle, ownership, created_at, updated_at) VALUES ('crm', 'E9', 'x', 'u', \
             '{pushed}', '', '{lifecycle}', 'created', '{created}', '{AT}');
             INSERT INTO snapshot (source, person_key, record, hash, first_seen_cycle, \
             last_seen_cycle) VALUES ('hris', 'E9', '{{}}', '', 1, 1);"
        )
    };
    refused(&link("zombie", "[]", AT), "links row (crm, E9)").await;
    refused(&link("active", "[[99,\"x\"]]", AT), "links row (crm, E9)").await;
    refused(&link("active", "[]", "yesterday"), "links row (crm, E9)").await;
    let snapshot = format!(
        "{}; UPDATE snapshot SET record = x'00' WHERE person_key = 'E9';",
        link("active", "[]", AT)
    );
    refused(&snapshot, "snapshot row (hris, E9)").await;
    let audit = format!(
        "{}; UPDATE audit SET at = 'yesterday' WHERE id = 2;",
        link("active", "[]", AT)
    );
    refused(&audit, "audit row 2").await;
    let detail = format!(
        "{}; UPDATE audit SET detail = '{{' WHERE id = 3;",
        link("active", "[]", AT)
    );
    refused(&detail, "audit row 3").await;
}
