//! Validated settings: what the rest of hrsync uses. Built from the raw config by
//! resolving secrets, compiling templates, checking every URL and value, and building each
//! HR source once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hrsync_connectors::source::{KindConfig, Source, SourceConfig};

use super::app::{validate_app, AppSettings};
use super::daemon::{daemon_settings, webhooks, DaemonSettings, WebhookSettings};
use super::locate::Step;
use super::ranges::{self, OutOfRange};
use super::raw::{RawApp, RawConfig, RawDaemon, RawGuards, RawLifecycle};
use super::schedule::Schedule;
use super::{ConfigError, LoadOptions, Located};
use crate::mapping::{AppMapping, Mapper};
use crate::reconcile::guards::DeprovisionLimits;

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
    /// HR sources, checked and built, in config order.
    pub sources: Vec<SourceSettings>,
    /// Apps, in config order.
    pub apps: Vec<AppSettings>,
    /// Compiled templates of every app.
    pub mapper: Arc<Mapper>,
    /// The line of each template and expression, by key path (`apps[0].scope`), for
    /// errors found once the sources are read.
    pub template_lines: BTreeMap<String, usize>,
    /// Where `{ credential }` secrets are read.
    pub credentials_dir: Option<PathBuf>,
    /// The daemon's admin endpoint, debounce and stall bound.
    pub daemon: DaemonSettings,
    /// Sources that accept HR webhooks, by name.
    pub webhooks: BTreeMap<String, WebhookSettings>,
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

/// One HR source: its checked config and the reader built from it once, shared by every
/// cycle run on these settings (so a source's own state, like a cached token, lives as
/// long as the loaded config).
#[derive(Clone)]
pub struct SourceSettings {
    /// The `[[sources]]` entry, with relative paths resolved.
    pub config: SourceConfig,
    /// The ready source.
    pub reader: Arc<dyn Source>,
}

impl SourceSettings {
    /// The source's name.
    pub fn name(&self) -> &str {
        self.config.name()
    }

    /// The source's priority (higher wins when sources disagree).
    pub fn priority(&self) -> i64 {
        self.config.priority()
    }
}

impl std::fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceSettings")
            .field("name", &self.name())
            .field("kind", &self.reader.kind())
            .finish_non_exhaustive()
    }
}

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

/// Checks the whole file, in the order a reader meets its sections, and resolves it.
pub(super) fn validate(
    raw: RawConfig,
    loc: &Located<'_>,
    opts: &LoadOptions,
) -> Result<Settings, ConfigError> {
    let schedule = schedule(&raw.daemon, loc)?;
    let shutdown_grace = shutdown_grace(&raw.daemon, loc)?;
    let guards = guards(&raw.guards, loc)?;
    if raw.sources.is_empty() {
        return Err(loc.err(&[], "no [[sources]] configured"));
    }
    if raw.apps.is_empty() {
        return Err(loc.err(&[], "no [[apps]] configured"));
    }
    let creds = opts.credentials_dir.as_deref();
    let sources = build_sources(raw.sources, loc, creds)?;
    let absence_grace_cycles = absence_grace_cycles(&raw.lifecycle, loc)?;
    let apps = validate_apps(&raw.apps, loc, creds, absence_grace_cycles)?;
    let mapper = compile_mapper(&raw.apps, loc)?;
    let template_lines = super::templates::template_lines(loc, mapper.slots());
    let daemon = daemon_settings(&raw.daemon, loc, creds)?;
    let webhooks = webhooks(&sources, loc, creds)?;
    Ok(Settings {
        file: loc.file.to_path_buf(),
        state_path: raw.daemon.state_path,
        schedule,
        shutdown_grace,
        guards,
        absence_grace_cycles,
        sources,
        apps,
        mapper: Arc::new(mapper),
        template_lines,
        credentials_dir: opts.credentials_dir.clone(),
        daemon,
        webhooks,
    })
}

/// `daemon.schedule` or `daemon.interval` (not both), parsed.
fn schedule(d: &RawDaemon, loc: &Located<'_>) -> Result<Option<Schedule>, ConfigError> {
    if d.schedule.is_some() && d.interval.is_some() {
        return Err(loc.err(
            &[key("daemon"), key("interval")],
            "set either daemon.schedule or daemon.interval, not both",
        ));
    }
    match (&d.schedule, &d.interval) {
        (Some(s), _) => Schedule::cron(s)
            .map(Some)
            .map_err(|e| loc.err(&[key("daemon"), key("schedule")], e.to_string())),
        (_, Some(i)) => Schedule::interval(i)
            .map(Some)
            .map_err(|e| loc.err(&[key("daemon"), key("interval")], e.to_string())),
        _ => Ok(None),
    }
}

/// `daemon.shutdown_grace_secs`, bounded.
fn shutdown_grace(d: &RawDaemon, loc: &Located<'_>) -> Result<Duration, ConfigError> {
    // Zero would cancel in-flight writes at once, before their outcome is recorded; an hour
    // is far past any sane stop timeout (the shipped unit's TimeoutStopSec is 60).
    let (lo, hi) = ranges::SHUTDOWN_GRACE_SECS;
    if !(lo..=hi).contains(&d.shutdown_grace_secs) {
        return Err(loc.err(
            &[key("daemon"), key("shutdown_grace_secs")],
            format!(
                "must be between {lo} and {hi} seconds (and below the service manager's stop timeout)"
            ),
        ));
    }
    Ok(Duration::from_secs(d.shutdown_grace_secs))
}

