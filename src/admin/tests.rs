//! Readiness as `/readyz` reports it: the daemon binds its listener only after the state
//! opened, so the not-ready answers cannot be seen from outside the process; they are
//! checked here on the handler itself.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use tokio::sync::watch;

use super::routes;
use crate::config::{self, LoadOptions};
use crate::control::{Control, Readiness};

fn control(dir: &std::path::Path) -> Control {
    let hr = dir.join("hr.csv");
    std::fs::write(&hr, "employee_id,email\nE1,a@corp.example\n").expect("hr");
    let token = dir.join("token");
    std::fs::write(&token, "app-token").expect("token");
    let cfg = dir.join("config.toml");
    let text = format!(
        "[daemon]\nstate_path = \"{}\"\ninterval = \"1h\"\n\n[[sources]]\nname = \"hris\"\nkind = \"csv\"\npath = \"{}\"\nkey = \"employee_id\"\n\n[[apps]]\nname = \"app\"\nbase_url = \"http://127.0.0.1:9/scim/v2\"\nauth = {{ kind = \"bearer\", token = {{ file = \"{}\" }} }}\n[apps.attributes]\nuserName = \"{{{{ email }}}}\"\n",
        dir.join("state.db").display(),
        hr.display(),
        token.display()
    );
    std::fs::write(&cfg, text).expect("config");
    let settings = config::load(&cfg, &LoadOptions::default()).expect("settings");
    let (_tx, rx) = watch::channel(Arc::new(settings));
    Control::new(rx)
}

async fn body(r: axum::response::Response) -> serde_json::Value {
    let bytes = axum::body::to_bytes(r.into_body(), 4096)
        .await
        .expect("body");
    serde_json::from_slice(&bytes).expect("JSON")
}

#[tokio::test]
async fn readyz_is_503_with_the_reason_until_ready() {
    let dir = tempfile::tempdir().expect("tempdir");
    let c = control(dir.path());
    c.health()
        .set_readiness(Readiness::NotReady("opening the state: disk full".into()));
    let r = routes::readyz(State(c.clone())).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    let doc = body(r).await;
    assert_eq!(doc["ready"], false);
    assert_eq!(doc["reason"], "opening the state: disk full");

    c.health().set_readiness(Readiness::Starting);
    let r = routes::readyz(State(c.clone())).await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body(r).await["reason"], "starting");

    c.health().set_readiness(Readiness::Ready);
    let r = routes::readyz(State(c)).await;
    assert_eq!(r.status(), StatusCode::OK);
}
