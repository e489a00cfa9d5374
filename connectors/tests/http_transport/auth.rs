//! Authentication against local servers: the OAuth2 client-credentials token cache
//! (fetched once, refreshed before expiry and once after a 401), token endpoint failures,
//! and static credentials arriving as configured — with the secret kept out of every
//! error and Debug output.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{any, post};
use axum::{Json, Router};
use base64::Engine as _;
use hrsync_connectors::http::{Auth, AuthConfig, AuthError, HttpError, Throttle};
use hrsync_connectors::secret::{Secret, SecretRef};
use serde_json::json;

use crate::util::{client, closed_port, get, serve};

const CLIENT_SECRET: &str = "cs-9f8e7d6c5b4a-very-secret";

/// A token endpoint issuing `tok-1`, `tok-2`, ... and a resource server that accepts any
/// issued token except the revoked ones.
struct Idp {
    issued: AtomicU64,
    expires_in: u64,
    /// Tokens the resource server refuses with 401.
    revoked: Mutex<Vec<String>>,
    /// Every bearer token the resource server saw, in order.
    seen: Mutex<Vec<String>>,
    /// Answer the token endpoint with this failure instead of a token.
    fail_with: Option<StatusCode>,
}

impl Idp {
    fn new(expires_in: u64) -> Arc<Self> {
        Arc::new(Idp {
            issued: AtomicU64::new(0),
            expires_in,
            revoked: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            fail_with: None,
        })
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("seen").clone()
    }
}

async fn token(
    State(idp): State<Arc<Idp>>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let authz = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if let Some(status) = idp.fail_with {
        // Some endpoints echo the request in their errors; hrsync must not repeat it.
        let echo = format!("invalid_client: got {authz} and {body} (secret {CLIENT_SECRET})");
        return (status, echo).into_response();
    }
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("hrsync-client:{CLIENT_SECRET}"));
    if authz != format!("Basic {expected}") || !body.contains("grant_type=client_credentials") {
        return (StatusCode::UNAUTHORIZED, "bad client").into_response();
    }
    let n = idp.issued.fetch_add(1, Ordering::SeqCst) + 1;
    Json(
        json!({"access_token": format!("tok-{n}"), "token_type": "Bearer",
                "expires_in": idp.expires_in}),
    )
    .into_response()
}

async fn resource(State(idp): State<Arc<Idp>>, headers: HeaderMap) -> StatusCode {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_string();
    idp.seen.lock().expect("seen").push(bearer.clone());
    let issued = idp.issued.load(Ordering::SeqCst);
    let known = (1..=issued).any(|n| bearer == format!("tok-{n}"));
    if !known || idp.revoked.lock().expect("revoked").contains(&bearer) {
        return StatusCode::UNAUTHORIZED;
    }
    StatusCode::OK
}

async fn start(idp: &Arc<Idp>) -> (std::net::SocketAddr, Auth) {
    let router = Router::new()
        .route("/oauth/token", post(token))
        .route("/scim/v2/{*rest}", any(resource))
        .with_state(Arc::clone(idp));
    let addr = serve(router).await;
    let auth = Auth::OAuth2 {
        token_url: format!("http://{addr}/oauth/token"),
        client_id: "hrsync-client".into(),
        client_secret: Secret::new(CLIENT_SECRET),
        scope: Some("scim".into()),
    };
    (addr, auth)
}

#[tokio::test(start_paused = true)]
async fn oauth2_token_is_fetched_once_and_reused() {
    let idp = Idp::new(3600);
    let (addr, auth) = start(&idp).await;
    let throttle = Throttle::new("app", None, 4).expect("throttle");
    let c = client(auth, 3, Some(&throttle));
    for i in 0..10 {
        let r = c
            .send(&get(addr, &format!("/scim/v2/Users/{i}")))
            .await
            .expect("send");
        assert_eq!(r.status.as_u16(), 200);
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.send(&get(addr, &format!("/scim/v2/Users/{i}"))).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("send").status.as_u16(), 200);
    }
    assert_eq!(idp.issued.load(Ordering::SeqCst), 1);
    assert_eq!(c.authenticator().token_fetches(), 1);
    assert!(idp.seen().iter().all(|t| t == "tok-1"));
}

