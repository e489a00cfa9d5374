//! Helpers of the push-engine tests: generated HR files, the check that an app holds exactly
//! the desired accounts, a fault-injecting proxy in front of a sandbox, and a small OAuth2
//! token endpoint.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Value};

use super::{hrsync_cmd, Env, HEADER, TOKEN};

/// One generated HR person.
#[derive(Debug, Clone)]
pub struct Person {
    /// HR key.
    pub key: String,
    /// First name.
    pub first: String,
    /// Email, which the standard mapping lowercases into the userName.
    pub email: String,
    /// Department.
    pub dept: String,
    /// Job title.
    pub title: String,
    /// `active` or `terminated`.
    pub status: String,
    /// Manager's HR key, if any.
    pub manager: String,
    /// The userName the app should show, when the mapping does not make it the email.
    pub login: Option<String>,
}

impl Person {
    /// Person number `i`: key `E0001`, email `p0001@corp.example` (short enough for Slack).
    pub fn numbered(i: usize) -> Person {
        Person {
            key: format!("E{i:04}"),
            first: format!("P{i:04}"),
            email: format!("p{i:04}@corp.example"),
            dept: "Sales".into(),
            title: "Rep".into(),
            status: "active".into(),
            manager: String::new(),
            login: None,
        }
    }

    /// The userName the app should show.
    pub fn user_name(&self) -> String {
        self.login
            .clone()
            .unwrap_or_else(|| self.email.to_lowercase())
    }

    /// The CSV line of this person.
    pub fn row(&self) -> String {
        let end = if self.status == "terminated" {
            "2025-01-31"
        } else {
            ""
        };
        format!(
            "{},{},Test,{},{},{},{},2020-01-01,{end},{}\n",
            self.key, self.first, self.email, self.dept, self.title, self.status, self.manager
        )
    }

    /// True when the person should have an active account.
    pub fn active(&self) -> bool {
        self.status == "active"
    }
}

/// `n` numbered persons, `E0001` to `E{n}`.
pub fn people(n: usize) -> Vec<Person> {
    (1..=n).map(Person::numbered).collect()
}

/// The HR file of these persons, header included.
pub fn csv(persons: &[Person]) -> String {
    let mut s = HEADER.to_string();
    for p in persons {
        s.push_str(&p.row());
    }
    s
}

/// Runs the hrsync binary with `args` against the environment's config.
pub async fn run(env: &Env, args: &[&str]) -> std::process::Output {
    let config = env.config.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    super::blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_cmd(&config, &a)
    })
    .await
}

/// `hrsync apply --yes`.
pub async fn apply(env: &Env) -> std::process::Output {
    run(env, &["apply", "--yes"]).await
}

/// `hrsync status --format json`, parsed.
pub async fn status_json(env: &Env) -> Value {
    let out = run(env, &["status", "--format", "json"]).await;
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("status is not JSON ({e}): {}", super::text(&out)))
}

/// The status document's entry for one app.
pub fn app_status<'a>(doc: &'a Value, app: &str) -> &'a Value {
    doc["apps"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["name"] == app))
        .unwrap_or_else(|| panic!("no app {app} in status: {doc:#}"))
}

/// Everything wrong with the app's accounts compared with the HR persons: a missing or
/// duplicated account (by externalId or by userName), an account nobody should have, a
/// wrong active flag (a wrongful deprovision or a missed one), a stale title. Empty when
/// the app holds exactly the desired accounts.
pub fn differences(users: &[Value], persons: &[Person]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut by_ext: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    let mut by_name: BTreeMap<String, usize> = BTreeMap::new();
    for u in users {
        let ext = u["externalId"].as_str().unwrap_or("<none>").to_string();
        by_ext.entry(ext).or_default().push(u);
        let name = u["userName"].as_str().unwrap_or("").to_lowercase();
        *by_name.entry(name).or_default() += 1;
    }
    for (name, n) in &by_name {
        if *n > 1 {
            problems.push(format!("{n} accounts with userName {name}"));
        }
    }
    let wanted: BTreeMap<&str, &Person> = persons.iter().map(|p| (p.key.as_str(), p)).collect();
    for (ext, accounts) in &by_ext {
        if !wanted.contains_key(ext.as_str()) {
            problems.push(format!(
                "{} unexpected account(s) for {ext}",
                accounts.len()
            ));
        }
    }
    for p in persons {
        let accounts = by_ext.get(&p.key).map(Vec::as_slice).unwrap_or(&[]);
        match accounts {
            [] if p.active() => problems.push(format!("{} has no account", p.key)),
            [] => {}
            [u] => {
                if u["active"] != Value::Bool(p.active()) {
                    problems.push(format!(
                        "{}: active is {}, want {}",
                        p.key,
                        u["active"],
                        p.active()
                    ));
                }
                if p.active() && u["title"] != Value::String(p.title.clone()) {
                    problems.push(format!(
                        "{}: title {}, want {:?}",
                        p.key, u["title"], p.title
                    ));
                }
                let name = u["userName"].as_str().unwrap_or("");
                if !name.eq_ignore_ascii_case(&p.user_name()) {
                    problems.push(format!(
                        "{}: userName {name}, want {}",
                        p.key,
                        p.user_name()
                    ));
                }
            }
            many => problems.push(format!("{} has {} accounts", p.key, many.len())),
        }
    }
    problems
}

