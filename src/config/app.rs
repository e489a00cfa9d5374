//! One `[[apps]]` entry, checked: the engine-facing [`AppSettings`] and the steps that build
//! it from the raw table (profile resolved, URL and secrets checked, templates compiled
//! once to prove them, lifecycle policy assembled).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use hrsync_connectors::http::throttle::RateLimit;
use hrsync_connectors::http::{check_url, Auth, HttpSettings};
use hrsync_connectors::scim::{AttrPath, DeleteSemantics, Profile};
use url::Url;

use super::locate::Step;
use super::ranges::{self, OutOfRange};
use super::raw::{self, RawApp};
use super::{ConfigError, Located};
use crate::mapping;
use crate::reconcile::{AppPolicy, ConflictRule, ConflictRules};

/// The most requests in flight an app without a configured `concurrency` grows to.
pub const ADAPTIVE_CONCURRENCY_CAP: usize = 32;

/// How existing accounts are found before a create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchAttr {
    /// `externalId eq <HR key>`.
    ExternalId,
    /// `userName eq <desired userName>`.
    UserName,
    /// `emails.value eq <desired work email>`.
    Emails,
}

impl From<raw::MatchAttr> for MatchAttr {
    fn from(m: raw::MatchAttr) -> Self {
        match m {
            raw::MatchAttr::ExternalId => MatchAttr::ExternalId,
            raw::MatchAttr::UserName => MatchAttr::UserName,
            raw::MatchAttr::Emails => MatchAttr::Emails,
        }
    }
}

/// What to do when an unlinked person matches an existing account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnlinkedMatch {
    /// Link it and bring it to the desired state.
    Adopt,
    /// Leave it and the person alone (reported).
    Skip,
    /// Fail the operation (reported, retried next cycle).
    Fail,
}

impl From<raw::OnUnlinkedMatch> for OnUnlinkedMatch {
    fn from(m: raw::OnUnlinkedMatch) -> Self {
        match m {
            raw::OnUnlinkedMatch::Adopt => OnUnlinkedMatch::Adopt,
            raw::OnUnlinkedMatch::Skip => OnUnlinkedMatch::Skip,
            raw::OnUnlinkedMatch::Fail => OnUnlinkedMatch::Fail,
        }
    }
}

/// One app, validated.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Name.
    pub name: String,
    /// Quirk profile name, as configured (for reports and plans).
    pub profile: String,
    /// The quirk profile itself, resolved once from its name.
    pub scim_profile: Profile,
    /// SCIM base URL.
    pub base_url: Url,
    /// Resolved credentials.
    pub auth: Auth,
    /// Transport settings.
    pub http: HttpSettings,
    /// Configured rate limit (None: the profile's).
    pub rate_limit: Option<RateLimit>,
    /// Requests in flight at most: the configured `concurrency`, or the adaptive limit's cap.
    pub concurrency: usize,
    /// True when `concurrency` was not configured: the in-flight limit adapts up to the cap.
    pub concurrency_adaptive: bool,
    /// Use Bulk when advertised.
    pub bulk: bool,
    /// Lookup order before a create.
    pub match_on: Vec<MatchAttr>,
    /// Existing account matches.
    pub on_unlinked_match: OnUnlinkedMatch,
    /// Lifecycle rules for the planner.
    pub policy: AppPolicy,
    /// Whether `[[apps.groups]]` is configured.
    pub manages_groups: bool,
    /// The SCIM paths hrsync manages (from `attributes`).
    pub attribute_paths: Vec<String>,
    /// The app's own schedule (None: the daemon's).
    pub schedule: Option<super::Schedule>,
}

/// Where in the file app `index` sits, so each step names its key.
struct AppAt<'a> {
    index: usize,
    loc: &'a Located<'a>,
}

impl AppAt<'_> {
    /// The path `apps[index].key` followed by `more`.
    fn path(&self, key: &str, more: &[Step]) -> Vec<Step> {
        let mut p = vec![
            Step::Key("apps".into()),
            Step::Index(self.index),
            Step::Key(key.into()),
        ];
        p.extend_from_slice(more);
        p
    }

    /// An error at `apps[index].key`.
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        self.loc.err(&self.path(key, &[]), message)
    }

    /// An error at `apps[index].key` followed by `more`.
    fn err_in(&self, key: &str, more: &[Step], message: impl Into<String>) -> ConfigError {
        self.loc.err(&self.path(key, more), message)
    }
}

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

