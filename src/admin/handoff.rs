//! `hrsync apply` and `hrsync resync` next to a running daemon: when the config names an
//! admin endpoint and a daemon answers there, the request is handed to it (the daemon runs
//! it as a queued cycle, never beside one of its own) and the CLI waits for the result and
//! prints it as it would have printed its own, with the same exit code. Without an answer
//! the CLI runs the cycle itself (waiting for the writer lock as usual).

use serde_json::{json, Value};

use super::client::{AdminClient, ClientError};
use crate::config::Settings;
use crate::error::CommandError;

/// Hands `apply` to a running daemon. `None`: no daemon answers here; run locally.
pub async fn apply(
    settings: &Settings,
    apps: &[String],
    allow_mass_deprovision: bool,
) -> Result<Option<u8>, CommandError> {
    let body = json!({"apps": apps, "allow_mass_deprovision": allow_mass_deprovision});
    hand_off(settings, "/v1/sync", &body).await
}

/// Hands `resync` to a running daemon. `None`: no daemon answers here; run locally.
pub async fn resync(
    settings: &Settings,
    apps: &[String],
    users: &[String],
    allow_mass_deprovision: bool,
) -> Result<Option<u8>, CommandError> {
    let body = json!({
        "apps": apps,
        "users": users,
        "dry_run": false,
        "allow_mass_deprovision": allow_mass_deprovision,
    });
    hand_off(settings, "/v1/resync", &body).await
}

async fn hand_off(
    settings: &Settings,
    path: &str,
    body: &Value,
) -> Result<Option<u8>, CommandError> {
    let Some(admin) = &settings.daemon.admin else {
        return Ok(None);
    };
    let client = AdminClient::new(&admin.listen, admin.token.clone()).map_err(runtime)?;
    let Some(pid) = client.alive().await else {
        return Ok(None);
    };
    if admin.token.is_none() {
        eprintln!(
            "hrsync: a daemon (pid {pid}) answers at {} but daemon.admin_token is not set, so the request cannot be handed to it; running here once its lock is free.",
            admin.listen
        );
        return Ok(None);
    }
    let id = client.submit(path, body).await.map_err(runtime)?;
    eprintln!(
        "hrsync: a daemon (pid {pid}) runs on this state; handed the request to it at {} as cycle {id}, waiting for its result.",
        admin.listen
    );
    let entry = client.wait(id).await.map_err(runtime)?;
    Ok(Some(print_result(&entry)))
}

/// Prints a finished cycle's result as the CLI prints its own, and returns its exit code.
fn print_result(entry: &Value) -> u8 {
    let result = &entry["result"];
    if let Some(text) = result["output"].as_str() {
        print!("{text}");
    }
    if let Some(error) = result["error"].as_str() {
        eprintln!("hrsync: error: {error}");
    }
    result["exit_code"]
        .as_u64()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1)
}

fn runtime(e: ClientError) -> CommandError {
    CommandError::Runtime(anyhow::Error::new(e))
}