/// An edit of a JSON body on its way through the proxy.
pub type Edit = Arc<dyn Fn(&mut Value) + Send + Sync>;

/// What the proxy does with one request.
#[derive(Clone)]
pub enum Action {
    /// Pass it to the sandbox and return its answer.
    Forward,
    /// Pass it to the sandbox (which acts on it), then hold the answer this long.
    ForwardThenStall(Duration),
    /// Answer this status and SCIM error body without passing it on.
    Reply(u16, Value),
    /// Pass on the request body as edited, and return the answer's body as edited.
    Rewrite {
        /// Edit of the request body.
        request: Edit,
        /// Edit of the answer body.
        response: Edit,
    },
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// Body, as text.
    pub body: String,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

type Decide = dyn Fn(&Method, &str, &str) -> Action + Send + Sync;

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    decide: Box<Decide>,
    seen: Mutex<Vec<Seen>>,
}

/// A proxy in front of a sandbox that can answer for it or hold its answers: an app that
/// misbehaves in ways the sandbox's own faults do not cover.
pub struct Proxy {
    addr: SocketAddr,
    state: Arc<ProxyState>,
    _server: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// The SCIM base URL through the proxy.
    pub fn base_url(&self) -> String {
        format!("http://{}/scim/v2", self.addr)
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().expect("seen").clone()
    }

    /// Forgets the requests seen so far.
    pub fn clear(&self) {
        self.state.seen.lock().expect("seen").clear();
    }
}

/// Starts a proxy on 127.0.0.1:0 in front of the sandbox at `sandbox_addr`; `decide` gets
/// each request's method, path (with query) and body.
pub async fn proxy(
    sandbox_addr: SocketAddr,
    decide: impl Fn(&Method, &str, &str) -> Action + Send + Sync + 'static,
) -> Proxy {
    let state = Arc::new(ProxyState {
        upstream: format!("http://{sandbox_addr}"),
        client: reqwest::Client::new(),
        decide: Box::new(decide),
        seen: Mutex::new(Vec::new()),
    });
    let app = Router::new().fallback(forward).with_state(state.clone());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind proxy");
    let addr = tcp.local_addr().expect("proxy addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(tcp, app).await;
    });
    Proxy {
        addr,
        state,
        _server: server,
    }
}

async fn forward(State(st): State<Arc<ProxyState>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&body).to_string();
    st.seen.lock().expect("seen").push(Seen {
        method: method.clone(),
        path: path.clone(),
        body: text.clone(),
        user_agent: headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    let (stall, edit_response, body) = match (st.decide)(&method, &path, &text) {
        Action::Reply(status, body) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return (
                code,
                [("content-type", "application/scim+json")],
                body.to_string(),
            )
                .into_response();
        }
        Action::Forward => (None, None, body.to_vec()),
        Action::ForwardThenStall(d) => (Some(d), None, body.to_vec()),
        Action::Rewrite { request, response } => {
            let mut v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            request(&mut v);
            (None, Some(response), v.to_string().into_bytes())
        }
    };
    let (status, resp_headers, mut bytes) =
        match relay(&st.client, &st.upstream, method, &path, &headers, body).await {
            Ok(answer) => answer,
            Err(bad_gateway) => return bad_gateway,
        };
    if let Some(edit) = edit_response {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        edit(&mut v);
        bytes = v.to_string().into_bytes();
    }
    if let Some(d) = stall {
        tokio::time::sleep(d).await;
    }
    let mut r = Response::new(Body::from(bytes));
    *r.status_mut() = status;
    *r.headers_mut() = resp_headers;
    r
}

