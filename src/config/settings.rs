//! Validated settings: what the rest of hrsync uses. Built from the raw config by
//! resolving secrets, compiling templates and checking every URL and value.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hrsync_connectors::http::throttle::RateLimit;
use hrsync_connectors::http::{check_url, Auth, HttpSettings};
use hrsync_connectors::source::SourceConfig;
use url::Url;

use super::locate::Step;
use super::raw::{MatchAttr, OnUnlinkedMatch, RawApp, RawConfig};
use super::{ConfigError, LoadOptions, Located};
use crate::daemon::schedule::Schedule;
use crate::mapping::{self, AppMapping, Mapper};
use crate::reconcile::guards::DeprovisionLimits;
use crate::reconcile::{AppPolicy, ConflictRule, ConflictRules};

/// Upper bound of `daemon.shutdown_grace_secs`.
const MAX_SHUTDOWN_GRACE_SECS: u64 = 3600;

/// The validated configuration.
pub struct Settings {
    /// The config file.
    pub file: PathBuf,
    /// The state database.
    pub state_path: PathBuf,
    /// When the daemon runs cycles.
    pub schedule: Option<Schedule>,
    /// Bound on finishing in-flight work at shutdown.
    pub shutdown_grace: Duration,
    /// Safety guards.
    pub guards: GuardSettings,
    /// Consecutive absent reads before deprovisioning.
    pub absence_grace_cycles: u32,
    /// HR sources.
    pub sources: Vec<SourceConfig>,
    /// Apps, in config order.
    pub apps: Vec<AppSettings>,
    /// Compiled templates of every app.
    pub mapper: Arc<Mapper>,
    /// Where `{ credential }` secrets are read.
    pub credentials_dir: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("file", &self.file)
            .field(
                "apps",
                &self.apps.iter().map(|a| &a.name).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The app named `name`.
    pub fn app(&self, name: &str) -> Option<&AppSettings> {
        self.apps.iter().find(|a| a.name == name)
    }
}

/// `[guards]`, validated.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Deprovision limits per app.
    pub limits: DeprovisionLimits,
    /// Minimum valid records per source.
    pub min_source_records: usize,
    /// Maximum drop against the snapshot, percent.
    pub max_source_drop_percent: f64,
}

/// One app, validated.
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Name.
    pub name: String,
    /// Quirk profile name.
    pub profile: String,
    /// SCIM base URL.
    pub base_url: Url,
    /// Resolved credentials.
    pub auth: Auth,
    /// Transport settings.
    pub http: HttpSettings,
    /// Configured rate limit (None: the profile's).
    pub rate_limit: Option<RateLimit>,
    /// Requests in flight.
    pub concurrency: usize,
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
}

