//! The config file as written: TOML structs with `deny_unknown_fields`. Every field's doc
//! comment is the user reference; `config.example.toml` shows each with its default.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hrsync_connectors::http::throttle::RateLimit;
use hrsync_connectors::http::AuthConfig;
use hrsync_connectors::secret::{PlainOrSecret, SecretRef};
use hrsync_connectors::source::SourceConfig;
use serde::Deserialize;

use crate::reconcile::{ConflictRule, LeavePolicy, OrphanPolicy};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Daemon and state settings.
    #[serde(default)]
    pub daemon: RawDaemon,
    /// Safety guards.
    #[serde(default)]
    pub guards: RawGuards,
    /// Lifecycle settings shared by all apps.
    #[serde(default)]
    pub lifecycle: RawLifecycle,
    /// HR sources.
    #[serde(default)]
    pub sources: Vec<SourceConfig>,
    /// Downstream SCIM apps.
    #[serde(default)]
    pub apps: Vec<RawApp>,
}

/// `[daemon]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    /// Path of the SQLite state file (created 0600).
    #[serde(default = "default_state_path")]
    pub state_path: PathBuf,
    /// Cron schedule of cycles: 5-field crontab or 6/7-field cron (UTC).
    #[serde(default)]
    pub schedule: Option<String>,
    /// Or a fixed interval between cycle starts: "30s", "10m", "1h"; 1s to 30d.
    #[serde(default)]
    pub interval: Option<String>,
    /// On SIGTERM, how long in-flight operations may take to finish (1 to 3600 seconds).
    #[serde(default = "default_shutdown_grace_secs")]
    pub shutdown_grace_secs: u64,
    /// Where the admin endpoint listens: "127.0.0.1:PORT" or "unix:/path" (unset: none).
    #[serde(default)]
    pub admin_listen: Option<String>,
    /// The bearer token the admin endpoint's `/v1/*` require (a secret).
    #[serde(default)]
    pub admin_token: Option<SecretRef>,
    /// How long a webhook waits for more hooks before its cycle starts, milliseconds.
    #[serde(default = "default_webhook_debounce_ms")]
    pub webhook_debounce_ms: u64,
    /// A cycle that settles nothing for this long counts as stuck (watchdog), seconds.
    #[serde(default = "default_stall_timeout_secs")]
    pub stall_timeout_secs: u64,
}

impl Default for RawDaemon {
    fn default() -> Self {
        RawDaemon {
            state_path: default_state_path(),
            schedule: None,
            interval: None,
            shutdown_grace_secs: default_shutdown_grace_secs(),
            admin_listen: None,
            admin_token: None,
            webhook_debounce_ms: default_webhook_debounce_ms(),
            stall_timeout_secs: default_stall_timeout_secs(),
        }
    }
}

fn default_state_path() -> PathBuf {
    PathBuf::from("/var/lib/hrsync/state.db")
}

fn default_shutdown_grace_secs() -> u64 {
    30
}

fn default_webhook_debounce_ms() -> u64 {
    500
}

fn default_stall_timeout_secs() -> u64 {
    600
}

/// `[guards]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGuards {
    /// Per app per cycle: more deprovisions than this are held (0 to 1,000,000).
    #[serde(default = "default_max_deprovision_count")]
    pub max_deprovision_count: usize,
    /// Per app per cycle, as a share of the app's active linked accounts (apps with at least
    /// 10), 0 to 100. More than half of any app (and more than one account) is always held.
    #[serde(default = "default_max_deprovision_percent")]
    pub max_deprovision_percent: f64,
    /// Per app over the last 24 hours (0 to 1,000,000).
    #[serde(default)]
    pub max_deprovision_per_day: Option<usize>,
    /// A source returning fewer valid records aborts the cycle (0 to 10,000,000).
    #[serde(default = "default_min_source_records")]
    pub min_source_records: usize,
    /// A source shrinking more than this against the last snapshot aborts the cycle (0 to
    /// 100 percent).
    #[serde(default = "default_max_source_drop_percent")]
    pub max_source_drop_percent: f64,
}

impl Default for RawGuards {
    fn default() -> Self {
        RawGuards {
            max_deprovision_count: default_max_deprovision_count(),
            max_deprovision_percent: default_max_deprovision_percent(),
            max_deprovision_per_day: None,
            min_source_records: default_min_source_records(),
            max_source_drop_percent: default_max_source_drop_percent(),
        }
    }
}

fn default_max_deprovision_count() -> usize {
    50
}
fn default_max_deprovision_percent() -> f64 {
    10.0
}
fn default_min_source_records() -> usize {
    1
}
fn default_max_source_drop_percent() -> f64 {
    10.0
}

/// `[lifecycle]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLifecycle {
    /// A person missing from a complete source read (not marked terminated) is
    /// deprovisioned only after this many consecutive reads without them (0 to 10,000).
    #[serde(default = "default_absence_grace_cycles")]
    pub absence_grace_cycles: u32,
}

