//! Configuration: the TOML file is parsed strictly (the private `raw` module), then
//! validated and resolved (secrets read, templates compiled, URLs checked, sources built)
//! into [`Settings`], the only form the rest of hrsync sees. Any error names the key path
//! and line; nothing is touched before.

mod app;
pub mod daemon;
pub mod locate;
mod raw;
pub mod schedule;
mod settings;

use std::path::{Path, PathBuf};

pub use app::{AppSettings, MatchAttr, OnUnlinkedMatch};
pub use daemon::{AdminListen, AdminSettings, DaemonSettings, WebhookSettings};
pub use schedule::{Schedule, ScheduleError};
pub use settings::{GuardSettings, Settings, SourceSettings};

use locate::Step;

/// A configuration error: exit code 2, nothing touched.
#[derive(Debug, thiserror::Error)]
#[error("{file}{}: {message}", location(.key, .line))]
pub struct ConfigError {
    /// The config file.
    pub file: String,
    /// The key path, e.g. `apps[0].base_url`.
    pub key: Option<String>,
    /// The line of that key.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

fn location(key: &Option<String>, line: &Option<usize>) -> String {
    match (key, line) {
        (Some(k), Some(l)) => format!(":{l}: {k}"),
        (Some(k), None) => format!(": {k}"),
        (None, Some(l)) => format!(":{l}"),
        (None, None) => String::new(),
    }
}

/// Everything needed to turn a key path into a located error.
pub(crate) struct Located<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Located<'_> {
    pub(crate) fn err(&self, path: &[Step], message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.display().to_string(),
            key: if path.is_empty() {
                None
            } else {
                Some(locate::render(path))
            },
            line: locate::line_of(self.text, path),
            message: message.into(),
        }
    }
}

/// Where secrets named `{ credential = ... }` are read from, if overridden.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Overrides `$CREDENTIALS_DIRECTORY`.
    pub credentials_dir: Option<PathBuf>,
}

/// Reads, parses and validates the config file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Settings, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: path.display().to_string(),
        key: None,
        line: None,
        message: format!("cannot read config: {e}"),
    })?;
    parse(path, &text, opts)
}

/// Parses and validates config text (`path` is used in messages and for relative paths).
pub fn parse(path: &Path, text: &str, opts: &LoadOptions) -> Result<Settings, ConfigError> {
    let loc = Located { file: path, text };
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .and_then(|s| text.get(..s.start))
            .map(|t| t.matches('\n').count() + 1);
        ConfigError {
            file: path.display().to_string(),
            key: None,
            line,
            message: format!("invalid TOML: {}", e.message()),
        }
    })?;
    let raw: raw::RawConfig =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let steps = locate::from_serde_path(e.path());
            let message = e.inner().to_string();
            // The key path is given separately; drop the parser's own "in `...`" suffix.
            let message = message
                .lines()
                .filter(|l| !l.trim_start().starts_with("in `"))
                .collect::<Vec<_>>()
                .join(" ")
                .trim()
                .to_string();
            let mut err = loc.err(&steps, message.clone());
            // serde names an unknown key only in its message: find its own line.
            if let Some(unknown) = unknown_field(&message) {
                let mut table_path = steps.clone();
                if table_path.last() == Some(&Step::Key(unknown.clone())) {
                    table_path.pop();
                }
                let mut full = table_path.clone();
                full.push(Step::Key(unknown.clone()));
                err.key = Some(locate::render(&full));
                if let Some(l) = locate::line_of_key_in(text, &table_path, &unknown) {
                    err.line = Some(l);
                }
            }
            err
        })?;
    settings::validate(raw, &loc, opts)
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

#[cfg(test)]
mod tests;
