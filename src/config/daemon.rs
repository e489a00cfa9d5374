//! The daemon's own keys, checked: the admin endpoint (`daemon.admin_listen`,
//! `daemon.admin_token`), the webhook debounce and stall bound, each source's `webhook`,
//! and each app's own `schedule`/`interval`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hrsync_connectors::secret::Secret;
use hrsync_connectors::source::WebhookStyle;

use super::locate::Step;
use super::raw::{RawApp, RawDaemon};
use super::schedule::Schedule;
use super::settings::SourceSettings;
use super::{ConfigError, Located};

/// Upper bound of `daemon.webhook_debounce_ms`: a leaver should not wait longer.
const MAX_DEBOUNCE_MS: u64 = 60_000;

/// Where the admin endpoint listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminListen {
    /// A TCP address (`127.0.0.1:9470`).
    Tcp(SocketAddr),
    /// A unix socket path (`unix:/run/hrsync/admin.sock`), created with mode 0660.
    Unix(PathBuf),
}

impl std::fmt::Display for AdminListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminListen::Tcp(a) => write!(f, "{a}"),
            AdminListen::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// The admin endpoint as configured.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// Where it listens.
    pub listen: AdminListen,
    /// The bearer token `/v1/*` requires (None: `/v1/*` refuses every request).
    pub token: Option<Secret>,
}

/// The `[daemon]` keys that only `hrsync run` reads.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// The admin endpoint (None: no endpoint).
    pub admin: Option<AdminSettings>,
    /// How long a webhook waits for more hooks before its cycle starts.
    pub webhook_debounce: Duration,
    /// A cycle that settles nothing for this long counts as stuck: the watchdog pings stop.
    pub stall_timeout: Duration,
}

/// One source's webhook, its secret resolved.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The signing secret.
    pub secret: Secret,
    /// How the HR system signs.
    pub style: WebhookStyle,
}

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

/// Checks the daemon's own keys and resolves the admin token.
pub(super) fn daemon_settings(
    d: &RawDaemon,
    loc: &Located<'_>,
    creds: Option<&Path>,
) -> Result<DaemonSettings, ConfigError> {
    let at = |k: &str| [key("daemon"), key(k)];
    let listen = match &d.admin_listen {
        Some(text) => Some(parse_listen(text).map_err(|m| loc.err(&at("admin_listen"), m))?),
        None => None,
    };
    let token = match &d.admin_token {
        Some(r) => Some(
            r.resolve(creds)
                .map_err(|e| loc.err(&at("admin_token"), e.to_string()))?,
        ),
        None => None,
    };
    if d.webhook_debounce_ms > MAX_DEBOUNCE_MS {
        return Err(loc.err(
            &at("webhook_debounce_ms"),
            format!("must be at most {MAX_DEBOUNCE_MS}"),
        ));
    }
    if d.stall_timeout_secs == 0 {
        return Err(loc.err(&at("stall_timeout_secs"), "must be at least 1"));
    }
    Ok(DaemonSettings {
        admin: listen.map(|listen| AdminSettings { listen, token }),
        webhook_debounce: Duration::from_millis(d.webhook_debounce_ms),
        stall_timeout: Duration::from_secs(d.stall_timeout_secs),
    })
}

/// `"127.0.0.1:9470"` or `"unix:/path"`.
fn parse_listen(text: &str) -> Result<AdminListen, String> {
    if let Some(path) = text.strip_prefix("unix:") {
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(format!("{text:?}: a unix socket path must be absolute"));
        }
        return Ok(AdminListen::Unix(path));
    }
    text.parse::<SocketAddr>().map(AdminListen::Tcp).map_err(|_| {
        format!("{text:?} is neither an address with a port (\"127.0.0.1:9470\") nor \"unix:/path\"")
    })
}

/// Resolves the secret of every source that accepts webhooks, by source name.
pub(super) fn webhooks(
    sources: &[SourceSettings],
    loc: &Located<'_>,
    creds: Option<&Path>,
) -> Result<BTreeMap<String, WebhookSettings>, ConfigError> {
    let mut hooks = BTreeMap::new();
    for (i, s) in sources.iter().enumerate() {
        let Some(w) = &s.config.common.webhook else {
            continue;
        };
        let at = [
            key("sources"),
            Step::Index(i),
            key("webhook"),
            key("secret"),
        ];
        let secret = w
            .secret
            .resolve(creds)
            .map_err(|e| loc.err(&at, e.to_string()))?;
        hooks.insert(
            s.name().to_string(),
            WebhookSettings {
                secret,
                style: w.style,
            },
        );
    }
    Ok(hooks)
}

/// An app's own `schedule` or `interval` (not both), overriding the daemon's.
pub(super) fn app_schedule(
    index: usize,
    a: &RawApp,
    loc: &Located<'_>,
) -> Result<Option<Schedule>, ConfigError> {
    let at = |k: &str| [key("apps"), Step::Index(index), key(k)];
    match (&a.schedule, &a.interval) {
        (Some(_), Some(_)) => Err(loc.err(
            &at("interval"),
            "set either schedule or interval for an app, not both",
        )),
        (Some(s), None) => Schedule::cron(s)
            .map(Some)
            .map_err(|e| loc.err(&at("schedule"), e.to_string())),
        (None, Some(i)) => Schedule::interval(i)
            .map(Some)
            .map_err(|e| loc.err(&at("interval"), e.to_string())),
        (None, None) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_listen_takes_an_address_or_an_absolute_unix_path() {
        assert_eq!(
            parse_listen("127.0.0.1:9470"),
            Ok(AdminListen::Tcp("127.0.0.1:9470".parse().expect("addr")))
        );
        assert_eq!(
            parse_listen("unix:/run/hrsync/admin.sock"),
            Ok(AdminListen::Unix("/run/hrsync/admin.sock".into()))
        );
        assert!(parse_listen("unix:admin.sock").is_err());
        assert!(parse_listen("localhost").is_err());
    }
}
