//! Authentication of outgoing requests: bearer, basic, API-key header and OAuth2 client
//! credentials (token fetched once, cached, refreshed before expiry and after a 401).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::secret::{Secret, SecretError, SecretRef};

/// How an endpoint authenticates, as written in the config.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// No authentication (loopback test servers, public endpoints).
    None,
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: SecretRef,
    },
    /// HTTP Basic.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: SecretRef,
    },
    /// A fixed API-key header, e.g. `X-API-Key`.
    ApiKey {
        /// Header name.
        header: String,
        /// Header value.
        key: SecretRef,
    },
    /// OAuth2 client credentials grant (RFC 6749 §4.4).
    Oauth2ClientCredentials {
        /// Token endpoint URL.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: SecretRef,
        /// Requested scope, if the endpoint needs one.
        #[serde(default)]
        scope: Option<String>,
    },
}

impl AuthConfig {
    /// Resolves the secrets in this config.
    pub fn resolve(&self, credentials_dir: Option<&Path>) -> Result<Auth, SecretError> {
        Ok(match self {
            AuthConfig::None => Auth::None,
            AuthConfig::Bearer { token } => Auth::Bearer(token.resolve(credentials_dir)?),
            AuthConfig::Basic { username, password } => Auth::Basic {
                username: Secret::new(username.clone()),
                password: password.resolve(credentials_dir)?,
            },
            AuthConfig::ApiKey { header, key } => Auth::ApiKey {
                header: header.clone(),
                key: key.resolve(credentials_dir)?,
            },
            AuthConfig::Oauth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scope,
            } => Auth::OAuth2 {
                token_url: token_url.clone(),
                client_id: client_id.clone(),
                client_secret: client_secret.resolve(credentials_dir)?,
                scope: scope.clone(),
            },
        })
    }
}

/// Resolved authentication, secrets held redacted.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No authentication.
    None,
    /// Bearer token.
    Bearer(Secret),
    /// HTTP Basic (the user name is a secret too: BambooHR puts its API key there).
    Basic {
        /// User name.
        username: Secret,
        /// Password.
        password: Secret,
    },
    /// Fixed header.
    ApiKey {
        /// Header name.
        header: String,
        /// Header value.
        key: Secret,
    },
    /// OAuth2 client credentials.
    OAuth2 {
        /// Token endpoint.
        token_url: String,
        /// Client id.
        client_id: String,
        /// Client secret.
        client_secret: Secret,
        /// Scope.
        scope: Option<String>,
    },
}

/// Token endpoint failures: stop the endpoint and alert.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token endpoint could not be reached.
    #[error("OAuth2 token endpoint {url} unreachable: {message}")]
    TokenTransport {
        /// Endpoint.
        url: String,
        /// Error text.
        message: String,
    },
    /// The token endpoint refused the credentials or answered something unusable.
    #[error("OAuth2 token endpoint {url} answered {status}: {detail}")]
    TokenRejected {
        /// Endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// Error detail (never the secret).
        detail: String,
    },
    /// The token URL is invalid or not allowed.
    #[error("OAuth2 token URL {0:?} is invalid or not https")]
    TokenUrl(String),
}

struct CachedToken {
    token: Secret,
    refresh_at: Instant,
    /// Which fetch produced it, so a 401 only discards the token it was answered for.
    generation: u64,
}