impl Default for RawLifecycle {
    fn default() -> Self {
        RawLifecycle {
            absence_grace_cycles: default_absence_grace_cycles(),
        }
    }
}

fn default_absence_grace_cycles() -> u32 {
    3
}

/// How existing accounts are found before a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum MatchAttr {
    /// `externalId eq <HR key>`.
    #[serde(rename = "externalId")]
    ExternalId,
    /// `userName eq <desired userName>`.
    #[serde(rename = "userName")]
    UserName,
    /// `emails.value eq <desired work email>`.
    #[serde(rename = "emails")]
    Emails,
}

/// What to do when an unlinked person matches an existing account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnUnlinkedMatch {
    /// Link it and bring it to the desired state.
    #[default]
    Adopt,
    /// Leave it and the person alone (reported).
    Skip,
    /// Fail the operation (reported, retried next cycle).
    Fail,
}

/// `deprovision = { ... }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDeprovision {
    /// `deactivate` (active=false, then DELETE after `delete_after_days` if set) or
    /// `delete` (DELETE after `delete_after_days`, default 0).
    #[serde(default = "default_deprovision_action")]
    pub action: String,
    /// Days between deactivation and DELETE (0 to 3650).
    #[serde(default)]
    pub delete_after_days: Option<u32>,
}

impl Default for RawDeprovision {
    fn default() -> Self {
        RawDeprovision {
            action: default_deprovision_action(),
            delete_after_days: None,
        }
    }
}

fn default_deprovision_action() -> String {
    "deactivate".into()
}

/// `[[apps.groups]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// Group name template; one group per distinct rendered value.
    pub name: String,
    /// Expression selecting members (default: everyone active in the app).
    #[serde(default)]
    pub when: Option<String>,
}

/// `[[apps]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawApp {
    /// Name used in reports, state and `--app`.
    pub name: String,
    /// Quirk profile.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// SCIM base URL (https, or http to loopback / with `allow_insecure_http`).
    pub base_url: String,
    /// Authentication.
    pub auth: AuthConfig,
    /// Bound on every request, seconds (1 to 3600).
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    /// Allow plain http to a non-loopback host.
    #[serde(default)]
    pub allow_insecure_http: bool,
    /// Extra headers on every request: name = value, where a value that is a secret (an
    /// API key) is `{ env }`, `{ file }` or `{ credential }` like any other secret.
    #[serde(default)]
    pub headers: BTreeMap<String, PlainOrSecret>,
    /// Request rate limit (default: the profile's); each count and the burst 1 to 1,000,000.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// Requests in flight at once (1 to 256), a hard cap; unset, the limit adapts to the
    /// app (from 4 up to 32: grows while latency stays flat, halves on 429/503).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Use SCIM Bulk when the app advertises it.
    #[serde(default = "default_true")]
    pub bulk: bool,
    /// Expression selecting who gets an account (default: everyone).
    #[serde(default)]
    pub scope: Option<String>,
    /// How existing accounts are found before a create, in order.
    #[serde(default = "default_match_on")]
    pub match_on: Vec<MatchAttr>,
    /// What to do with an existing account that matches an unlinked person.
    #[serde(default)]
    pub on_unlinked_match: OnUnlinkedMatch,
    /// Deprovisioning policy.
    #[serde(default)]
    pub deprovision: RawDeprovision,
    /// userNames or HR keys that hrsync never touches.
    #[serde(default)]
    pub exempt: Vec<String>,
    /// What `leave` means: keep (default) or deactivate.
    #[serde(default)]
    pub leave: LeavePolicy,
    /// Create accounts inactive this many days before the start date (0 to 365).
    #[serde(default)]
    pub pre_provision_days: u32,
    /// Unmanaged accounts: report (default) or deactivate.
    #[serde(default)]
    pub orphans: OrphanPolicy,
    /// Delete managed groups that became empty.
    #[serde(default)]
    pub delete_empty_groups: bool,
    /// SCIM path → template.
    pub attributes: BTreeMap<String, String>,
    /// Conflict rules: `default` and per SCIM path.
    #[serde(default)]
    pub conflicts: BTreeMap<String, ConflictRule>,
    /// Managed groups.
    #[serde(default)]
    pub groups: Vec<RawGroup>,
    /// This app's own cron schedule, overriding the daemon's (deprovisions never wait).
    #[serde(default)]
    pub schedule: Option<String>,
    /// Or this app's own interval between cycles.
    #[serde(default)]
    pub interval: Option<String>,
}

fn default_profile() -> String {
    "generic".into()
}
fn default_timeout_secs() -> u64 {
    30
}
fn default_true() -> bool {
    true
}
fn default_match_on() -> Vec<MatchAttr> {
    vec![MatchAttr::ExternalId, MatchAttr::UserName]
}