/// Checks app `index` and resolves it into [`AppSettings`].
pub(super) fn validate_app(
    index: usize,
    a: &RawApp,
    loc: &Located<'_>,
    creds: Option<&Path>,
    absence_grace_cycles: u32,
) -> Result<AppSettings, ConfigError> {
    let at = AppAt { index, loc };
    if a.name.trim().is_empty() {
        return Err(at.err("name", "must not be empty"));
    }
    let scim_profile = resolve_profile(&at, a)?;
    let base_url = check_base_url(&at, a)?;
    let auth = a
        .auth
        .resolve(creds)
        .map_err(|e| at.err("auth", e.to_string()))?;
    check_limits(&at, a)?;
    check_attributes(&at, a)?;
    check_scope_and_groups(&at, a)?;
    let conflicts = conflict_rules(&at, a)?;
    let delete_after_days = delete_after_days(&at, a, &scim_profile)?;
    if a.match_on.is_empty() {
        return Err(at.err(
            "match_on",
            "must list at least one of externalId, userName, emails",
        ));
    }
    let http = http_settings(&at, a, creds)?;
    let policy = AppPolicy {
        name: a.name.clone(),
        profile: a.profile.clone(),
        leave: a.leave,
        pre_provision_days: a.pre_provision_days,
        delete_after_days,
        exempt: a.exempt.iter().map(|e| e.trim().to_lowercase()).collect(),
        conflicts,
        absence_grace_cycles,
        orphans: a.orphans,
        delete_empty_groups: a.delete_empty_groups,
    };
    Ok(AppSettings {
        name: a.name.clone(),
        profile: a.profile.clone(),
        scim_profile,
        base_url,
        auth,
        http,
        rate_limit: a.rate_limit,
        concurrency: a.concurrency.unwrap_or(ADAPTIVE_CONCURRENCY_CAP),
        concurrency_adaptive: a.concurrency.is_none(),
        bulk: a.bulk,
        match_on: a.match_on.iter().copied().map(MatchAttr::from).collect(),
        on_unlinked_match: a.on_unlinked_match.into(),
        policy,
        manages_groups: !a.groups.is_empty(),
        attribute_paths: a.attributes.keys().cloned().collect(),
        schedule: super::daemon::app_schedule(index, a, loc)?,
    })
}

/// Looks the quirk profile up by name, once, for everything that follows.
fn resolve_profile(at: &AppAt<'_>, a: &RawApp) -> Result<Profile, ConfigError> {
    Profile::by_name(&a.profile).ok_or_else(|| {
        at.err(
            "profile",
            format!(
                "unknown profile {:?}; known: {}",
                a.profile,
                Profile::NAMES.join(", ")
            ),
        )
    })
}

/// The base URL parses and obeys the TLS policy.
fn check_base_url(at: &AppAt<'_>, a: &RawApp) -> Result<Url, ConfigError> {
    let base_url = Url::parse(&a.base_url)
        .map_err(|e| at.err("base_url", format!("invalid URL {:?}: {e}", a.base_url)))?;
    check_url(&base_url, a.allow_insecure_http).map_err(|e| at.err("base_url", e.to_string()))?;
    Ok(base_url)
}

/// Rate limit, concurrency, timeout and the lifecycle's day counts are in range.
fn check_limits(at: &AppAt<'_>, a: &RawApp) -> Result<(), ConfigError> {
    let numbers = || -> Result<(), OutOfRange> {
        use ranges::{check, check_opt};
        if let Some(rl) = &a.rate_limit {
            ranges::rate_limit(rl)?;
        }
        check_opt("concurrency", a.concurrency, ranges::CONCURRENCY)?;
        check("timeout_secs", a.timeout_secs, ranges::TIMEOUT_SECS)?;
        check(
            "pre_provision_days",
            a.pre_provision_days,
            ranges::PRE_PROVISION_DAYS,
        )?;
        check_opt(
            "deprovision.delete_after_days",
            a.deprovision.delete_after_days,
            ranges::DELETE_AFTER_DAYS,
        )
    };
    numbers().map_err(|e| {
        let mut parts = e.key.split('.');
        let first = parts.next().unwrap_or_default();
        let more: Vec<Step> = parts.map(key).collect();
        at.err_in(first, &more, e.message)
    })?;
    if let Some(rl) = &a.rate_limit {
        rl.validate().map_err(|e| at.err("rate_limit", e))?;
    }
    Ok(())
}