/// Applies credentials to requests; owns the OAuth2 token cache.
pub struct Authenticator {
    auth: Auth,
    http: reqwest::Client,
    allow_insecure_http: bool,
    token: Mutex<Option<CachedToken>>,
    fetches: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("auth", &self.auth)
            .field("token_fetches", &self.token_fetches())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Authenticator {
    /// Wraps resolved credentials, registering every form in which they are sent with the
    /// redactor.
    pub fn new(auth: Auth, http: reqwest::Client, allow_insecure_http: bool) -> Self {
        register(&auth);
        Authenticator {
            auth,
            http,
            allow_insecure_http,
            token: Mutex::new(None),
            fetches: AtomicU64::new(0),
        }
    }

    /// True when a 401 can be answered by fetching a new token.
    pub fn can_refresh(&self) -> bool {
        matches!(self.auth, Auth::OAuth2 { .. })
    }

    /// How many times a token was fetched (for `check` and tests).
    pub fn token_fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// Drops the cached token so the next request fetches a fresh one.
    pub async fn invalidate(&self) {
        *self.token.lock().await = None;
    }

    /// Drops the cached token if it is still the one of `generation` (as returned by
    /// [`Authenticator::apply_tracked`]): many requests refused with the same revoked token
    /// cause one new fetch, not one each.
    pub async fn invalidate_generation(&self, generation: u64) {
        let mut cache = self.token.lock().await;
        if cache.as_ref().is_some_and(|c| c.generation == generation) {
            *cache = None;
        }
    }

    /// Adds credentials to a request.
    pub async fn apply(
        &self,
        b: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, AuthError> {
        Ok(self.apply_tracked(b).await?.0)
    }

    /// Adds credentials to a request and says which OAuth2 token generation it carries
    /// (None for static credentials).
    pub async fn apply_tracked(
        &self,
        b: reqwest::RequestBuilder,
    ) -> Result<(reqwest::RequestBuilder, Option<u64>), AuthError> {
        Ok(match &self.auth {
            Auth::None => (b, None),
            Auth::Bearer(t) => (b.bearer_auth(t.expose()), None),
            Auth::Basic { username, password } => (
                b.basic_auth(username.expose(), Some(password.expose())),
                None,
            ),
            Auth::ApiKey { header, key } => (b.header(header.as_str(), key.expose()), None),
            Auth::OAuth2 { .. } => {
                let (token, generation) = self.oauth2_token().await?;
                (b.bearer_auth(token.expose()), Some(generation))
            }
        })
    }

    /// The cached OAuth2 token and its generation, fetched anew when none is cached or
    /// it is due for refresh.
    async fn oauth2_token(&self) -> Result<(Secret, u64), AuthError> {
        let Auth::OAuth2 {
            token_url,
            client_id,
            client_secret,
            scope,
        } = &self.auth
        else {
            return Err(AuthError::TokenUrl(String::new()));
        };
        let mut cache = self.token.lock().await;
        if let Some(c) = cache.as_ref() {
            if Instant::now() < c.refresh_at {
                return Ok((c.token.clone(), c.generation));
            }
        }
        let url = self.token_endpoint(token_url)?;
        let generation = self.fetches.fetch_add(1, Ordering::Relaxed) + 1;
        let parsed = self
            .request_token(&url, client_id, client_secret, scope.as_deref())
            .await?;
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600));
        // Refresh a little early so a token never expires in flight.
        let margin = (lifetime / 10).clamp(Duration::from_secs(1), Duration::from_secs(60));
        crate::redact::register(&parsed.access_token);
        let token = Secret::new(parsed.access_token);
        *cache = Some(CachedToken {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
            generation,
        });
        Ok((token, generation))
    }

    /// The token endpoint, held to the same URL policy as every other request.
    fn token_endpoint(&self, token_url: &str) -> Result<Url, AuthError> {
        let url = Url::parse(token_url).map_err(|_| AuthError::TokenUrl(token_url.to_string()))?;
        if super::check_url(&url, self.allow_insecure_http).is_err() {
            return Err(AuthError::TokenUrl(token_url.to_string()));
        }
        Ok(url)
    }

    /// Posts the client-credentials grant and reads the token from the answer.
    async fn request_token(
        &self,
        url: &Url,
        client_id: &str,
        client_secret: &Secret,
        scope: Option<&str>,
    ) -> Result<TokenResponse, AuthError> {
        let mut form = vec![("grant_type", "client_credentials".to_string())];
        if let Some(s) = scope {
            form.push(("scope", s.to_string()));
        }
        // Errors name the endpoint without its query and never quote the secret, even when
        // a token endpoint echoes the request back in its error body.
        let transport = |e: reqwest::Error| AuthError::TokenTransport {
            url: super::redact_url(url),
            message: crate::redact::network_text(&e.without_url().to_string(), 300),
        };
        let resp = self
            .http
            .post(url.clone())
            .basic_auth(client_id, Some(client_secret.expose()))
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(transport)?;
        token_from_answer(url, status, &body)
    }
}

/// Registers the secrets of `auth` with the redactor, with the Basic-auth form in which
/// the password or client secret travels.
fn register(auth: &Auth) {
    use crate::redact;
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => redact::register(t.expose()),
        Auth::Basic { username, password } => {
            // The user name can be the credential itself (BambooHR's API key).
            redact::register(username.expose());
            redact::register_basic(username.expose(), password.expose());
        }
        Auth::ApiKey { key, .. } => redact::register(key.expose()),
        Auth::OAuth2 {
            client_id,
            client_secret,
            ..
        } => redact::register_basic(client_id, client_secret.expose()),
    }
}

/// The token of a token endpoint's answer, or why there is none (its scrubbed error text,
/// or that the body is not a token response).
fn token_from_answer(url: &Url, status: u16, body: &[u8]) -> Result<TokenResponse, AuthError> {
    if !(200..300).contains(&status) {
        return Err(AuthError::TokenRejected {
            url: super::redact_url(url),
            status,
            detail: crate::redact::network_bytes(body, 200),
        });
    }
    serde_json::from_slice(body).map_err(|e| AuthError::TokenRejected {
        url: super::redact_url(url),
        status,
        // serde's message may quote the input, which holds the token.
        detail: format!(
            "token response is not valid JSON with access_token (line {}, column {})",
            e.line(),
            e.column()
        ),
    })
}
