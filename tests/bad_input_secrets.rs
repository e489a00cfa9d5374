//! Secrets and hostile text over the real binary: apps and a token endpoint that echo the
//! credentials they were sent (in 401 and 400 bodies, in a SCIM `detail`) never get them
//! printed, logged at any level or stored in the state; a secret file open to others is
//! warned about; control characters from HR data reach no text output raw, while the app
//! still receives the value as HR wrote it.

use std::path::Path;
use std::process::Output;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hrsync_sandbox::{SandboxHandle, SandboxOptions};
use serde_json::json;

use crate::util::push::*;
use crate::util::*;

const BEARER: &str = "echo-bearer-token-5f2a9c71";
const API_KEY: &str = "echo-api-key-77d1e0b3";
const CLIENT_ID: &str = "echo-client";
const CLIENT_SECRET: &str = "echo-client-secret-31b4aa";
const MARKER: &str = "**REDACTED**";

/// What the fake app does with a request.
#[derive(Clone, Copy)]
enum Echo {
    /// Reads go to the sandbox; every write is refused with a SCIM 400 whose `detail`
    /// quotes the request's credentials.
    RejectWrites,
    /// Every request is refused with a plain-text 401 quoting the credentials; the token
    /// endpoint answers 401 quoting the client secret and the Basic header.
    RefuseAll,
}

struct Fake {
    upstream: String,
    mode: Echo,
    client: reqwest::Client,
    writes: AtomicU64,
}

/// A fake app in front of `sb` that echoes credentials back.
async fn echoing_app(sb: &SandboxHandle, mode: Echo) -> (String, Arc<Fake>) {
    let st = Arc::new(Fake {
        upstream: format!("http://{}", sb.addr()),
        mode,
        client: reqwest::Client::new(),
        writes: AtomicU64::new(0),
    });
    let app = Router::new().fallback(echo).with_state(st.clone());
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(tcp, app).await;
    });
    (format!("http://{addr}"), st)
}

async fn echo(State(st): State<Arc<Fake>>, req: Request) -> Response {
    let sent = {
        let headers = req.headers();
        let header = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        format!(
            "you sent Authorization: {}; X-Api-Key: {}",
            header("authorization"),
            header("x-api-key")
        )
    };
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    match st.mode {
        Echo::RefuseAll if path == "/oauth/token" => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({
                "error": "invalid_client",
                "error_description": format!("client_secret={CLIENT_SECRET} rejected; {sent}"),
            })),
        )
            .into_response(),
        Echo::RefuseAll => {
            (StatusCode::UNAUTHORIZED, format!("Unauthorized. {sent}")).into_response()
        }
        Echo::RejectWrites if method != Method::GET => {
            st.writes.fetch_add(1, Ordering::SeqCst);
            (
                StatusCode::BAD_REQUEST,
                [("content-type", "application/scim+json")],
                scim_error(400, Some("invalidValue"), &format!("bad request: {sent}")).to_string(),
            )
                .into_response()
        }
        Echo::RejectWrites => forward(&st, req).await,
    }
}

async fn forward(st: &Fake, req: Request) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let mut out = st
        .client
        .request(req.method().clone(), format!("{}{path}", st.upstream));
    for (k, v) in req.headers() {
        if k != "host" && k != "content-length" {
            out = out.header(k, v);
        }
    }
    let body = to_bytes(req.into_body(), 16 << 20)
        .await
        .unwrap_or_default();
    match out.body(body).send().await {
        Ok(r) => {
            let status =
                StatusCode::from_u16(r.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            let bytes = r.bytes().await.unwrap_or_default();
            (status, [("content-type", "application/scim+json")], bytes).into_response()
        }
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}

/// Runs hrsync as a user would, at the given verbosity, with no log filter of the tests.
fn hrsync_loud(config: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_hrsync"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("HRSYNC_CONFIG")
        .env_remove("HRSYNC_LOG")
        .output()
        .expect("run hrsync")
}

async fn loud(env: &Env, args: &[&str]) -> Output {
    let config = env.config.clone();
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        hrsync_loud(&config, &a)
    })
    .await
}

/// Every form in which the credentials travel: raw, and the Basic header of the client.
fn secret_forms() -> Vec<String> {
    let basic = reqwest::Client::new()
        .post("http://127.0.0.1/")
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .build()
        .ok()
        .and_then(|r| r.headers().get("authorization").cloned())
        .and_then(|v| v.to_str().ok().map(str::to_string))
        .expect("basic header");
    let encoded = basic.trim_start_matches("Basic ").to_string();
    vec![BEARER.into(), API_KEY.into(), CLIENT_SECRET.into(), encoded]
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for s in secret_forms() {
        assert!(
            !text.contains(&s),
            "{what} holds the secret {s:?}:\n{}",
            text.chars().take(4000).collect::<String>()
        );
    }
}

