//! SIGHUP: re-read and fully validate the config (everything `check` validates without the
//! network), then swap it in between cycles. An invalid file is rejected with an ERROR
//! naming its file, line and key, and the running config stays in force. What changed is
//! logged; an app whose base URL or credentials changed forgets its remembered
//! capabilities and circuit state, so the next cycle starts afresh against the new target.

use std::collections::BTreeMap;
use std::sync::Arc;

use hrsync_connectors::http::Auth;
use hrsync_state::{AppHealth, CircuitState, Store};

use super::Daemon;
use crate::config::{self, AppSettings, ConfigError, LoadOptions, Settings};
use crate::control::Metrics;

impl Daemon {
    /// Reloads the config; READY=1 follows whatever the outcome.
    pub(super) async fn reload(&mut self) {
        self.reload_pending = false;
        self.notifier.reloading();
        match self.load_new() {
            Ok((new, text)) => self.swap_in(new, text).await,
            Err(e) => {
                self.control.metrics().reload("rejected");
                tracing::error!(
                    file = %e.file,
                    line = e.line.unwrap_or_default(),
                    key = e.key.as_deref().unwrap_or_default(),
                    error = %e,
                    "Config reload rejected; the running config stays in force."
                );
            }
        }
        self.publish_ready();
    }

    /// Reads and checks the file as `hrsync check` would, plus what `run` needs.
    fn load_new(&self) -> Result<(Settings, String), ConfigError> {
        let opts = LoadOptions {
            credentials_dir: self.settings.credentials_dir.clone(),
        };
        let text = std::fs::read_to_string(&self.config_path).map_err(|e| ConfigError {
            file: self.config_path.display().to_string(),
            key: None,
            line: None,
            message: format!("cannot read config: {e}"),
        })?;
        let new = config::parse(&self.config_path, &text, &opts)?;
        if new.schedule.is_none() {
            return Err(ConfigError {
                file: self.config_path.display().to_string(),
                key: Some("daemon.schedule".into()),
                line: None,
                message: "`hrsync run` needs daemon.schedule or daemon.interval".into(),
            });
        }
        Ok((new, text))
    }

    /// Puts an accepted config in force.
    async fn swap_in(&mut self, mut new: Settings, text: String) {
        log_changes(&self.config_text, &text);
        if new.state_path != self.settings.state_path {
            tracing::warn!("daemon.state_path changed; it takes effect at the next start.");
            new.state_path = self.settings.state_path.clone();
        }
        let old_admin = self
            .settings
            .daemon
            .admin
            .as_ref()
            .map(|a| a.listen.clone());
        if new.daemon.admin.as_ref().map(|a| a.listen.clone()) != old_admin {
            tracing::warn!("daemon.admin_listen changed; it takes effect at the next start.");
        }
        let moved: Vec<String> = new
            .apps
            .iter()
            .filter(|a| {
                self.settings
                    .app(&a.name)
                    .is_some_and(|old| connection(old) != connection(a))
            })
            .map(|a| a.name.clone())
            .collect();
        forget_connections(&new, &moved).await;
        if let Some(schedule) = new.schedule.clone() {
            self.schedule = schedule;
        }
        self.control
            .queue()
            .set_debounce(new.daemon.webhook_debounce);
        let new = Arc::new(new);
        self.scheduler.reconfigure(&new, &self.schedule);
        self.settings = new.clone();
        self.config_text = text;
        // Receivers (the admin endpoint) see the new settings from now on.
        let _ = self.settings_tx.send(new);
        self.control.metrics().reload("ok");
        tracing::info!(config = %self.config_path.display(), "Config reloaded.");
    }
}

/// A digest of where an app is reached and with what credentials; compared, never shown.
fn connection(app: &AppSettings) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut part = |s: &str| {
        h.update(s.as_bytes());
        h.update([0]);
    };
    part(app.base_url.as_str());
    match &app.auth {
        Auth::None => part("none"),
        Auth::Bearer(t) => part(t.expose()),
        Auth::Basic { username, password } => {
            part(username.expose());
            part(password.expose());
        }
        Auth::ApiKey { header, key } => {
            part(header);
            part(key.expose());
        }
        Auth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } => {
            part(token_url);
            part(client_id);
            part(client_secret.expose());
            part(scope.as_deref().unwrap_or_default());
        }
    }
    for (name, value) in &app.http.secret_headers {
        part(name);
        part(value.expose());
    }
    hex::encode(h.finalize())
}

/// Drops what the state remembers of the apps' old targets: their advertised capabilities
/// (read again on the next cycle) and their circuit (closed, counters reset).
async fn forget_connections(settings: &Settings, apps: &[String]) {
    if apps.is_empty() {
        return;
    }
    let store = match Store::open(&settings.state_path).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "Cannot open the state to reset the moved apps; their next cycle may reuse old capabilities.");
            return;
        }
    };
    for app in apps {
        tracing::info!(app = %app, "Base URL or credentials changed: the app's capabilities and circuit state are reset.");
        let caps = store
            .set_meta(&format!("scim_capabilities:{app}"), "")
            .await;
        let health = store
            .set_app_health(AppHealth {
                app: app.clone(),
                circuit: CircuitState::Closed,
                last_error: None,
                last_success_at: None,
                consecutive_failures: 0,
                opened_at: None,
                updated_at: crate::clock::now(),
            })
            .await;
        if let Some(e) = caps.err().or(health.err()) {
            tracing::warn!(app = %app, error = %e, "Cannot reset the app's remembered state.");
        }
        Metrics::set_app(&crate::control::metrics::global().circuit_open, app, 0);
    }
}

/// Logs the apps and sources a reload adds, removes and changes, and the sections it
/// changes.
fn log_changes(old: &str, new: &str) {
    let old: toml::Table = toml::from_str(old).unwrap_or_default();
    let new: toml::Table = toml::from_str(new).unwrap_or_default();
    for list in ["apps", "sources"] {
        let (before, after) = (named(&old, list), named(&new, list));
        let added: Vec<&str> = after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .map(String::as_str)
            .collect();
        let removed: Vec<&str> = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(String::as_str)
            .collect();
        let changed: Vec<&str> = after
            .iter()
            .filter(|(k, v)| before.get(*k).is_some_and(|b| b != *v))
            .map(|(k, _)| k.as_str())
            .collect();
        if added.is_empty() && removed.is_empty() && changed.is_empty() {
            continue;
        }
        tracing::info!(
            section = list,
            added = %added.join(", "),
            removed = %removed.join(", "),
            changed = %changed.join(", "),
            "Reload changes {list}."
        );
    }
    let sections: Vec<&str> = ["daemon", "guards", "lifecycle"]
        .into_iter()
        .filter(|s| old.get(*s) != new.get(*s))
        .collect();
    if !sections.is_empty() {
        tracing::info!(sections = %sections.join(", "), "Reload changes settings.");
    }
}

/// The `[[list]]` tables of a config by their `name`.
fn named<'a>(t: &'a toml::Table, list: &str) -> BTreeMap<String, &'a toml::Value> {
    t.get(list)
        .and_then(toml::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| Some((v.get("name")?.as_str()?.to_string(), v)))
                .collect()
        })
        .unwrap_or_default()
}
