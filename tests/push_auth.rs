//! OAuth2 client credentials end to end through `hrsync apply`, against a local token
//! endpoint and a sandbox that accepts the issued token: fetched once per run and reused,
//! refreshed before it expires, fetched again once when the app refuses a revoked token,
//! and a refused client secret stops the app without ever being printed.

use crate::util::push::*;
use crate::util::*;

const CLIENT_ID: &str = "hrsync-client";
const CLIENT_SECRET: &str = "s3cret-client-value-42";

/// An environment whose app authenticates with client credentials at `token_url`.
fn oauth_env(
    persons: &[Person],
    base_url: &str,
    token_url: &str,
    secret: &str,
    extra: &str,
) -> Env {
    let env = Env::new(&csv(persons));
    let secret_file = env.dir.path().join("client_secret");
    std::fs::write(&secret_file, secret).expect("write secret");
    let app = env.app("app", base_url, extra).replace(
        &format!(
            "auth = {{ kind = \"bearer\", token = {{ file = \"{}\" }} }}",
            env.token_file.display()
        ),
        &format!(
            "auth = {{ kind = \"oauth2_client_credentials\", token_url = \"{token_url}\", client_id = \"{CLIENT_ID}\", client_secret = {{ file = \"{}\" }} }}",
            secret_file.display()
        ),
    );
    assert!(app.contains("oauth2_client_credentials"), "{app}");
    env.write_config(&app);
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_fetched_once_per_run_and_reused_for_every_request() {
    let sb = sandbox().await;
    let idp = token_endpoint(CLIENT_ID, CLIENT_SECRET, 3600, &[]).await;
    let mut persons = people(12);
    let env = oauth_env(
        &persons,
        &sb.base_url(),
        &idp.url(),
        CLIENT_SECRET,
        "bulk = false",
    );
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let requests = sb.stats().total;
    // One read of the app's accounts, then one POST per person.
    assert!(requests >= 13, "{:?}", sb.stats());
    assert_eq!(idp.fetches(), 1, "one token for {requests} requests");

    for p in &mut persons {
        p.title = "Lead".into();
    }
    env.set_hr(&csv(&persons));
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    assert_eq!(
        idp.fetches(),
        2,
        "a new process fetches its own token, once"
    );
    assert_eq!(idp.refused(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_is_refreshed_before_it_expires() {
    let sb = sandbox().await;
    // Two-second tokens, refreshed a second early; the limiter makes the run last at least
    // (61 - 1) / 20 s, so one token cannot cover it.
    let idp = token_endpoint(CLIENT_ID, CLIENT_SECRET, 2, &[]).await;
    let persons = people(60);
    let env = oauth_env(
        &persons,
        &sb.base_url(),
        &idp.url(),
        CLIENT_SECRET,
        "bulk = false\nrate_limit = { per_second = 20 }",
    );
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    let stats = sb.stats();
    assert!(idp.fetches() >= 2, "refreshed: {} fetches", idp.fetches());
    assert!(
        idp.fetches() * 5 <= stats.total,
        "still reused, not fetched per request: {} fetches for {stats:?}",
        idp.fetches()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_is_replaced_once_and_the_run_succeeds() {
    let sb = sandbox().await;
    // The first token is one the app no longer accepts.
    let idp = token_endpoint(CLIENT_ID, CLIENT_SECRET, 3600, &["revoked-token"]).await;
    let persons = people(8);
    let env = oauth_env(
        &persons,
        &sb.base_url(),
        &idp.url(),
        CLIENT_SECRET,
        "bulk = false",
    );
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(differences(&sb.users().await, &persons).is_empty());
    assert_eq!(idp.fetches(), 2, "one fetch, one refresh after the 401");
    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "app")["health"]["circuit"],
        "closed",
        "{doc:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_client_secret_stops_the_app_and_is_never_printed() {
    let sb = sandbox().await;
    let idp = token_endpoint(CLIENT_ID, CLIENT_SECRET, 3600, &[]).await;
    let persons = people(5);
    let wrong = "wrong-secret-value-0000";
    let env = oauth_env(&persons, &sb.base_url(), &idp.url(), wrong, "bulk = false");
    let out = apply(&env).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(sb.stats().total, 0, "no SCIM request without a token");
    assert!(sb.users().await.is_empty());
    assert!(
        idp.refused() >= 1 && idp.refused() <= 5,
        "{} refusals",
        idp.refused()
    );
    let status = run(&env, &["status"]).await;
    let all = format!("{}{}", text(&out), text(&status));
    assert!(
        all.contains("token endpoint"),
        "the error says where: {all}"
    );
    assert!(!all.contains(wrong), "the secret leaked: {all}");
    let doc = status_json(&env).await;
    assert_eq!(
        app_status(&doc, "app")["health"]["circuit"],
        "open",
        "{doc:#}"
    );
}