pub(super) fn validate(
    raw: RawConfig,
    loc: &Located<'_>,
    opts: &LoadOptions,
) -> Result<Settings, ConfigError> {
    let k = |s: &str| Step::Key(s.to_string());
    if raw.daemon.schedule.is_some() && raw.daemon.interval.is_some() {
        return Err(loc.err(
            &[k("daemon"), k("interval")],
            "set either daemon.schedule or daemon.interval, not both",
        ));
    }
    let schedule = match (&raw.daemon.schedule, &raw.daemon.interval) {
        (Some(s), _) => {
            Some(Schedule::cron(s).map_err(|e| loc.err(&[k("daemon"), k("schedule")], e))?)
        }
        (_, Some(i)) => {
            Some(Schedule::interval(i).map_err(|e| loc.err(&[k("daemon"), k("interval")], e))?)
        }
        _ => None,
    };
    // Zero would cancel in-flight writes at once, before their outcome is recorded; an hour
    // is far past any sane stop timeout (the shipped unit's TimeoutStopSec is 60).
    if !(1..=MAX_SHUTDOWN_GRACE_SECS).contains(&raw.daemon.shutdown_grace_secs) {
        return Err(loc.err(
            &[k("daemon"), k("shutdown_grace_secs")],
            format!(
                "must be between 1 and {MAX_SHUTDOWN_GRACE_SECS} seconds (and below the service manager's stop timeout)"
            ),
        ));
    }
    let g = &raw.guards;
    if !(0.0..=100.0).contains(&g.max_deprovision_percent) {
        return Err(loc.err(
            &[k("guards"), k("max_deprovision_percent")],
            "must be between 0 and 100",
        ));
    }
    if !(0.0..=100.0).contains(&g.max_source_drop_percent) {
        return Err(loc.err(
            &[k("guards"), k("max_source_drop_percent")],
            "must be between 0 and 100",
        ));
    }
    let guards = GuardSettings {
        limits: DeprovisionLimits {
            max_count: Some(g.max_deprovision_count),
            max_percent: Some(g.max_deprovision_percent),
            max_per_day: g.max_deprovision_per_day,
        },
        min_source_records: g.min_source_records,
        max_source_drop_percent: g.max_source_drop_percent,
    };
    if raw.sources.is_empty() {
        return Err(loc.err(&[], "no [[sources]] configured"));
    }
    if raw.apps.is_empty() {
        return Err(loc.err(&[], "no [[apps]] configured"));
    }
    let creds = opts.credentials_dir.as_deref();
    let mut raw = raw;
    let base_dir = loc.file.parent().map(std::path::Path::to_path_buf);
    for s in &mut raw.sources {
        // A relative CSV path is relative to the config file, not to wherever hrsync runs.
        if let (hrsync_connectors::source::KindConfig::Csv(c), Some(dir)) = (&mut s.kind, &base_dir)
        {
            if c.path.is_relative() {
                c.path = dir.join(&c.path);
            }
        }
    }
    let mut names = BTreeSet::new();
    for (i, s) in raw.sources.iter().enumerate() {
        let at = [k("sources"), Step::Index(i)];
        if !names.insert(s.name().to_string()) {
            return Err(loc.err(&at, format!("duplicate source name {:?}", s.name())));
        }
        s.validate().map_err(|e| loc.err(&at, e))?;
        hrsync_connectors::source::build(s, creds).map_err(|e| loc.err(&at, e.to_string()))?;
    }
    let mut apps = Vec::new();
    let mut app_names = BTreeSet::new();
    for (i, a) in raw.apps.iter().enumerate() {
        if !app_names.insert(a.name.clone()) {
            return Err(loc.err(
                &[k("apps"), Step::Index(i), k("name")],
                format!("duplicate app name {:?}", a.name),
            ));
        }
        apps.push(validate_app(
            i,
            a,
            loc,
            creds,
            raw.lifecycle.absence_grace_cycles,
        )?);
    }
    let mappings: Vec<AppMapping<'_>> = raw
        .apps
        .iter()
        .enumerate()
        .map(|(i, a)| AppMapping {
            app: &a.name,
            index: i,
            attributes: &a.attributes,
            scope: a.scope.as_deref(),
            groups: a
                .groups
                .iter()
                .map(|g| (g.name.as_str(), g.when.as_deref()))
                .collect(),
        })
        .collect();
    let mapper = Mapper::new(&mappings).map_err(|e| loc.err(&[], e.to_string()))?;
    Ok(Settings {
        file: loc.file.to_path_buf(),
        state_path: raw.daemon.state_path.clone(),
        schedule,
        shutdown_grace: Duration::from_secs(raw.daemon.shutdown_grace_secs),
        guards,
        absence_grace_cycles: raw.lifecycle.absence_grace_cycles,
        sources: raw.sources,
        apps,
        mapper: Arc::new(mapper),
        credentials_dir: opts.credentials_dir.clone(),
    })
}

