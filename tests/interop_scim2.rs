//! Interop with a SCIM server we did not write: scim2-server (python-scim), installed by
//! `.ci/run` into a venv. Initial apply, a mover and a leaver, checked on the server.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::util::*;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scim2_server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("HRSYNC_SCIM2_SERVER") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".ci/cache/venv/bin/scim2-server")
}

async fn start_scim2(tenant: &str) -> Server {
    let bin = scim2_server_path();
    assert!(
        bin.exists(),
        "scim2-server is not installed at {} — run `bash .ci/run` (it installs it), or set HRSYNC_SCIM2_SERVER",
        bin.display()
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = Command::new(&bin)
        .args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args(["--bearer-token", TOKEN, "--dynamic-tenants"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start scim2-server");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "scim2-server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server {
        child,
        base: format!("http://127.0.0.1:{port}/{tenant}/v2"),
    }
}

async fn users(base: &str) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}/Users?count=1000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET Users")
        .json()
        .await
        .expect("ListResponse JSON");
    v["Resources"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_apply_mover_and_leaver_against_scim2_server() {
    let server = start_scim2("interop").await;
    let env = Env::new(&format!(
        "{HEADER}E1,Ana,Lima,ana.lima@corp.example,Engineering,Engineer,active,2020-01-01,,\nE2,Bo,Chen,bo.chen@corp.example,Sales,Rep,active,2021-01-01,,E1\nE3,Cy,Dahl,cy.dahl@corp.example,Sales,Rep,terminated,2019-01-01,2024-01-01,\n"
    ));
    env.write_config(&env.app("scim2", &server.base, ""));
    let config = env.config.clone();
    let out = blocking(move || hrsync_cmd(&config, &["apply", "--yes"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let u = users(&server.base).await;
    assert_eq!(u.len(), 2, "{u:#?}");
    let ana = by_external_id(&u, "E1");
    assert_eq!(ana.len(), 1);
    assert_eq!(ana[0]["userName"], "ana.lima@corp.example");
    assert_eq!(ana[0]["title"], "Engineer");
    let bo = by_external_id(&u, "E2")[0];
    assert_eq!(
        bo["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]["value"],
        ana[0]["id"]
    );

    // Mover and leaver.
    env.set_hr(&format!(
        "{HEADER}E1,Ana,Lima,ana.lima@corp.example,Engineering,Staff Engineer,active,2020-01-01,,\nE2,Bo,Chen,bo.chen@corp.example,Sales,Rep,terminated,2021-01-01,2024-06-30,E1\nE3,Cy,Dahl,cy.dahl@corp.example,Sales,Rep,terminated,2019-01-01,2024-01-01,\n"
    ));
    let config = env.config.clone();
    let out = blocking(move || hrsync_cmd(&config, &["apply", "--yes"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let u = users(&server.base).await;
    assert_eq!(u.len(), 2, "nothing deleted, nothing duplicated: {u:#?}");
    assert_eq!(by_external_id(&u, "E1")[0]["title"], "Staff Engineer");
    assert_eq!(by_external_id(&u, "E2")[0]["active"], false);

    // Unchanged HR: nothing to do, exit 0, still the same two accounts.
    let config = env.config.clone();
    let out = blocking(move || hrsync_cmd(&config, &["plan", "--detailed-exitcode"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

async fn groups(base: &str) -> Vec<Value> {
    let v: Value = reqwest::Client::new()
        .get(format!("{base}/Groups?count=1000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET Groups")
        .json()
        .await
        .expect("ListResponse JSON");
    v["Resources"].as_array().cloned().unwrap_or_default()
}

/// Member ids of the group named `name` (sorted); panics when there is not exactly one.
fn members_of(groups: &[Value], name: &str) -> Vec<String> {
    let found: Vec<&Value> = groups.iter().filter(|g| g["displayName"] == name).collect();
    assert_eq!(found.len(), 1, "one group {name}: {groups:#?}");
    let mut ids: Vec<String> = found[0]["members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["value"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

fn id(users: &[Value], key: &str) -> String {
    let found = by_external_id(users, key);
    assert_eq!(found.len(), 1, "one account for {key}: {users:#?}");
    found[0]["id"].as_str().unwrap_or_default().to_string()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_lost_state_and_rehire_against_scim2_server() {
    let server = start_scim2("interop-groups").await;
    let row = |k: &str, first: &str, dept: &str, status: &str, end: &str| {
        format!(
            "{k},{first},Test,{}@corp.example,{dept},Rep,{status},2020-01-01,{end},\n",
            first.to_lowercase()
        )
    };
    let day1 = format!(
        "{HEADER}{}{}{}{}",
        row("E1", "Ana", "Sales", "active", ""),
        row("E2", "Bo", "Sales", "active", ""),
        row("E3", "Cy", "Support", "active", ""),
        row("E4", "Di", "Support", "active", "")
    );
    let env = Env::new(&day1);
    env.write_config(&format!(
        "{}\n[[apps.groups]]\nname = \"dept-{{{{ department | slug }}}}\"\n",
        env.app("scim2", &server.base, "")
    ));
    let apply = |env: &Env| {
        let config = env.config.clone();
        blocking(move || hrsync_cmd(&config, &["apply", "--yes"]))
    };
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let u = users(&server.base).await;
    let g = groups(&server.base).await;
    assert_eq!(
        members_of(&g, "dept-sales"),
        sorted(vec![id(&u, "E1"), id(&u, "E2")])
    );
    assert_eq!(
        members_of(&g, "dept-support"),
        sorted(vec![id(&u, "E3"), id(&u, "E4")])
    );

    // Bo moves to Support, Di leaves: memberships follow (scim2-server takes only the
    // RFC form of member removal).
    env.set_hr(&format!(
        "{HEADER}{}{}{}{}",
        row("E1", "Ana", "Sales", "active", ""),
        row("E2", "Bo", "Support", "active", ""),
        row("E3", "Cy", "Support", "active", ""),
        row("E4", "Di", "Support", "terminated", "2024-01-31")
    ));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let u = users(&server.base).await;
    let g = groups(&server.base).await;
    assert_eq!(members_of(&g, "dept-sales"), vec![id(&u, "E1")]);
    assert_eq!(
        members_of(&g, "dept-support"),
        sorted(vec![id(&u, "E2"), id(&u, "E3")])
    );
    assert_eq!(by_external_id(&u, "E4")[0]["active"], false);
    let before: Vec<String> = ["E1", "E2", "E3", "E4"].iter().map(|k| id(&u, k)).collect();

    // The state file is lost: resync relinks every account, creates and deprovisions nothing.
    std::fs::remove_file(&env.state).expect("remove state");
    let config = env.config.clone();
    let out = blocking(move || hrsync_cmd(&config, &["resync"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let u = users(&server.base).await;
    assert_eq!(u.len(), 4, "no duplicate after resync: {u:#?}");
    let after: Vec<String> = ["E1", "E2", "E3", "E4"].iter().map(|k| id(&u, k)).collect();
    assert_eq!(before, after, "the same accounts");
    assert_eq!(by_external_id(&u, "E2")[0]["active"], true);
    assert_eq!(by_external_id(&u, "E4")[0]["active"], false);
    let config = env.config.clone();
    let out = blocking(move || hrsync_cmd(&config, &["plan", "--detailed-exitcode"])).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "in sync after resync: {}",
        text(&out)
    );

    // Di is rehired: the same account comes back, into her department's group.
    env.set_hr(&day1);
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let u = users(&server.base).await;
    assert_eq!(u.len(), 4, "{u:#?}");
    assert_eq!(id(&u, "E4"), before[3], "rehire: the same account");
    assert_eq!(by_external_id(&u, "E4")[0]["active"], true);
    let g = groups(&server.base).await;
    assert_eq!(
        members_of(&g, "dept-support"),
        sorted(vec![id(&u, "E3"), id(&u, "E4")])
    );
    assert_eq!(
        members_of(&g, "dept-sales"),
        sorted(vec![id(&u, "E1"), id(&u, "E2")])
    );
}
