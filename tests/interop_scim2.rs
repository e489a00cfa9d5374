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