/// `attributes` maps userName, never externalId, with valid paths and templates.
fn check_attributes(at: &AppAt<'_>, a: &RawApp) -> Result<(), ConfigError> {
    if !a.attributes.contains_key("userName") {
        return Err(at.err("attributes", "must map userName"));
    }
    for (path, tmpl) in &a.attributes {
        let here = [key(path)];
        AttrPath::parse(path)
            .map_err(|e| at.err_in("attributes", &here, format!("invalid SCIM path: {e}")))?;
        if path == "externalId" {
            return Err(at.err_in(
                "attributes",
                &here,
                "externalId is always the HR key; do not map it",
            ));
        }
        mapping::check_template(tmpl)
            .map_err(|e| at.err_in("attributes", &here, format!("bad template: {e}")))?;
    }
    Ok(())
}

/// The scope expression and every group's name template and `when` expression compile.
fn check_scope_and_groups(at: &AppAt<'_>, a: &RawApp) -> Result<(), ConfigError> {
    if let Some(s) = &a.scope {
        mapping::check_expression(s)
            .map_err(|e| at.err("scope", format!("bad expression: {e}")))?;
    }
    for (gi, g) in a.groups.iter().enumerate() {
        let name = [Step::Index(gi), key("name")];
        mapping::check_template(&g.name)
            .map_err(|e| at.err_in("groups", &name, format!("bad template: {e}")))?;
        if let Some(w) = &g.when {
            let when = [Step::Index(gi), key("when")];
            mapping::check_expression(w)
                .map_err(|e| at.err_in("groups", &when, format!("bad expression: {e}")))?;
        }
    }
    Ok(())
}

/// `conflicts`: the `default` rule and one rule per valid SCIM path.
fn conflict_rules(at: &AppAt<'_>, a: &RawApp) -> Result<ConflictRules, ConfigError> {
    let mut per_path = BTreeMap::new();
    let mut default = ConflictRule::HrWins;
    for (path, rule) in &a.conflicts {
        if path == "default" {
            default = *rule;
        } else {
            AttrPath::parse(path).map_err(|e| {
                at.err_in("conflicts", &[key(path)], format!("invalid SCIM path: {e}"))
            })?;
            per_path.insert(path.clone(), *rule);
        }
    }
    Ok(ConflictRules { default, per_path })
}

/// Days from deactivation to DELETE (None: never delete), refused for a profile whose app
/// cannot delete users.
fn delete_after_days(
    at: &AppAt<'_>,
    a: &RawApp,
    profile: &Profile,
) -> Result<Option<u32>, ConfigError> {
    let days = match a.deprovision.action.as_str() {
        "deactivate" => a.deprovision.delete_after_days,
        "delete" => Some(a.deprovision.delete_after_days.unwrap_or(0)),
        other => {
            return Err(at.err_in(
                "deprovision",
                &[key("action")],
                format!("unknown action {other:?}; use deactivate or delete"),
            ));
        }
    };
    if days.is_some() && profile.delete_semantics == DeleteSemantics::NotSupported {
        return Err(at.err(
            "deprovision",
            format!(
                "profile {} cannot delete users (only deactivate); remove delete_after_days or use action = \"deactivate\"",
                a.profile
            ),
        ));
    }
    Ok(days)
}

/// Transport settings: timeout, TLS policy and the extra headers, whose secret values are
/// read now and checked without ever echoing them.
fn http_settings(
    at: &AppAt<'_>,
    a: &RawApp,
    creds: Option<&Path>,
) -> Result<HttpSettings, ConfigError> {
    let mut http = HttpSettings {
        timeout: Duration::from_secs(a.timeout_secs),
        allow_insecure_http: a.allow_insecure_http,
        ..HttpSettings::default()
    };
    for (name, value) in &a.headers {
        let here = [key(name)];
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(at.err_in("headers", &here, "invalid header name"));
        }
        let value = value
            .resolve(creds)
            .map_err(|e| at.err_in("headers", &here, e.to_string()))?;
        // The message must not echo the value: it may be a credential.
        if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
            return Err(at.err_in(
                "headers",
                &here,
                "invalid header value (control characters or non-visible bytes)",
            ));
        }
        http.secret_headers.push((name.clone(), value));
    }
    Ok(http)
}