#[tokio::test(start_paused = true)]
async fn oauth2_token_is_refreshed_before_it_expires() {
    let idp = Idp::new(60);
    let (addr, auth) = start(&idp).await;
    let c = client(auth, 3, None);
    let users = get(addr, "/scim/v2/Users");
    assert_eq!(c.send(&users).await.expect("send").status.as_u16(), 200);
    tokio::time::sleep(Duration::from_secs(45)).await;
    assert_eq!(c.send(&users).await.expect("send").status.as_u16(), 200);
    // A 60 s token is replaced some seconds before it runs out, never used expired.
    tokio::time::sleep(Duration::from_secs(14)).await;
    assert_eq!(c.send(&users).await.expect("send").status.as_u16(), 200);
    assert_eq!(idp.seen(), ["tok-1", "tok-1", "tok-2"]);
    assert_eq!(c.authenticator().token_fetches(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_401_refreshes_the_token_once() {
    let idp = Idp::new(3600);
    let (addr, auth) = start(&idp).await;
    let c = client(auth, 3, None);
    let users = get(addr, "/scim/v2/Users");
    assert_eq!(c.send(&users).await.expect("send").status.as_u16(), 200);
    // The app revokes the token early: the next request is refused, refreshed, repeated.
    idp.revoked.lock().expect("revoked").push("tok-1".into());
    let r = c.send(&users).await.expect("send");
    assert_eq!(r.status.as_u16(), 200);
    assert_eq!(r.attempts, 1, "the repeat after a refresh is not a retry");
    assert_eq!(idp.seen(), ["tok-1", "tok-1", "tok-2"]);

    // Many requests refused with the same revoked token cause one new fetch, not one each.
    idp.revoked.lock().expect("revoked").push("tok-2".into());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (c, users) = (c.clone(), users.clone());
            tokio::spawn(async move { c.send(&users).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.expect("task").expect("send").status.as_u16(), 200);
    }
    assert_eq!(c.authenticator().token_fetches(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_resource_that_keeps_refusing_gets_one_refresh_then_its_401() {
    let idp = Idp::new(3600);
    let (addr, auth) = start(&idp).await;
    let c = client(auth, 3, None);
    // Every token is refused: the client refreshes once, then reports the 401.
    idp.revoked.lock().expect("revoked").extend([
        "tok-1".to_string(),
        "tok-2".to_string(),
        "tok-3".to_string(),
    ]);
    let r = c.send(&get(addr, "/scim/v2/Users")).await.expect("send");
    assert_eq!(r.status.as_u16(), 401);
    assert_eq!(c.authenticator().token_fetches(), 2);
    assert_eq!(idp.seen().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_failing_token_endpoint_is_an_auth_error_without_the_secret() {
    let mut idp = Idp::new(3600);
    Arc::get_mut(&mut idp).expect("unique").fail_with = Some(StatusCode::UNAUTHORIZED);
    let (addr, auth) = start(&idp).await;
    let c = client(auth, 3, None);
    let err = c
        .send(&get(addr, "/scim/v2/Users"))
        .await
        .expect_err("no token");
    assert!(
        matches!(
            err,
            HttpError::Auth(AuthError::TokenRejected { status: 401, .. })
        ),
        "{err:?}"
    );
    assert!(
        idp.seen().is_empty(),
        "no request went out without credentials"
    );
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("hrsync-client:{CLIENT_SECRET}"));
    for text in [format!("{err}"), format!("{err:?}")] {
        assert!(!text.contains(CLIENT_SECRET), "{text}");
        assert!(!text.contains(&basic), "{text}");
        assert!(
            text.contains("invalid_client"),
            "the endpoint's reason is kept: {text}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_token_endpoint_is_an_auth_error() {
    let idp = Idp::new(3600);
    let (addr, _) = start(&idp).await;
    let dead = closed_port().await;
    let auth = Auth::OAuth2 {
        token_url: format!("http://{dead}/oauth/token?client_secret={CLIENT_SECRET}"),
        client_id: "hrsync-client".into(),
        client_secret: Secret::new(CLIENT_SECRET),
        scope: None,
    };
    let c = client(auth, 3, None);
    let err = c
        .send(&get(addr, "/scim/v2/Users"))
        .await
        .expect_err("no token");
    assert!(
        matches!(err, HttpError::Auth(AuthError::TokenTransport { .. })),
        "{err:?}"
    );
    assert!(!format!("{err} {err:?}").contains(CLIENT_SECRET));
}

/// Echoes the credentials a request arrived with.
async fn echo(headers: HeaderMap) -> Json<serde_json::Value> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    Json(json!({"authorization": get("authorization"), "x-api-key": get("x-api-key")}))
}

async fn credentials_seen(auth: Auth) -> serde_json::Value {
    let addr = serve(Router::new().route("/echo", any(echo))).await;
    let r = client(auth, 1, None)
        .send(&get(addr, "/echo"))
        .await
        .expect("send");
    serde_json::from_slice(&r.body).expect("json")
}

#[tokio::test]
async fn static_credentials_arrive_as_configured() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("token"), "bearer-value-1\n").expect("write");
    std::fs::write(dir.path().join("password"), "pa:ss word").expect("write");
    std::fs::write(dir.path().join("key"), "key-value-3").expect("write");
    let from_config = |toml_like: serde_json::Value| {
        let cfg: AuthConfig = serde_json::from_value(toml_like).expect("auth config");
        cfg.resolve(Some(dir.path())).expect("resolve")
    };

    let bearer = from_config(json!({"kind": "bearer", "token": {"credential": "token"}}));
    let seen = credentials_seen(bearer).await;
    assert_eq!(seen["authorization"], "Bearer bearer-value-1");

    let basic = from_config(json!({"kind": "basic", "username": "svc-hrsync",
                                   "password": {"credential": "password"}}));
    let seen = credentials_seen(basic).await;
    let want = base64::engine::general_purpose::STANDARD.encode("svc-hrsync:pa:ss word");
    assert_eq!(seen["authorization"], format!("Basic {want}"));

    let key = from_config(json!({"kind": "api_key", "header": "X-API-Key",
                                 "key": {"credential": "key"}}));
    let seen = credentials_seen(key).await;
    assert_eq!(seen["x-api-key"], "key-value-3");
    assert_eq!(seen["authorization"], "");

    let seen = credentials_seen(Auth::None).await;
    assert_eq!(seen["authorization"], "");
}

#[test]
fn secrets_never_appear_in_debug_output() {
    let secret = "s3cr3t-value-that-must-not-leak";
    let auths = [
        Auth::Bearer(Secret::new(secret)),
        Auth::Basic {
            username: Secret::new(secret),
            password: Secret::new(secret),
        },
        Auth::ApiKey {
            header: "X-API-Key".into(),
            key: Secret::new(secret),
        },
        Auth::OAuth2 {
            token_url: "https://idp.example/token".into(),
            client_id: "client".into(),
            client_secret: Secret::new(secret),
            scope: None,
        },
    ];
    for auth in auths {
        let c = client(auth.clone(), 1, None);
        for text in [
            format!("{auth:?}"),
            format!("{c:?}"),
            format!("{:?}", c.authenticator()),
        ] {
            assert!(!text.contains(secret), "{text}");
            assert!(
                text.contains("REDACTED") || text.contains("HttpClient"),
                "{text}"
            );
        }
    }
    let cfg = AuthConfig::Bearer {
        token: SecretRef::Env("SLACK_SCIM_TOKEN".into()),
    };
    assert!(
        format!("{cfg:?}").contains("SLACK_SCIM_TOKEN"),
        "names, not values"
    );
}
