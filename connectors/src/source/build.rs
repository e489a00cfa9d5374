//! From a [`SourceConfig`] to a ready [`Source`]: static checks, secrets resolved, HTTP
//! client built. Nothing is fetched here.

use std::path::Path;
use std::time::Duration;

use super::bamboohr::BambooHrSource;
use super::config::{
    BambooHrConfig, ConfigProblem, KindConfig, PersonioConfig, ScimSourceConfig, SourceConfig,
    WorkdayRaasConfig,
};
use super::csv::CsvSource;
use super::http_json::HttpJsonSource;
use super::personio::PersonioSource;
use super::scim::ScimSource;
use super::workday_raas::WorkdayRaasSource;
use super::Source;
use crate::http::{Auth, AuthConfig, HttpClient, HttpError, HttpSettings};
use crate::secret::{Secret, SecretError, SecretRef};

/// Why a source could not be built from its config (a configuration error: exit 2).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A static check failed: fix the named key.
    #[error("source {source_name}: {problem}")]
    Invalid {
        /// Source name.
        source_name: String,
        /// What is wrong, naming the key.
        problem: ConfigProblem,
    },
    /// A secret could not be read: provide it (env, file or credential) and start again.
    #[error("source {source_name}: secret `{key}`: {error}")]
    Secret {
        /// Source name.
        source_name: String,
        /// The config key holding the secret reference.
        key: String,
        /// Why it could not be read (never the value).
        error: SecretError,
    },
    /// The HTTP client could not be built (e.g. an invalid header): fix the config.
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
    let b = Builder {
        name: config.name(),
        credentials_dir,
    };
    config.validate().map_err(|problem| BuildError::Invalid {
        source_name: b.name.to_string(),
        problem,
    })?;
    let common = &config.common;
    let key = config.key();
    Ok(match &config.kind {
        KindConfig::Csv(c) => Box::new(CsvSource::new(common, key, c)),
        KindConfig::HttpJson(c) => {
            let client = b.client(
                c.timeout_secs,
                c.allow_insecure_http,
                &c.headers,
                b.auth(&c.auth)?,
            )?;
            Box::new(HttpJsonSource::new(common, key, c, client))
        }
        KindConfig::BambooHr(c) => Box::new(BambooHrSource::new(common, key, c, b.bamboohr(c)?)),
        KindConfig::WorkdayRaas(c) => {
            Box::new(WorkdayRaasSource::new(common, key, c, b.workday(c)?))
        }
        KindConfig::Personio(c) => {
            let client_secret = b.secret("client_secret", &c.client_secret)?;
            let client = b.personio(c)?;
            Box::new(PersonioSource::new(common, key, c, client, client_secret))
        }
        KindConfig::Scim(c) => Box::new(ScimSource::new(common, key, c, b.scim(c)?)),
    })
}

/// What every build step needs: the source's name (for errors) and where secrets live.
struct Builder<'a> {
    name: &'a str,
    credentials_dir: Option<&'a Path>,
}

/// The `Accept` header a JSON API wants.
const ACCEPT_JSON: &str = "application/json";

impl Builder<'_> {
    /// Reads the secret at config key `key`.
    fn secret(&self, key: &str, r: &SecretRef) -> Result<Secret, BuildError> {
        r.resolve(self.credentials_dir)
            .map_err(|error| BuildError::Secret {
                source_name: self.name.to_string(),
                key: key.to_string(),
                error,
            })
    }

    /// Resolves the `auth` table.
    fn auth(&self, a: &AuthConfig) -> Result<Auth, BuildError> {
        a.resolve(self.credentials_dir)
            .map_err(|error| BuildError::Secret {
                source_name: self.name.to_string(),
                key: "auth".into(),
                error,
            })
    }

    /// A client sending only `Accept: <accept>` besides its credentials.
    fn client_accepting(
        &self,
        accept: &str,
        timeout_secs: u64,
        allow_insecure_http: bool,
        auth: Auth,
    ) -> Result<HttpClient, BuildError> {
        let headers = [("Accept".to_string(), accept.to_string())];
        self.client(
            timeout_secs,
            allow_insecure_http,
            headers.iter().map(|(k, v)| (k, v)),
            auth,
        )
    }

    /// BambooHR: the API key is the basic-auth user name, any password.
    fn bamboohr(&self, c: &BambooHrConfig) -> Result<HttpClient, BuildError> {
        let basic = Auth::Basic {
            username: self.secret("api_key", &c.api_key)?,
            password: Secret::new("x"),
        };
        self.client_accepting(ACCEPT_JSON, c.timeout_secs, c.allow_insecure_http, basic)
    }

    /// Workday RaaS: basic auth with the integration user.
    fn workday(&self, c: &WorkdayRaasConfig) -> Result<HttpClient, BuildError> {
        let basic = Auth::Basic {
            username: Secret::new(c.username.clone()),
            password: self.secret("password", &c.password)?,
        };
        self.client_accepting(ACCEPT_JSON, c.timeout_secs, c.allow_insecure_http, basic)
    }

    /// Personio: no transport credentials; the source authenticates itself per read.
    fn personio(&self, c: &PersonioConfig) -> Result<HttpClient, BuildError> {
        self.client_accepting(
            ACCEPT_JSON,
            c.timeout_secs,
            c.allow_insecure_http,
            Auth::None,
        )
    }

    /// A SCIM service provider read as a source.
    fn scim(&self, c: &ScimSourceConfig) -> Result<HttpClient, BuildError> {
        let auth = self.auth(&c.auth)?;
        self.client_accepting(
            "application/scim+json, application/json",
            c.timeout_secs,
            c.allow_insecure_http,
            auth,
        )
    }

    /// The HTTP client with these settings and default headers.
    fn client<'h>(
        &self,
        timeout_secs: u64,
        allow_insecure_http: bool,
        headers: impl IntoIterator<Item = (&'h String, &'h String)>,
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
            source_name: self.name.to_string(),
            error,
        })
    }
}