fn validate_app(
    i: usize,
    a: &RawApp,
    loc: &Located<'_>,
    creds: Option<&std::path::Path>,
    absence_grace_cycles: u32,
) -> Result<AppSettings, ConfigError> {
    let k = |s: &str| Step::Key(s.to_string());
    let at = |key: &str| vec![k("apps"), Step::Index(i), k(key)];
    if a.name.trim().is_empty() {
        return Err(loc.err(&at("name"), "must not be empty"));
    }
    let Some(profile) = hrsync_connectors::scim::Profile::by_name(&a.profile) else {
        return Err(loc.err(
            &at("profile"),
            format!(
                "unknown profile {:?}; known: {}",
                a.profile,
                hrsync_connectors::scim::Profile::NAMES.join(", ")
            ),
        ));
    };
    let base_url = Url::parse(&a.base_url).map_err(|e| {
        loc.err(
            &at("base_url"),
            format!("invalid URL {:?}: {e}", a.base_url),
        )
    })?;
    check_url(&base_url, a.allow_insecure_http)
        .map_err(|e| loc.err(&at("base_url"), e.to_string()))?;
    let auth = a
        .auth
        .resolve(creds)
        .map_err(|e| loc.err(&at("auth"), e.to_string()))?;
    if let Some(rl) = &a.rate_limit {
        rl.validate().map_err(|e| loc.err(&at("rate_limit"), e))?;
    }
    if a.concurrency == 0 {
        return Err(loc.err(&at("concurrency"), "must be at least 1"));
    }
    if a.timeout_secs == 0 {
        return Err(loc.err(&at("timeout_secs"), "must be at least 1"));
    }
    if !a.attributes.contains_key("userName") {
        return Err(loc.err(&at("attributes"), "must map userName"));
    }
    for (path, tmpl) in &a.attributes {
        let mut p = at("attributes");
        p.push(k(path));
        hrsync_connectors::scim::AttrPath::parse(path)
            .map_err(|e| loc.err(&p, format!("invalid SCIM path: {e}")))?;
        if path == "externalId" {
            return Err(loc.err(&p, "externalId is always the HR key; do not map it"));
        }
        mapping::check_template(tmpl).map_err(|e| loc.err(&p, format!("bad template: {e}")))?;
    }
    if let Some(s) = &a.scope {
        mapping::check_expression(s)
            .map_err(|e| loc.err(&at("scope"), format!("bad expression: {e}")))?;
    }
    for (gi, g) in a.groups.iter().enumerate() {
        let mut p = at("groups");
        p.push(Step::Index(gi));
        let mut pn = p.clone();
        pn.push(k("name"));
        mapping::check_template(&g.name).map_err(|e| loc.err(&pn, format!("bad template: {e}")))?;
        if let Some(w) = &g.when {
            p.push(k("when"));
            mapping::check_expression(w)
                .map_err(|e| loc.err(&p, format!("bad expression: {e}")))?;
        }
    }
    let mut per_path = BTreeMap::new();
    let mut default = ConflictRule::HrWins;
    for (path, rule) in &a.conflicts {
        if path == "default" {
            default = *rule;
        } else {
            let mut p = at("conflicts");
            p.push(k(path));
            hrsync_connectors::scim::AttrPath::parse(path)
                .map_err(|e| loc.err(&p, format!("invalid SCIM path: {e}")))?;
            per_path.insert(path.clone(), *rule);
        }
    }
    let delete_after_days = match a.deprovision.action.as_str() {
        "deactivate" => a.deprovision.delete_after_days,
        "delete" => Some(a.deprovision.delete_after_days.unwrap_or(0)),
        other => {
            let mut p = at("deprovision");
            p.push(k("action"));
            return Err(loc.err(
                &p,
                format!("unknown action {other:?}; use deactivate or delete"),
            ));
        }
    };
    if delete_after_days.is_some()
        && profile.delete_semantics == hrsync_connectors::scim::DeleteSemantics::NotSupported
    {
        return Err(loc.err(
            &at("deprovision"),
            format!(
                "profile {} cannot delete users (only deactivate); remove delete_after_days or use action = \"deactivate\"",
                a.profile
            ),
        ));
    }
    if a.match_on.is_empty() {
        return Err(loc.err(
            &at("match_on"),
            "must list at least one of externalId, userName, emails",
        ));
    }
    let mut http = HttpSettings {
        timeout: Duration::from_secs(a.timeout_secs),
        allow_insecure_http: a.allow_insecure_http,
        ..HttpSettings::default()
    };
    for (name, value) in &a.headers {
        let mut p = at("headers");
        p.push(k(name));
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            return Err(loc.err(&p, "invalid header name"));
        }
        let value = value
            .resolve(creds)
            .map_err(|e| loc.err(&p, e.to_string()))?;
        // The message must not echo the value: it may be a credential.
        if reqwest::header::HeaderValue::from_str(value.expose()).is_err() {
            return Err(loc.err(
                &p,
                "invalid header value (control characters or non-visible bytes)",
            ));
        }
        http.secret_headers.push((name.clone(), value));
    }
    Ok(AppSettings {
        name: a.name.clone(),
        profile: a.profile.clone(),
        base_url,
        auth,
        http,
        rate_limit: a.rate_limit,
        concurrency: a.concurrency,
        bulk: a.bulk,
        match_on: a.match_on.clone(),
        on_unlinked_match: a.on_unlinked_match,
        policy: AppPolicy {
            name: a.name.clone(),
            profile: a.profile.clone(),
            leave: a.leave,
            pre_provision_days: a.pre_provision_days,
            delete_after_days,
            exempt: a.exempt.iter().map(|e| e.trim().to_lowercase()).collect(),
            conflicts: ConflictRules { default, per_path },
            absence_grace_cycles,
            orphans: a.orphans,
            delete_empty_groups: a.delete_empty_groups,
        },
        manages_groups: !a.groups.is_empty(),
        attribute_paths: a.attributes.keys().cloned().collect(),
    })
}