/// An out-of-range number of the table at `table`, located at its own key.
fn out_of_range(loc: &Located<'_>, table: &[Step], e: OutOfRange) -> ConfigError {
    let mut path = table.to_vec();
    path.extend(e.key.split('.').map(key));
    loc.err(&path, e.message)
}

/// `[guards]`, every limit in its range.
fn guards(g: &RawGuards, loc: &Located<'_>) -> Result<GuardSettings, ConfigError> {
    let checks = || -> Result<(), OutOfRange> {
        use ranges::{check, check_opt, DEPROVISION_COUNT, MIN_SOURCE_RECORDS, PERCENT};
        check(
            "max_deprovision_count",
            g.max_deprovision_count,
            DEPROVISION_COUNT,
        )?;
        check(
            "max_deprovision_percent",
            g.max_deprovision_percent,
            PERCENT,
        )?;
        check_opt(
            "max_deprovision_per_day",
            g.max_deprovision_per_day,
            DEPROVISION_COUNT,
        )?;
        check(
            "min_source_records",
            g.min_source_records,
            MIN_SOURCE_RECORDS,
        )?;
        check(
            "max_source_drop_percent",
            g.max_source_drop_percent,
            PERCENT,
        )
    };
    checks().map_err(|e| out_of_range(loc, &[key("guards")], e))?;
    Ok(GuardSettings {
        limits: DeprovisionLimits {
            max_count: Some(g.max_deprovision_count),
            max_percent: Some(g.max_deprovision_percent),
            max_per_day: g.max_deprovision_per_day,
        },
        min_source_records: g.min_source_records,
        max_source_drop_percent: g.max_source_drop_percent,
    })
}

/// `lifecycle.absence_grace_cycles`, in range.
fn absence_grace_cycles(l: &RawLifecycle, loc: &Located<'_>) -> Result<u32, ConfigError> {
    let n = l.absence_grace_cycles;
    ranges::check("absence_grace_cycles", n, ranges::ABSENCE_GRACE_CYCLES)
        .map_err(|e| out_of_range(loc, &[key("lifecycle")], e))?;
    Ok(n)
}

/// Resolves relative paths, checks each source (unique name, static checks, secrets) and
/// builds it, once for the life of these settings.
fn build_sources(
    mut configs: Vec<SourceConfig>,
    loc: &Located<'_>,
    creds: Option<&Path>,
) -> Result<Vec<SourceSettings>, ConfigError> {
    if let Some(dir) = loc.file.parent() {
        configs.iter_mut().for_each(|c| anchor_csv_path(c, dir));
    }
    let mut names = BTreeSet::new();
    let mut sources = Vec::with_capacity(configs.len());
    for (i, config) in configs.into_iter().enumerate() {
        let at = [key("sources"), Step::Index(i)];
        if !names.insert(config.name().to_string()) {
            return Err(loc.err(&at, format!("duplicate source name {:?}", config.name())));
        }
        config.validate().map_err(|e| loc.err(&at, e.to_string()))?;
        ranges::source(&config).map_err(|e| out_of_range(loc, &at, e))?;
        let reader = hrsync_connectors::source::build(&config, creds)
            .map_err(|e| loc.err(&at, e.to_string()))?;
        sources.push(SourceSettings {
            config,
            reader: Arc::from(reader),
        });
    }
    Ok(sources)
}

/// A relative CSV path is relative to the config file, not to wherever hrsync runs.
fn anchor_csv_path(config: &mut SourceConfig, dir: &Path) {
    if let KindConfig::Csv(c) = &mut config.kind {
        if c.path.is_relative() {
            c.path = dir.join(&c.path);
        }
    }
}

/// Checks every app (unique names first, then each app's own keys).
fn validate_apps(
    raw: &[RawApp],
    loc: &Located<'_>,
    creds: Option<&Path>,
    absence_grace_cycles: u32,
) -> Result<Vec<AppSettings>, ConfigError> {
    let mut names = BTreeSet::new();
    let mut apps = Vec::with_capacity(raw.len());
    for (i, a) in raw.iter().enumerate() {
        if !names.insert(a.name.clone()) {
            return Err(loc.err(
                &[key("apps"), Step::Index(i), key("name")],
                format!("duplicate app name {:?}", a.name),
            ));
        }
        apps.push(validate_app(i, a, loc, creds, absence_grace_cycles)?);
    }
    Ok(apps)
}

/// Compiles the templates and expressions of every app into one mapper.
fn compile_mapper(raw: &[RawApp], loc: &Located<'_>) -> Result<Mapper, ConfigError> {
    let mappings: Vec<AppMapping<'_>> = raw
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
    Mapper::new(&mappings).map_err(|e| loc.err(&[], e.to_string()))
}