/// Sends a request on to `upstream` (`path` with its query) and returns the answer's
/// status, headers (less those of the transfer) and body; a 502 when it cannot be sent.
pub async fn relay(
    client: &reqwest::Client,
    upstream: &str,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), Response> {
    let mut out = client
        .request(method, format!("{upstream}{path}"))
        .body(body);
    for (k, v) in headers.iter() {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let resp = match out.send().await {
        Ok(r) => r,
        Err(e) => return Err((StatusCode::BAD_GATEWAY, e.to_string()).into_response()),
    };
    let status = resp.status();
    let mut resp_headers = HeaderMap::new();
    for (k, v) in resp.headers() {
        if k != "content-length" && k != "transfer-encoding" && k != "connection" {
            resp_headers.insert(k.clone(), v.clone());
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default().to_vec();
    Ok((status, resp_headers, bytes))
}

/// Creates `user` in the sandbox directly, as someone did by hand in the app (schemas added);
/// returns its id.
pub async fn seed_account(sb: &hrsync_sandbox::SandboxHandle, mut user: Value) -> String {
    user["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User"]);
    let r = reqwest::Client::new()
        .post(format!("{}/Users", sb.base_url()))
        .bearer_auth(super::TOKEN)
        .json(&user)
        .send()
        .await
        .expect("seed");
    assert!(r.status().is_success(), "seed: {}", r.status());
    let v: Value = r.json().await.expect("seed json");
    v["id"].as_str().expect("id").to_string()
}

/// A SCIM error body.
pub fn scim_error(status: u16, scim_type: Option<&str>, detail: &str) -> Value {
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.to_string(),
        "detail": detail,
    });
    if let Some(t) = scim_type {
        v["scimType"] = json!(t);
    }
    v
}

struct TokenState {
    client_id: String,
    client_secret: String,
    expires_in: u64,
    /// Tokens to hand out first, in order; then [`TOKEN`] every time.
    queue: Mutex<VecDeque<String>>,
    fetches: AtomicU64,
    bad_credentials: AtomicU64,
}

/// A local OAuth2 token endpoint for the client credentials grant.
pub struct TokenEndpoint {
    addr: SocketAddr,
    state: Arc<TokenState>,
    _server: tokio::task::JoinHandle<()>,
}

impl TokenEndpoint {
    /// The token URL.
    pub fn url(&self) -> String {
        format!("http://{}/oauth/token", self.addr)
    }

    /// Tokens issued so far.
    pub fn fetches(&self) -> u64 {
        self.state.fetches.load(Ordering::SeqCst)
    }

    /// Requests refused for wrong client credentials.
    pub fn refused(&self) -> u64 {
        self.state.bad_credentials.load(Ordering::SeqCst)
    }
}

/// Starts a token endpoint that accepts `client_id`/`client_secret` (HTTP Basic) and issues
/// tokens living `expires_in` seconds: first those of `first`, then [`TOKEN`].
pub async fn token_endpoint(
    client_id: &str,
    client_secret: &str,
    expires_in: u64,
    first: &[&str],
) -> TokenEndpoint {
    let state = Arc::new(TokenState {
        client_id: client_id.into(),
        client_secret: client_secret.into(),
        expires_in,
        queue: Mutex::new(first.iter().map(|s| s.to_string()).collect()),
        fetches: AtomicU64::new(0),
        bad_credentials: AtomicU64::new(0),
    });
    let app = Router::new()
        .route("/oauth/token", axum::routing::post(issue))
        .with_state(state.clone());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind token endpoint");
    let addr = tcp.local_addr().expect("token addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(tcp, app).await;
    });
    TokenEndpoint {
        addr,
        state,
        _server: server,
    }
}

async fn issue(State(st): State<Arc<TokenState>>, headers: HeaderMap, body: String) -> Response {
    // reqwest spells the expected Basic credentials, so the test needs no base64 of its own.
    let want = reqwest::Client::new()
        .post("http://127.0.0.1/")
        .basic_auth(&st.client_id, Some(&st.client_secret))
        .build()
        .ok()
        .and_then(|r| r.headers().get("authorization").cloned());
    let presented = headers.get("authorization");
    if want.is_none()
        || presented != want.as_ref()
        || !body.contains("grant_type=client_credentials")
    {
        st.bad_credentials.fetch_add(1, Ordering::SeqCst);
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    st.fetches.fetch_add(1, Ordering::SeqCst);
    let token = st
        .queue
        .lock()
        .expect("queue")
        .pop_front()
        .unwrap_or_else(|| TOKEN.to_string());
    axum::Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": st.expires_in,
    }))
    .into_response()
}

/// Sends `signal` ("TERM", "INT", …) to a child process, as `kill -<signal> <pid>` would.
pub fn send_signal(child: &std::process::Child, signal: &str) {
    let sent = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill -{signal} {} failed", child.id());
}

/// Deletes an account in the sandbox behind hrsync's back.
pub async fn delete_account(sb: &hrsync_sandbox::SandboxHandle, id: &str) {
    let r = reqwest::Client::new()
        .delete(format!("{}/Users/{id}", sb.base_url()))
        .bearer_auth(super::TOKEN)
        .send()
        .await
        .expect("DELETE");
    assert!(r.status().is_success(), "{}", r.status());
}
