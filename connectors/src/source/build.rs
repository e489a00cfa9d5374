//! From a [`SourceConfig`] to a ready [`Source`]: static checks, secrets resolved, HTTP
//! client built. Nothing is fetched here.

use std::path::Path;
use std::time::Duration;

use super::bamboohr::BambooHrSource;
use super::config::{KindConfig, SourceConfig};
use super::csv::CsvSource;
use super::http_json::HttpJsonSource;
use super::personio::PersonioSource;
use super::scim::ScimSource;
use super::workday_raas::WorkdayRaasSource;
use super::Source;
use crate::http::{Auth, AuthConfig, HttpClient, HttpError, HttpSettings};
use crate::secret::{SecretError, SecretRef};

/// Why a source could not be built from its config (a configuration error: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A static check failed.
    #[error("source {source_name}: {message}")]
    Invalid {
        /// Source name.
        source_name: String,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A secret could not be read.
    #[error("source {source_name}: secret `{key}`: {error}")]
    Secret {
        /// Source name.
        source_name: String,
        /// The config key holding the secret reference.
        key: String,
        /// Why it could not be read (never the value).
        error: SecretError,
    },
    /// The HTTP client could not be built (e.g. an invalid header).
    #[error("source {source_name}: HTTP client: {error}")]
    Http {
        /// Source name.
        source_name: String,
        /// The failure.
        error: HttpError,
    },
}

/// Builds the source a config describes. `credentials_dir` overrides
/// `$CREDENTIALS_DIRECTORY` for `{ credential = ... }` secrets.
pub fn build(
    config: &SourceConfig,
    credentials_dir: Option<&Path>,
) -> Result<Box<dyn Source>, BuildError> {
    let name = config.name().to_string();
    config.validate().map_err(|message| BuildError::Invalid {
        source_name: name.clone(),
        message,
    })?;
    let secret = |key: &str, r: &SecretRef| {
        r.resolve(credentials_dir)
            .map_err(|error| BuildError::Secret {
                source_name: name.clone(),
                key: key.to_string(),
                error,
            })
    };
    let auth = |a: &AuthConfig| {
        a.resolve(credentials_dir)
            .map_err(|error| BuildError::Secret {
                source_name: name.clone(),
                key: "auth".into(),
                error,
            })
    };
    let common = &config.common;
    let key = config.key();
    Ok(match &config.kind {
        KindConfig::Csv(c) => Box::new(CsvSource::new(common, key, c)),
        KindConfig::HttpJson(c) => {
            let client = client(
                &name,
                c.timeout_secs,
                c.allow_insecure_http,
                &c.headers,
                auth(&c.auth)?,
            )?;
            Box::new(HttpJsonSource::new(common, key, c, client))
        }
        KindConfig::BambooHr(c) => {
            let api_key = secret("api_key", &c.api_key)?;
            let basic = Auth::Basic {
                username: api_key,
                password: crate::secret::Secret::new("x"),
            };
            let headers = [("Accept".to_string(), "application/json".to_string())];
            let client = client(
                &name,
                c.timeout_secs,
                c.allow_insecure_http,
                headers.iter().map(|(k, v)| (k, v)),
                basic,
            )?;
            Box::new(BambooHrSource::new(common, key, c, client))
        }
        KindConfig::WorkdayRaas(c) => {
            let basic = Auth::Basic {
                username: crate::secret::Secret::new(c.username.clone()),
                password: secret("password", &c.password)?,
            };
            let headers = [("Accept".to_string(), "application/json".to_string())];
            let client = client(
                &name,
                c.timeout_secs,
                c.allow_insecure_http,
                headers.iter().map(|(k, v)| (k, v)),
                basic,
            )?;
            Box::new(WorkdayRaasSource::new(common, key, c, client))
        }
        KindConfig::Personio(c) => {
            let client_secret = secret("client_secret", &c.client_secret)?;
            let headers = [("Accept".to_string(), "application/json".to_string())];
            let client = client(
                &name,
                c.timeout_secs,
                c.allow_insecure_http,
                headers.iter().map(|(k, v)| (k, v)),
                Auth::None,
            )?;
            Box::new(PersonioSource::new(common, key, c, client, client_secret))
        }
        KindConfig::Scim(c) => {
            let headers = [(
                "Accept".to_string(),
                "application/scim+json, application/json".to_string(),
            )];
            let client = client(
                &name,
                c.timeout_secs,
                c.allow_insecure_http,
                headers.iter().map(|(k, v)| (k, v)),
                auth(&c.auth)?,
            )?;
            Box::new(ScimSource::new(common, key, c, client))
        }
    })
}

fn client<'a>(
    name: &str,
    timeout_secs: u64,
    allow_insecure_http: bool,
    headers: impl IntoIterator<Item = (&'a String, &'a String)>,
    auth: Auth,
) -> Result<HttpClient, BuildError> {
    let settings = HttpSettings {
        timeout: Duration::from_secs(timeout_secs),
        allow_insecure_http,
        default_headers: headers
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ..HttpSettings::default()
    };
    HttpClient::new(settings, auth).map_err(|error| BuildError::Http {
        source_name: name.to_string(),
        error,
    })
}