/// Writes a secret file readable by its owner only.
fn secret_file(env: &Env, name: &str, value: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = env.dir.path().join(name);
    std::fs::write(&p, value).expect("write secret");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p.display().to_string()
}

/// Three apps that echo credentials: one refuses writes with a SCIM 400, one refuses
/// everything with a 401, one authenticates at a token endpoint that echoes the secret.
async fn echoing_env(sb: &SandboxHandle) -> (Env, Arc<Fake>) {
    let (reject_url, reject) = echoing_app(sb, Echo::RejectWrites).await;
    let (refuse_url, _refuse) = echoing_app(sb, Echo::RefuseAll).await;
    let persons = people(3);
    let env = Env::new(&csv(&persons));
    secret_file(&env, "token", BEARER);
    let key = secret_file(&env, "api-key", API_KEY);
    let client_secret = secret_file(&env, "client-secret", CLIENT_SECRET);
    let headers = format!("headers = {{ \"X-Api-Key\" = {{ file = \"{key}\" }} }}\nbulk = false");
    let sso = env.app("sso", &format!("{refuse_url}/scim/v2"), "bulk = false").replace(
        &format!(
            "auth = {{ kind = \"bearer\", token = {{ file = \"{}\" }} }}",
            env.token_file.display()
        ),
        &format!(
            "auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{refuse_url}/oauth/token\", client_id = \"{CLIENT_ID}\", client_secret = {{ file = \"{client_secret}\" }} }}"
        ),
    );
    assert!(sso.contains("oauth2_client_credentials"), "{sso}");
    env.write_config(&format!(
        "{}\n{}\n{sso}",
        env.app("crm", &format!("{reject_url}/scim/v2"), &headers),
        env.app("wiki", &format!("{refuse_url}/scim/v2"), &headers),
    ));
    (env, reject)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_echoed_by_apps_are_never_printed_logged_or_stored() {
    let sb = hrsync_sandbox::start(SandboxOptions {
        token: Some(BEARER.to_string()),
        ..SandboxOptions::default()
    })
    .await
    .expect("sandbox");
    let (env, reject) = echoing_env(&sb).await;

    let traced = loud(&env, &["-v", "-v", "apply", "--yes"]).await;
    assert_eq!(traced.status.code(), Some(1), "{}", text(&traced));
    assert!(
        reject.writes.load(Ordering::SeqCst) >= 1,
        "the creates reached the app"
    );
    assert!(sb.users().await.is_empty(), "the app refused every create");
    let json_log = loud(
        &env,
        &["--log-format", "json", "-v", "-v", "apply", "--yes"],
    )
    .await;
    assert_eq!(json_log.status.code(), Some(1), "{}", text(&json_log));
    let check = loud(&env, &["-v", "-v", "check"]).await;
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    let mut outputs = vec![
        ("apply -vv", traced),
        ("apply json log", json_log),
        ("check", check),
    ];
    for args in [
        &["status"][..],
        &["status", "--format", "json"],
        &["audit"],
        &["audit", "--format", "json"],
        &["plan"],
    ] {
        let out = loud(&env, args).await;
        outputs.push((args[0], out));
    }
    for (what, out) in &outputs {
        assert_no_secret(&format!("{what} stdout"), &out.stdout);
        assert_no_secret(&format!("{what} stderr"), &out.stderr);
    }
    for entry in std::fs::read_dir(env.dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        if path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("state"))
        {
            assert_no_secret(
                &path.display().to_string(),
                &std::fs::read(&path).expect("read"),
            );
        }
    }

    // The echoes did reach hrsync, and are shown with the secrets cut out.
    let shown = |what: &str| {
        let (_, o) = outputs.iter().find(|(w, _)| *w == what).expect("output");
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let check = shown("check");
    assert!(
        check.contains("you sent Authorization: Bearer **REDACTED**; X-Api-Key: **REDACTED**"),
        "{check}"
    );
    assert!(check.contains("client_secret=**REDACTED**"), "{check}");
    assert!(
        shown("apply -vv").contains(MARKER),
        "{}",
        shown("apply -vv")
    );
    let audit = shown("audit");
    assert!(
        audit.contains("bad request: you sent Authorization: Bearer **REDACTED**"),
        "{audit}"
    );
    let doc = status_json(&env).await;
    let last = app_status(&doc, "wiki")["health"]["last_error"].to_string();
    assert!(last.contains(MARKER), "{doc:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_open_to_others_is_warned_about_with_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let sb = sandbox().await;
    let env = Env::new(&csv(&people(2)));
    env.write_config(&env.app("wiki", &sb.base_url(), ""));
    let token = env.token_file.display().to_string();
    std::fs::set_permissions(&env.token_file, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let out = run(&env, &["plan"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let warning = err
        .lines()
        .find(|l| l.contains("Secret file"))
        .unwrap_or_else(|| panic!("no warning: {}", text(&out)));
    assert!(
        warning.contains("WARN") && warning.contains(&token) && warning.contains("644"),
        "{warning}"
    );
    // A plan reads the app's accounts to plan its creates, and never writes.
    assert_eq!(sb.stats().writes, 0, "plan writes nothing");

    std::fs::set_permissions(&env.token_file, std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let out = run(&env, &["plan"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Secret file"),
        "{}",
        text(&out)
    );
}

/// A title that reorders the line it is shown in (bidi override and isolate): HR data
/// that passes the source's checks, which set aside C0 and C1 controls.
const BIDI_TITLE: &str = "Eng\u{202e}reenigne\u{2066}x";

/// What an app answers about a record: escape sequences that clear the screen, set the
/// terminal's title and recolour it, an 8-bit CSI and a carriage return.
const HOSTILE_DETAIL: &str = "title \u{1b}[2J\u{1b}]0;pwned\u{7}\u{1b}[31mis invalid\u{9b}0m\rok";

/// The control and bidi characters in an output, other than newlines.
fn raw_controls(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|&c| {
            (c.is_control() && c != '\n')
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .map(|c| format!("U+{:04X}", c as u32))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_from_hr_data_and_app_answers_reach_no_text_output_raw() {
    let sb = sandbox().await;
    // The app refuses E0003 with a detail full of escape sequences.
    let px = proxy(sb.addr(), |method, _path, body| {
        if *method == Method::POST && body.contains("E0003") {
            Action::Reply(400, scim_error(400, Some("invalidValue"), HOSTILE_DETAIL))
        } else {
            Action::Forward
        }
    })
    .await;
    let mut persons = people(4);
    persons[0].title = BIDI_TITLE.into();
    // An ESC sequence in HR data: the source sets the record aside, naming the character.
    persons[1].title = "Eng\u{1b}[31mineer".into();
    let env = Env::new(&csv(&persons));
    env.write_config(&env.app("wiki", &px.base_url(), "bulk = false"));
    let mut outputs = Vec::new();
    for args in [
        &["plan"][..],
        &["plan", "--format", "markdown"],
        &["plan", "--format", "html"],
        &["apply", "--yes"],
        &["status"],
        &["audit"],
    ] {
        outputs.push((args.join(" "), run(&env, args).await));
    }
    for (what, out) in &outputs {
        let raw = raw_controls(&out.stdout);
        assert!(raw.is_empty(), "{what} prints raw {raw:?}: {}", text(out));
        assert!(
            !out.stderr.contains(&0x1b),
            "{what} logs a raw ESC: {}",
            text(out)
        );
    }
    let shown = |what: &str| {
        let (_, o) = outputs.iter().find(|(w, _)| w == what).expect("output");
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let (apply, status, audit) = (shown("apply --yes"), shown("status"), shown("audit"));
    let escaped = "title \\x1b[2J\\x1b]0;pwned\\x07\\x1b[31mis invalid\\u{9b}0m\\x0dok";
    for (what, out) in [("apply", &apply), ("status", &status), ("audit", &audit)] {
        assert!(
            out.contains(escaped),
            "{what} shows the app's answer escaped: {out}"
        );
    }
    assert!(
        shown("plan").contains("Eng\\u{202e}reenigne\\u{2066}x"),
        "{}",
        shown("plan")
    );
    assert_eq!(
        outputs[3].1.status.code(),
        Some(1),
        "{}",
        text(&outputs[3].1)
    );

    // The app got the value as HR wrote it: only what is shown is escaped. The record
    // with the ESC sequence was set aside, and the refused one was not created.
    let users = sb.users().await;
    let bidi = by_external_id(&users, "E0001");
    assert_eq!(bidi.len(), 1, "{users:?}");
    assert_eq!(bidi[0]["title"], BIDI_TITLE);
    assert!(by_external_id(&users, "E0002").is_empty(), "{users:?}");
    assert!(by_external_id(&users, "E0003").is_empty(), "{users:?}");
    assert_eq!(by_external_id(&users, "E0004").len(), 1, "{users:?}");
}
