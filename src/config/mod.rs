//! Configuration: the TOML file is parsed strictly (the private `raw` module), then
//! validated and resolved (secrets read, templates compiled, URLs checked, sources built)
//! into [`Settings`], the only form the rest of hrsync sees. Any error names the key path
//! and line; nothing is touched before.

mod app;
pub mod daemon;
pub mod locate;
pub mod ranges;
mod raw;
pub mod schedule;
mod settings;
mod templates;

use std::path::{Path, PathBuf};

pub use app::{AppSettings, MatchAttr, OnUnlinkedMatch};
pub use daemon::{AdminListen, AdminSettings, DaemonSettings, WebhookSettings};
pub use schedule::{Schedule, ScheduleError};
pub use settings::{GuardSettings, Settings, SourceSettings};
pub use templates::check_fields;

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
    let secrets = secret_values(&table);
    let raw: raw::RawConfig =
        serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
            let steps = locate::from_serde_path(e.path());
            let message = redact(&e.inner().to_string(), &secrets);
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

/// Keys whose value is a secret wherever they appear (written inline by mistake where a
/// `{ env | file | credential }` belongs).
const SECRET_KEYS: [&str; 4] = ["token", "password", "client_secret", "api_key"];

/// Strings shorter than this are left in messages: too short to be a credential, and
/// replacing them would garble the message.
const MIN_REDACTED_LEN: usize = 4;

/// Every string written inline as a secret anywhere in the file: under a secret-typed key,
/// an `auth` table's `key`, an `auth` given as a bare string, or a header value (whose
/// plain form may be an API key); so that no parser message can repeat one.
fn secret_values(table: &toml::Table) -> Vec<String> {
    fn strings(value: &toml::Value, out: &mut Vec<String>) {
        match value {
            toml::Value::String(s) if s.len() >= MIN_REDACTED_LEN => out.push(s.clone()),
            // A numeric PIN or key is echoed by type errors as its digits.
            toml::Value::Integer(n) if n.to_string().len() >= MIN_REDACTED_LEN => {
                out.push(n.to_string());
            }
            toml::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
            _ => {}
        }
    }
    fn walk(parent: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (k, v) in table {
            let secret = SECRET_KEYS.contains(&k.as_str())
                || (k == "key" && parent == "auth")
                || k == "auth"
                || parent == "headers";
            if secret {
                strings(v, out);
            }
            match v {
                toml::Value::Table(t) => walk(k, t, out),
                toml::Value::Array(items) => items
                    .iter()
                    .filter_map(toml::Value::as_table)
                    .for_each(|t| walk(k, t, out)),
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    walk("", table, &mut out);
    // Longest first, so a secret containing another is replaced whole.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

/// The message with every secret value replaced.
fn redact(message: &str, secrets: &[String]) -> String {
    secrets.iter().fold(message.to_string(), |m, s| {
        m.replace(s.as_str(), "**REDACTED**")
    })
}

fn unknown_field(message: &str) -> Option<String> {
    let rest = message.split("unknown field `").nth(1)?;
    Some(rest.split('`').next()?.to_string())
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_strict;
